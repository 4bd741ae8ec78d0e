// matmul: x [n, k] f32 · w [m, k]ᵀ (PyTorch Linear layout; w f32/f16/bf16) -> out [n, m] f32.
// Four kernels, chosen on the host (MatmulPath):
// - gemv (decode, n ≤ 8): each warp streams 1, 2 or 4 weight rows with 16-byte loads, 8 in
//   flight per lane, and dots them with every x row (x stays in L1/L2); f32 accumulation, so the
//   result differs from cpu-ref only in summation order. Batch 1 decode is bound by these reads.
//   Epilogues fuse a second projection of the same x and the MLP's gelu gate (GemvEpilogue); a
//   prologue forms x itself from a row_fuse folded in front (MatmulParams::prologue).
// - blas (prefill): cuBLAS on tensor cores with f32 accumulation. blas_split writes x as
//   hi + lo in w's 16-bit type and runs two GEMMs (x error ~2^-17: f32 class, twice the
//   FLOPs); blas_lowp rounds x once (error ~2^-9 per product: the fast bf16-compute mode).
//   f32 weights use f32 cuBLAS without TF32.
// - mma (ops/matmul_mma.cu; 9-64 x rows, batched decode, 16-bit w, sm_80+): mma.sync tiles that
//   read each weight row once, x split into hi + lo (or rounded once) in shared memory per k
//   stage, both terms in one accumulator: blas_split's / blas_lowp's math with half the weight
//   reads and no rounding launch. Split k (small m) adds its partials in a second kernel.
// - tiled: a plain 64×64 shared-memory tile kernel with f32 FMAs for every other case (exact-f32
//   mode with 16-bit weights, unaligned views).
#include "backends/cuda/blas_tune.h"
#include "backends/cuda/ops/gemv_tail.cuh"
#include "backends/cuda/ops/row_fuse.cuh"
#include "backends/cuda/ops/x16.cuh"

namespace gemma::cuda {
namespace {

constexpr int kGemvThreads = 256;
constexpr int kGemvWarps = kGemvThreads / GEMMA_WARP;
constexpr int kGemvInFlight = 8;  // 16-byte weight loads in flight per lane (rows × unroll)

// Unpacks one 16-byte vector of weights into f32 (8 values for 16-bit types, 4 for f32).
template <ElemType T>
__device__ __forceinline__ void unpack16(const uint4 & v, float * f) {
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
    if constexpr (T == ElemType::f32) {
#pragma unroll
        for (int e = 0; e < 4; ++e) f[e] = __uint_as_float(u[e]);
    } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            if constexpr (T == ElemType::bf16) {
                f[2 * e] = __uint_as_float(u[e] << 16);
                f[2 * e + 1] = __uint_as_float(u[e] & 0xffff0000u);
            } else {
                f[2 * e] = gemma_f16_to_f32(uint16_t(u[e] & 0xffffu));
                f[2 * e + 1] = gemma_f16_to_f32(uint16_t(u[e] >> 16));
            }
        }
    }
}

// The R weight rows ("slots") of the warp whose group starts at row0: R consecutive rows of w (of
// w, w2, w3 under the triple epilogue), or under a dual epilogue R/2 rows of w then the same rows
// of w2. Rows past the last read row 0.
template <int R>
__device__ __forceinline__ void gemv_rows(const MatmulParams & p, int64_t row0, int64_t n_vec,
                                          const uint4 * (&wr)[R]) {
    constexpr int kHalf = R > 1 ? R / 2 : 1;  // rows of w per warp under a dual epilogue
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t rows = gemv_rows_total(p);
#pragma unroll
    for (int s = 0; s < R; ++s) {
        int64_t row = row0 + (dual ? s % kHalf : s);
        const GemvRow g = gemv_row(p, row < rows ? row : 0);
        const void * base = dual && s >= kHalf ? p.w2 : g.w;
        wr[s] = static_cast<const uint4 *>(base) + g.row * n_vec;
    }
}

// One warp computes R weight rows ("slots") against the first n ≤ NR rows of x (p.x, or the
// block's prologue rows in shared memory; rows of p.k values): every lane keeps
// R · U 16-byte weight loads in flight and reuses each x vector for all R rows. Plain: slots are
// R consecutive rows of w. Dual epilogues: slots [0, R/2) are rows of w, [R/2, R) the same rows
// of w2, so gelu(gate) ⊙ up is formed in the warp. Rows past m read row 0 and are not written.
// KS > 1 splits each row's k range over KS warps of the block (interleaved 32-vector strips, so
// short rows still give every warp work), summed in shared memory: more warps, and so more
// loads in flight, for GEMVs with few rows.
template <int NR, int R, ElemType T, int KS>
__device__ __forceinline__ void gemv_group(const MatmulParams & p, const float * x, int64_t row0,
                                           float * red) {
    constexpr int kVec = T == ElemType::f32 ? 4 : 8;
    constexpr int U = kGemvInFlight / R;
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int ks = warp % KS;
    const int64_t rows = gemv_rows_total(p);
    if (KS == 1 && row0 >= rows) return;  // with KS > 1 every warp reaches the block sum
    const int64_t n_vec = p.k / kVec;
    const uint4 * wr[R];
    gemv_rows<R>(p, row0, n_vec, wr);
    float acc[NR][R];
#pragma unroll
    for (int r = 0; r < NR; ++r)
#pragma unroll
        for (int s = 0; s < R; ++s) acc[r][s] = 0.0f;

    constexpr int64_t kStrip = int64_t(GEMMA_WARP) * KS;  // vectors between a warp's loads
    for (int64_t c0 = lane + int64_t(ks) * GEMMA_WARP; c0 < n_vec && row0 < rows;
         c0 += kStrip * U) {
        uint4 wv[U][R];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            int64_t c = c0 + int64_t(u) * kStrip;
#pragma unroll
            for (int s = 0; s < R; ++s) wv[u][s] = c < n_vec ? wr[s][c] : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            int64_t c = c0 + int64_t(u) * kStrip;
            if (c >= n_vec) break;
            float xv[NR][kVec];
#pragma unroll
            for (int r = 0; r < NR; ++r) {
                if (r >= p.n) break;
                const float4 * xr = reinterpret_cast<const float4 *>(x + r * p.k + c * kVec);
#pragma unroll
                for (int q = 0; q < kVec / 4; ++q) {
                    float4 v = xr[q];
                    xv[r][4 * q] = v.x;
                    xv[r][4 * q + 1] = v.y;
                    xv[r][4 * q + 2] = v.z;
                    xv[r][4 * q + 3] = v.w;
                }
            }
#pragma unroll
            for (int s = 0; s < R; ++s) {
                float wf[kVec];
                unpack16<T>(wv[u][s], wf);
#pragma unroll
                for (int r = 0; r < NR; ++r) {
                    if (r >= p.n) break;
#pragma unroll
                    for (int e = 0; e < kVec; ++e) acc[r][s] += wf[e] * xv[r][e];
                }
            }
        }
    }
    if (gemv_reduce<NR, R, KS>(acc, red, row0 < rows)) gemv_store<NR, R>(p, acc, row0);
}

// Row groups (R rows, or R/2 rows of w and w2, per warp; KS warps per group) are spread over a
// grid of only as many blocks as are resident at once, each block looping over its share, so
// every SM streams nearly the same number of rows (a grid of a few blocks per SM leaves some
// SMs a block more than others: up to 25-50 % of the GEMV time); past one wave the grid is cut
// so every block loops the same number of rounds (looping_grid). (Asking L2 for each warp's first
// weight vectors before the PDL wait was tried: bf16 decode 196-201 against 210-214 tok/s.)
// FOLD: every block first forms x from the folded row_fuse (p.prologue) in dynamic shared
// memory (row_fuse.cuh), counting on fold_counter; else x is p.x (fold_counter unused).
template <int NR, int R, ElemType T, int KS, bool FOLD>
__global__ void __launch_bounds__(kGemvThreads)
    gemv_kernel(MatmulParams p, unsigned * fold_counter) {
    __shared__ float red[KS > 1 ? kGemvWarps * NR * R : 1];
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t rows_per_warp = dual ? (R > 1 ? R / 2 : 1) : R;
    const int64_t groups = kGemvWarps / KS;  // row groups per block and step
    const int64_t group = threadIdx.x / GEMMA_WARP / KS;
    const int64_t rows = gemv_rows_total(p);
    if constexpr (FOLD) row_fuse_prefetch(p.prologue);
    pdl_enter();
    const float * x = p.x;
    if constexpr (FOLD) {
        extern __shared__ float4 fold_rows[];
        x = row_fuse_prologue<kGemvThreads, NR>(p.prologue, fold_counter,
                                                reinterpret_cast<float *>(fold_rows));
    }
    for (int64_t g0 = int64_t(blockIdx.x) * groups; g0 * rows_per_warp < rows;
         g0 += int64_t(gridDim.x) * groups)
        gemv_group<NR, R, T, KS>(p, x, (g0 + group) * rows_per_warp, red);
}

// Launch shape of a GEMV of `rows` weight rows of n_vec vectors: R rows per warp (as many as
// keep about 16 warps per SM busy: fewer, longer-lived warps with more loads in flight each;
// dual epilogues need an even count, R/2 rows of each weight), then k split over KS = 2, 4 or 8
// warps while the warps stay within env.gemv_split_warps_per_sm and every warp keeps at least
// two 32-vector strips of the row.
struct GemvShape {
    int R, KS;
    int64_t warps;
};
GemvShape gemv_shape(int64_t rows, bool dual, int64_t n_vec, const LaunchEnv & env) {
    const int64_t want_warps = int64_t(env.n_sms) * env.gemv_warps_per_sm;
    int R = 1;
    while (R < 4 && rows / (dual ? R : 2 * R) >= want_warps) R *= 2;
    if (dual && R < 2) R = 2;
    const int64_t warps = (rows + (dual ? R / 2 : R) - 1) / (dual ? R / 2 : R);
    int KS = 1;
    while (KS < 8 && warps * KS * 2 <= int64_t(env.n_sms) * env.gemv_split_warps_per_sm &&
           n_vec >= int64_t(GEMMA_WARP) * KS * 4)
        KS *= 2;
    return {R, KS, warps};
}

// The launch shape (R, KS) depends only on the rows and k, never on FOLD: a folded GEMV sums
// every row as the unfused one does.
template <int NR, ElemType T, bool FOLD>
LaunchResult launch_gemv_rows(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t n_vec = p.k / (T == ElemType::f32 ? 4 : 8);
    // A triple is shaped as one GEMV of all its rows.
    const auto [R, KS, warps] = gemv_shape(gemv_rows_total(p), dual, n_vec, env);
    const int64_t blocks = (warps * KS + kGemvWarps - 1) / kGemvWarps;
    const size_t smem = FOLD ? row_fuse_prologue_bytes(p.n, p.k) : 0;
    auto go = [&](auto kernel) {
        const int64_t grid =
            looping_grid(blocks, resident_blocks(kernel, kGemvThreads, env, smem), env);
        return launch_kernel(kernel, unsigned(grid), kGemvThreads, smem, s, env, p,
                             env.row_fuse_counter);
    };
    if (R == 1) {
        if (KS == 8) return go(gemv_kernel<NR, 1, T, 8, FOLD>);
        if (KS == 4) return go(gemv_kernel<NR, 1, T, 4, FOLD>);
        if (KS == 2) return go(gemv_kernel<NR, 1, T, 2, FOLD>);
        return go(gemv_kernel<NR, 1, T, 1, FOLD>);
    }
    if (R == 2) {
        if (KS == 8) return go(gemv_kernel<NR, 2, T, 8, FOLD>);
        if (KS == 4) return go(gemv_kernel<NR, 2, T, 4, FOLD>);
        if (KS == 2) return go(gemv_kernel<NR, 2, T, 2, FOLD>);
        return go(gemv_kernel<NR, 2, T, 1, FOLD>);
    }
    if (KS == 8) return go(gemv_kernel<NR, 4, T, 8, FOLD>);
    if (KS == 4) return go(gemv_kernel<NR, 4, T, 4, FOLD>);
    if (KS == 2) return go(gemv_kernel<NR, 4, T, 2, FOLD>);
    return go(gemv_kernel<NR, 4, T, 1, FOLD>);
}

template <ElemType T>
LaunchResult launch_gemv_t(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.prologue.rows > 0) {  // made by fusion.cpp only when row_fold_fits
        if (LaunchResult e = row_fold_check(p, env)) return e;
        if (p.n == 1) return launch_gemv_rows<1, T, true>(p, s, env);
        return launch_gemv_rows<2, T, true>(p, s, env);
    }
    if (p.n <= 1) return launch_gemv_rows<1, T, false>(p, s, env);
    if (p.n <= 2) return launch_gemv_rows<2, T, false>(p, s, env);
    if (p.n <= 4) return launch_gemv_rows<4, T, false>(p, s, env);
    return launch_gemv_rows<8, T, false>(p, s, env);
}

// 64×64 output tile per block, 256 threads with 4×4 outputs each, k in steps of 16.
constexpr int kTile = 64, kTileK = 16;

__global__ void __launch_bounds__(256) tiled_kernel(MatmulParams p) {
    __shared__ float xs[kTileK][kTile + 1];
    __shared__ float ws[kTileK][kTile + 1];
    int64_t n0 = int64_t(blockIdx.y) * kTile, m0 = int64_t(blockIdx.x) * kTile;
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
        for (int e = threadIdx.x; e < kTile * kTileK; e += blockDim.x) {
            int r = e / kTileK, kk = e % kTileK;
            int64_t kg = k0 + kk;
            bool kin = kg < p.k;
            xs[kk][r] = (kin && n0 + r < p.n) ? p.x[(n0 + r) * p.k + kg] : 0.0f;
            ws[kk][r] = (kin && m0 + r < p.m) ? load_elem(p.w, (m0 + r) * p.k + kg, p.type) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; ++kk) {
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += xs[kk][ty * 4 + i] * ws[kk][tx * 4 + j];
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            int64_t r = n0 + ty * 4 + i, c = m0 + tx * 4 + j;
            if (r < p.n && c < p.m) p.out[r * p.m + c] = acc[i][j];
        }
}

// x f32 -> 16-bit type of w in scratch (A operand of the tensor-core GEMM); with `lo`, also the
// rounding remainder x − hi in lo (the second term of the split). ops/x16.cuh.
__global__ void round_x_kernel(const float * x, uint16_t * hi, uint16_t * lo, int64_t n,
                               ElemType t) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += int64_t(gridDim.x) * blockDim.x)
        x16_store(hi, lo, i, x[i], t);
}

LaunchResult blas_status(gpublasStatus_t st) {
    return st == gpublasSuccess ? nullptr : gpublasGetStatusString(st);
}

}  // namespace

bool matmul_gemv_ok(const float * x, const void * w, int64_t k, ElemType type) {
    int64_t vec = type == ElemType::f32 ? 4 : 8;
    return reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
           k % vec == 0 && k > 0;
}

LaunchResult launch_matmul(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0 || p.m == 0) return nullptr;
    switch (p.path) {
        case MatmulPath::gemv:
            if (p.type == ElemType::bf16) return launch_gemv_t<ElemType::bf16>(p, s, env);
            if (p.type == ElemType::f16) return launch_gemv_t<ElemType::f16>(p, s, env);
            return launch_gemv_t<ElemType::f32>(p, s, env);
        case MatmulPath::blas_lowp:
        case MatmulPath::blas_split: {
            int64_t count = p.n * p.k;
            uint16_t * hi = static_cast<uint16_t *>(p.scratch);
            uint16_t * lo = p.path == MatmulPath::blas_split ? hi + count : nullptr;
            if (!p.x16_ready) {  // else the record before wrote hi (and lo) (fusion.h (round))
                round_x_kernel<<<grid_blocks(count, 256, env), 256, 0, s>>>(p.x, hi, lo, count,
                                                                            p.type);
                if (LaunchResult e = launch_error()) return e;
            }
            gpublasDataType t = p.type == ElemType::bf16 ? kGpuBlasBf16 : kGpuBlasF16;
            int n = int(p.n), m = int(p.m), k = int(p.k);
            if (p.out_bf16) {  // (ffn16): bf16 products into out's first half, one GEMM
                if (lo || p.type != ElemType::bf16)
                    return "matmul: bf16 output only on the blas_lowp path with bf16 weights";
                return blas_gemm_xwt_bf16(env, n, m, k, hi, p.w, p.out);
            }
            if (LaunchResult e =
                    blas_status(blas_gemm_xwt(env, n, m, k, hi, p.w, t, p.out, 0.0f, false)))
                return e;
            if (!lo) return nullptr;
            return blas_status(blas_gemm_xwt(env, n, m, k, lo, p.w, t, p.out, 1.0f, false));
        }
        case MatmulPath::blas_f32:
            return blas_status(blas_gemm_xwt(env, int(p.n), int(p.m), int(p.k), p.x, p.w,
                                             kGpuBlasF32, p.out, 0.0f, true));
        case MatmulPath::mma_split:
        case MatmulPath::mma_lowp:
            return launch_matmul_mma(p, s, env);
        case MatmulPath::tiled: {
            dim3 grid(unsigned((p.m + kTile - 1) / kTile), unsigned((p.n + kTile - 1) / kTile));
            tiled_kernel<<<grid, 256, 0, s>>>(p);
            return launch_error();
        }
        case MatmulPath::mmq:
            return "matmul: the mmq path is for q8_0 / q4_0 weights (launch_matmul_quant)";
    }
    return "unknown matmul path";
}

}  // namespace gemma::cuda
