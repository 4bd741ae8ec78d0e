// The decode GEMV (n ≤ 8 x rows) with q8_0 / q4_0 weights in the planar device layout of
// ops/matmul_quant.cu: 1-8 weight rows per warp, each row's k range split over up to 8 warps; a
// lane loads 16 bytes of quants (q8_0: half a block; q4_0: one block) with 8 loads in flight.
// "cuda-f32" (x8 = 0) dequantizes exactly (q · d in f32) and dots them with the f32 x rows (like
// cpu-ref up to summation order); the bf16-class precisions (x8 = 1) round x to int8 per 16 / 32
// values with one f32 scale and take integer dot products (dp4a), one int → float per block and
// row: the f32 version is bound by its int → float conversions (quarter rate), this one by memory.
// A prologue may form x itself from a row_fuse folded in front (QuantMatmulParams::prologue).
#include <algorithm>
#include <type_traits>

#include "backends/cuda/ops/gemv_tail.cuh"
#include "backends/cuda/ops/row_fuse.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kInFlight = 8;  // 16-byte quant loads in flight per lane (rows × unroll)

// N consecutive x values into registers (16-byte loads; x rows are 16-byte aligned here).
template <int N>
__device__ __forceinline__ void load_x(const float * x, float (&xs)[N]) {
    const float4 * x4 = reinterpret_cast<const float4 *>(x);
#pragma unroll
    for (int q = 0; q < N / 4; ++q) {
        const float4 v = x4[q];
        xs[4 * q] = v.x;
        xs[4 * q + 1] = v.y;
        xs[4 * q + 2] = v.z;
        xs[4 * q + 3] = v.w;
    }
}

// 16 quants (q8_0) of one uint4, times 16 consecutive x values.
__device__ __forceinline__ float dot16_q8(const uint4 & v, const float (&x)[16]) {
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
    float s = 0.0f;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        const float * xv = x + 4 * e;
        s += float(int8_t(u[e] & 0xffu)) * xv[0] + float(int8_t((u[e] >> 8) & 0xffu)) * xv[1] +
             float(int8_t((u[e] >> 16) & 0xffu)) * xv[2] + float(int8_t(u[e] >> 24)) * xv[3];
    }
    return s;
}

// One q4_0 block (16 nibble bytes in a uint4) times its 32 x values: byte j holds values j
// (low nibble) and j + 16 (high nibble).
__device__ __forceinline__ float dot32_q4(const uint4 & v, const float (&x)[32]) {
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
    float s = 0.0f;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        const float * a = x + 4 * e;
        const float * b = x + 16 + 4 * e;
        const uint32_t w = u[e];
        s += float(int(w & 0xfu) - 8) * a[0] + float(int((w >> 8) & 0xfu) - 8) * a[1] +
             float(int((w >> 16) & 0xfu) - 8) * a[2] + float(int((w >> 24) & 0xfu) - 8) * a[3];
        s += float(int((w >> 4) & 0xfu) - 8) * b[0] + float(int((w >> 12) & 0xfu) - 8) * b[1] +
             float(int((w >> 20) & 0xfu) - 8) * b[2] + float(int((w >> 28) & 0xfu) - 8) * b[3];
    }
    return s;
}

// x8: N x values rounded to int8, packed four per int, with their scale d (x ≈ q · d, |q| ≤ 127)
// and the sum of the q. The low byte of x / d + 1.5·2²³ (an f32 in [2²³, 2²⁴): integer steps)
// is q, rounded to nearest: no int conversion instruction.
template <int N>
__device__ __forceinline__ void quantize_x8(const float (&xs)[N], int (&q)[N / 4], float & d,
                                            int & sum) {
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < N; ++i) amax = fmaxf(amax, fabsf(xs[i]));
    d = amax * (1.0f / 127.0f);
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    constexpr float kMagic = 12582912.0f;  // 1.5·2²³, bits 0x4B400000
    sum = 0;
#pragma unroll
    for (int g = 0; g < N / 4; ++g) {
        int b[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            b[e] = __float_as_int(fmaf(xs[4 * g + e], id, kMagic));
            sum += b[e] - 0x4B400000;
        }
        q[g] = gemma_byte_perm(gemma_byte_perm(b[0], b[1], 0x0040u),
                               gemma_byte_perm(b[2], b[3], 0x0040u), 0x5410u);
    }
}

// How a GEMV reads x (template parameter XM): the f32 values ("cuda-f32"); int8 rounded per
// lane in registers; or int8 rounded once per block into shared memory (SharedX), read as 16 /
// 32 bytes per quant vector instead of 64 / 128 bytes of f32.
constexpr int kXF32 = 0, kXRegs = 1, kXShared = 2;

// The block's int8 copy of x rows [0, NR): q [NR, k/4] (four values per int), per group of G
// values (G = 16 for q8_0, 32 for q4_0) the scale d and the sum of the q [NR, k/G].
struct SharedX {
    const int * q;
    const float * d;
    const int * sum;
};

template <int G>
__host__ __device__ constexpr size_t shared_x_bytes(int64_t nr, int64_t k) {
    return size_t(nr * k) + size_t(nr * (k / G)) * 8;
}

// All threads of the block round x rows [0, n) (rows of p.k values: p.x, or the prologue's rows
// in shared memory) into shared memory as quantize_x8 does (same f32 operations: amax, d =
// amax / 127, q = low byte of x · (127 / amax) + 1.5·2²³), G / 4 consecutive threads per group
// (one float4 each), then a block barrier.
template <int G>
__device__ SharedX quantize_x_shared(const QuantMatmulParams & p, const float * x, int nr,
                                     void * smem) {
    constexpr int kLanes = G / 4;  // threads per group
    int * q = static_cast<int *>(smem);
    float * d = reinterpret_cast<float *>(static_cast<uint8_t *>(smem) + nr * p.k);
    int * sum = reinterpret_cast<int *>(d + nr * (p.k / G));
    const int64_t total = int64_t(nr) * p.k / 4;  // float4s (rows are consecutive in x)
    const float4 * x4 = reinterpret_cast<const float4 *>(x);
    for (int64_t base = 0; base < total; base += blockDim.x) {  // uniform trip count: shuffles
        const int64_t i = base + threadIdx.x;
        const bool ok = i < total;
        const float4 v = ok ? x4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        float amax = fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
#pragma unroll
        for (int o = 1; o < kLanes; o *= 2) amax = fmaxf(amax, gemma_shfl_xor(amax, o));
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        constexpr float kMagic = 12582912.0f;  // 1.5·2²³, bits 0x4B400000
        const int b0 = __float_as_int(fmaf(v.x, id, kMagic)),
                  b1 = __float_as_int(fmaf(v.y, id, kMagic)),
                  b2 = __float_as_int(fmaf(v.z, id, kMagic)),
                  b3 = __float_as_int(fmaf(v.w, id, kMagic));
        int s = (b0 - 0x4B400000) + (b1 - 0x4B400000) + (b2 - 0x4B400000) + (b3 - 0x4B400000);
#pragma unroll
        for (int o = 1; o < kLanes; o *= 2) s += gemma_shfl_xor(s, o);
        if (ok) {
            q[i] = gemma_byte_perm(gemma_byte_perm(b0, b1, 0x0040u),
                                   gemma_byte_perm(b2, b3, 0x0040u), 0x5410u);
            if (threadIdx.x % kLanes == 0) {
                d[i / kLanes] = amax * (1.0f / 127.0f);
                sum[i / kLanes] = s;
            }
        }
    }
    __syncthreads();
    return {q, d, sum};
}

// 16 q8_0 quants times 16 int8 x values.
__device__ __forceinline__ int idot16_q8(const uint4 & v, const int (&q)[4]) {
    int s = gemma_dp4a(int(v.x), q[0], 0);
    s = gemma_dp4a(int(v.y), q[1], s);
    s = gemma_dp4a(int(v.z), q[2], s);
    return gemma_dp4a(int(v.w), q[3], s);
}

// One q4_0 block times 32 int8 x values: the nibbles (0..15) dotted as bytes, the −8 offset
// taken out with the x sum.
__device__ __forceinline__ int idot32_q4(const uint4 & v, const int (&q)[8], int xsum) {
    const uint32_t u[4] = {v.x, v.y, v.z, v.w};
    int s = 0;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        s = gemma_dp4a(int(u[e] & 0x0f0f0f0fu), q[e], s);
        s = gemma_dp4a(int((u[e] >> 4) & 0x0f0f0f0fu), q[4 + e], s);
    }
    return s - 8 * xsum;
}

// The quants and scales of the R weight rows ("slots") of the warp whose group starts at row0 (R
// rows of w, of w, w2, w3 under the triple epilogue, or R/2 rows of w then the same rows of w2
// under a dual epilogue). Rows past the last read row0 (or row 0) and are not written. Each
// weight is planar: its scales follow its own quants plane (width rows).
template <int R, ElemType T>
__device__ __forceinline__ void gemv_quant_row_ptrs(const QuantMatmulParams & p, int64_t row0,
                                                    const uint4 * (&wq)[R],
                                                    const uint16_t * (&scales)[R]) {
    constexpr int kHalf = R > 1 ? R / 2 : 1;
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t rows = gemv_rows_total(p);
    const bool live = row0 < rows;
    const int64_t qbytes = T == ElemType::q8_0 ? p.k : p.k / 2, nb = p.k / 32;
#pragma unroll
    for (int s = 0; s < R; ++s) {
        const int64_t want = row0 + (dual ? s % kHalf : s);
        const GemvRow g = gemv_row(p, want < rows ? want : (live ? row0 : 0));  // past: unwritten
        const uint8_t * base = static_cast<const uint8_t *>(dual && s >= kHalf ? p.w2 : g.w);
        wq[s] = reinterpret_cast<const uint4 *>(base + g.row * qbytes);
        scales[s] = reinterpret_cast<const uint16_t *>(base + g.width * qbytes) + g.row * nb;
    }
}

// One round of a warp's quant loads: U strips × R rows of 16-byte quant vectors and their
// scales, vectors c0 + u · strip (zeros past n_vec).
template <int U, int R>
struct QuantVecs {
    uint4 w[U][R];
    float d[U][R];
};

template <int U, int R, int kVals>
__device__ __forceinline__ void load_quant_vecs(const uint4 * const (&wq)[R],
                                                const uint16_t * const (&scales)[R], int64_t c0,
                                                int64_t strip, int64_t n_vec, QuantVecs<U, R> & v) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
        const int64_t c = c0 + int64_t(u) * strip;
#pragma unroll
        for (int s = 0; s < R; ++s) {
            v.w[u][s] = c < n_vec ? wq[s][c] : make_uint4(0, 0, 0, 0);
            v.d[u][s] = c < n_vec ? gemma_f16_to_f32(scales[s][c * kVals / 32]) : 0.0f;
        }
    }
}

// NR = x rows handled (≥ n, a power of two; f32 rows in x, int8 rows in sx); R weight rows per
// warp, so each x vector read from L1 serves R rows, with 8 / R 16-byte quant loads per row in
// flight per lane.
// Dual epilogues (as matmul.cu's gemv): slots [0, R/2) are rows of w, [R/2, R) the same rows of
// w2, and the warp forms out2 and gelu(gate) ⊙ up itself.
// KS > 1 splits each row's k range over KS warps of the block (interleaved 32-vector strips),
// summed in shared memory `red` (as matmul.cu's gemv_group): larger R (less x traffic per
// weight byte) with enough warps in flight.
// first (when use_first): the warp's first round of loads, issued before the kernel's PDL wait
// (gemv_quant_kernel with preload).
template <int NR, int R, ElemType T, int XM, int KS>
__device__ __forceinline__ void gemv_quant_rows(const QuantMatmulParams & p, const float * x,
                                                int64_t row0, float * red, const SharedX & sx,
                                                const QuantVecs<kInFlight / R, R> & first,
                                                bool use_first) {
    constexpr int kVals = T == ElemType::q8_0 ? 16 : 32;  // values per 16-byte quant vector
    constexpr int U = kInFlight / R;
    constexpr int64_t kStrip = int64_t(GEMMA_WARP) * KS;  // vectors between a warp's loads
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int ks = warp % KS;
    const int64_t rows = gemv_rows_total(p);
    if (KS == 1 && row0 >= rows) return;  // with KS > 1 every warp reaches the block sum
    const bool live = row0 < rows;
    const int64_t n_vec = p.k / kVals;
    const uint4 * wq[R];
    const uint16_t * scales[R];
    gemv_quant_row_ptrs<R, T>(p, row0, wq, scales);
    float acc[NR][R];
#pragma unroll
    for (int r = 0; r < NR; ++r)
#pragma unroll
        for (int s = 0; s < R; ++s) acc[r][s] = 0.0f;
    for (int64_t c0 = lane + int64_t(ks) * GEMMA_WARP; live && c0 < n_vec; c0 += kStrip * U) {
        QuantVecs<U, R> v;
        if (use_first) {
            v = first;
            use_first = false;
        } else {
            load_quant_vecs<U, R, kVals>(wq, scales, c0, kStrip, n_vec, v);
        }
        const auto & wv = v.w;
        const auto & dv = v.d;
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int64_t c = c0 + int64_t(u) * kStrip;
            if (c >= n_vec) break;
#pragma unroll
            for (int r = 0; r < NR; ++r) {
                if (r >= p.n) break;
                if constexpr (XM != kXF32) {
                    int xq[kVals / 4], xsum;
                    float dx;
                    if constexpr (XM == kXShared) {
                        const int64_t g = r * (p.k / kVals) + c;
                        const int4 * q4 = reinterpret_cast<const int4 *>(sx.q) + g * (kVals / 16);
#pragma unroll
                        for (int h = 0; h < kVals / 16; ++h) {
                            const int4 v = q4[h];
                            xq[4 * h] = v.x;
                            xq[4 * h + 1] = v.y;
                            xq[4 * h + 2] = v.z;
                            xq[4 * h + 3] = v.w;
                        }
                        dx = sx.d[g];
                        xsum = sx.sum[g];
                    } else {
                        float xs[kVals];  // read once, used for all R rows
                        load_x(x + r * p.k + c * kVals, xs);
                        quantize_x8(xs, xq, dx, xsum);
                    }
#pragma unroll
                    for (int s = 0; s < R; ++s) {
                        int d;
                        if constexpr (T == ElemType::q8_0)
                            d = idot16_q8(wv[u][s], xq);
                        else
                            d = idot32_q4(wv[u][s], xq, xsum);
                        acc[r][s] += dv[u][s] * dx * float(d);
                    }
                } else {
                    float xs[kVals];  // read once, used for all R rows
                    load_x(x + r * p.k + c * kVals, xs);
#pragma unroll
                    for (int s = 0; s < R; ++s) {
                        float d;
                        if constexpr (T == ElemType::q8_0)
                            d = dot16_q8(wv[u][s], xs);
                        else
                            d = dot32_q4(wv[u][s], xs);
                        acc[r][s] += dv[u][s] * d;
                    }
                }
            }
        }
    }
    if (gemv_reduce<NR, R, KS>(acc, red, live)) gemv_store<NR, R>(p, acc, row0);
}

// Blocks loop over row groups (R rows, or R/2 of w and w2, per group; KS warps each) on a grid
// of resident blocks only (as matmul.cu's gemv: every SM streams nearly the same number of rows).
// FOLD: every block first forms x from the folded row_fuse (p.prologue) in dynamic shared memory
// (row_fuse.cuh), counting on fold_counter; kXShared then rounds it into the half of that memory
// the prologue leaves free. Else x is p.x (fold_counter unused).
// preload: each warp issues its first round of weight loads before the PDL wait (weights are
// never written by a kernel), so they stream in while the previous kernel ends and while the
// block forms x (LaunchEnv::gemv_preload).
template <int NR, int R, ElemType T, int XM, int KS, bool FOLD>
__global__ void __launch_bounds__(kThreads)
    gemv_quant_kernel(QuantMatmulParams p, unsigned * fold_counter, int preload) {
    constexpr int64_t kWarpsPerBlock = kThreads / GEMMA_WARP;
    constexpr int kVals = T == ElemType::q8_0 ? 16 : 32;
    constexpr int U = kInFlight / R;
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t rows = dual ? (R > 1 ? R / 2 : 1) : R;  // rows of w per group
    const int64_t groups = kWarpsPerBlock / KS, group = threadIdx.x / GEMMA_WARP / KS;
    const int64_t all_rows = gemv_rows_total(p);
    QuantVecs<U, R> first;
    const int64_t row_first = (int64_t(blockIdx.x) * groups + group) * rows;
    const bool have_first = preload && row_first < all_rows;
    if (have_first) {
        const uint4 * wq[R];
        const uint16_t * scales[R];
        gemv_quant_row_ptrs<R, T>(p, row_first, wq, scales);
        const int64_t c0 =
            threadIdx.x % GEMMA_WARP + int64_t(threadIdx.x / GEMMA_WARP % KS) * GEMMA_WARP;
        load_quant_vecs<U, R, kVals>(wq, scales, c0, int64_t(GEMMA_WARP) * KS, p.k / kVals, first);
    }
    if constexpr (FOLD) row_fuse_prefetch(p.prologue);
    pdl_enter();
    __shared__ float red[KS > 1 ? kWarpsPerBlock * NR * R : 1];
    extern __shared__ int4 shared_x[];  // kXShared: the block's int8 x (SharedX); FOLD: prologue
    const float * x = p.x;
    void * sx_mem = shared_x;
    if constexpr (FOLD) {
        float * rows_f32 = reinterpret_cast<float *>(shared_x);
        x = row_fuse_prologue<kThreads, NR>(p.prologue, fold_counter, rows_f32);
        sx_mem = x == rows_f32 ? rows_f32 + p.n * p.k : rows_f32;
    }
    SharedX sx{};
    if constexpr (XM == kXShared)
        sx = quantize_x_shared<T == ElemType::q8_0 ? 16 : 32>(p, x, int(p.n), sx_mem);
    for (int64_t g0 = int64_t(blockIdx.x) * groups; g0 * rows < all_rows;
         g0 += int64_t(gridDim.x) * groups)
        gemv_quant_rows<NR, R, T, XM, KS>(p, x, (g0 + group) * rows, red, sx, first,
                                          have_first && g0 == int64_t(blockIdx.x) * groups);
}

// The launch shape (R, KS) depends only on the rows and k, never on XM or FOLD: a folded GEMV
// sums every row as the unfused one does.
template <int NR, ElemType T, int XM, bool FOLD>
LaunchResult launch_gemv_quant_rows(const QuantMatmulParams & p, gpuStream_t s,
                                    const LaunchEnv & env) {
    // Rows per warp: as many (≤ env.quant_gemv_max_rows) as leave a warp per SM; then each row's
    // k range split over KS warps until about env.quant_gemv_warps_per_sm warps per SM, every
    // warp keeping two 32-vector strips. Dual epilogues count both weights' rows (R ≥ 2); a
    // triple is shaped as one GEMV of all its rows.
    const bool dual = p.epilogue == GemvEpilogue::dual || p.epilogue == GemvEpilogue::dual_gelu;
    const int64_t n_sms = env.n_sms, want_warps = n_sms * env.quant_gemv_warps_per_sm;
    const int64_t all_rows = dual ? 2 * p.m : gemv_rows_total(p);
    int R = dual ? 2 : 1;
    while (R < 8 && 2 * R <= env.quant_gemv_max_rows && all_rows / (2 * R) >= n_sms) R *= 2;
    const int64_t rows_per_warp = dual ? R / 2 : R;
    const int64_t warp_rows = dual ? p.m : all_rows;  // dual: rows of w (each paired with w2's)
    const int64_t warps = (warp_rows + rows_per_warp - 1) / rows_per_warp;
    const int64_t n_vec = p.k / (T == ElemType::q8_0 ? 16 : 32);
    int KS = 1;
    while (KS < 8 && warps * KS < want_warps && n_vec >= int64_t(GEMMA_WARP) * KS * 4) KS *= 2;
    const int64_t groups_per_block = kThreads / GEMMA_WARP / KS;
    const int64_t blocks = (warps + groups_per_block - 1) / groups_per_block;
    // A prologue's free half holds the int8 x (at most 1.5 of 4 bytes per value).
    const size_t smem = FOLD               ? row_fuse_prologue_bytes(p.n, p.k)
                        : XM == kXShared ? shared_x_bytes<T == ElemType::q8_0 ? 16 : 32>(p.n, p.k)
                                         : 0;
    auto go = [&](auto kernel) {
        const int64_t grid =
            looping_grid(blocks, resident_blocks(kernel, kThreads, env, smem), env);
        return launch_kernel(kernel, unsigned(grid), kThreads, smem, s, env, p,
                             env.row_fuse_counter, env.gemv_preload ? 1 : 0);
    };
    auto with_rows = [&](auto ks) -> LaunchResult {
        constexpr int K = decltype(ks)::value;
        switch (R) {
            case 1:
                return go(gemv_quant_kernel<NR, 1, T, XM, K, FOLD>);
            case 2:
                return go(gemv_quant_kernel<NR, 2, T, XM, K, FOLD>);
            case 4:
                return go(gemv_quant_kernel<NR, 4, T, XM, K, FOLD>);
            default:
                return go(gemv_quant_kernel<NR, 8, T, XM, K, FOLD>);
        }
    };
    switch (KS) {
        case 1:
            return with_rows(std::integral_constant<int, 1>{});
        case 2:
            return with_rows(std::integral_constant<int, 2>{});
        case 4:
            return with_rows(std::integral_constant<int, 4>{});
        default:
            return with_rows(std::integral_constant<int, 8>{});
    }
}

template <ElemType T, int XM>
LaunchResult launch_gemv_quant_x(const QuantMatmulParams & p, gpuStream_t s,
                                 const LaunchEnv & env) {
    if (p.n <= 1) return launch_gemv_quant_rows<1, T, XM, false>(p, s, env);
    if (p.n <= 2) return launch_gemv_quant_rows<2, T, XM, false>(p, s, env);
    if (p.n <= 4) return launch_gemv_quant_rows<4, T, XM, false>(p, s, env);
    return launch_gemv_quant_rows<8, T, XM, false>(p, s, env);
}

// A folded row_fuse (1-2 rows, made by fusion.cpp only when row_fold_fits): x read as the
// unfused GEMV of those rows reads it (x8: int8 in shared memory, which such rows always fit).
template <ElemType T>
LaunchResult launch_gemv_quant_fold(const QuantMatmulParams & p, gpuStream_t s,
                                    const LaunchEnv & env) {
    static_assert(kRowFoldMaxRows <= 2 &&  // the kXShared condition below holds for fold rows
                  shared_x_bytes<16>(1, kRowFoldMaxValues) <= 48 * 1024);
    if (LaunchResult e = row_fold_check(p, env)) return e;
    if (!p.x8) {
        if (p.n == 1) return launch_gemv_quant_rows<1, T, kXF32, true>(p, s, env);
        return launch_gemv_quant_rows<2, T, kXF32, true>(p, s, env);
    }
    if (p.n == 1) return launch_gemv_quant_rows<1, T, kXShared, true>(p, s, env);
    return launch_gemv_quant_rows<2, T, kXShared, true>(p, s, env);
}

// int8 x goes through shared memory for up to 2 x rows while it fits the default 48 KiB.
template <ElemType T>
LaunchResult launch_gemv_quant_t(const QuantMatmulParams & p, gpuStream_t s,
                                 const LaunchEnv & env) {
    if (p.prologue.rows > 0) return launch_gemv_quant_fold<T>(p, s, env);
    if (!p.x8) return launch_gemv_quant_x<T, kXF32>(p, s, env);
    if (p.n <= 2 && shared_x_bytes<T == ElemType::q8_0 ? 16 : 32>(p.n, p.k) <= 48 * 1024) {
        if (p.n == 1) return launch_gemv_quant_rows<1, T, kXShared, false>(p, s, env);
        return launch_gemv_quant_rows<2, T, kXShared, false>(p, s, env);
    }
    return launch_gemv_quant_x<T, kXRegs>(p, s, env);
}
}  // namespace

LaunchResult launch_gemv_quant(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.type == ElemType::q8_0) return launch_gemv_quant_t<ElemType::q8_0>(p, s, env);
    return launch_gemv_quant_t<ElemType::q4_0>(p, s, env);
}

}  // namespace gemma::cuda
