// norm_rope: per-head rms_norm of q (or of k and v, or of q, k and v), RoPE on q / k and
// optionally the KV-cache store, in one launch (launch.h NormRopeParams), over head rows of d (q's
// rows first, then a's, then b's): one warp per row, 8 rows a block, no block barrier, for
// launches of many rows (prefill: thousands of rows of 256-512 values); one block per row for
// few (decode). Either way the sum of squares reproduces rms_norm.cu's thread counts and
// reduction order, and the rotation is rope.cu's formula on the normalized values, so results
// equal the unfused kernels. The cache store follows kv_store.cu: f32 / bf16 per element; q8_0
// per 32-value block, quantized from the finished row after a barrier (ops/kv_quant.cuh), as
// kv_store would from the same row. At Gemma 4's head dims (64, 128, 256, 512) both kernels keep
// each thread's values in registers (weights and frequencies loaded before the PDL wait, the row
// and its position right after it, sin / cos before the sums) and a q8_0 block is quantized by
// the 32 lanes holding it: the same f32 operations, one memory round trip per row.
#include "backends/cuda/ops/kv_quant.cuh"
#include "backends/cuda/ops/rms_rows.cuh"

namespace gemma::cuda {
namespace {

__device__ __forceinline__ float norm_elem(const float * x, int64_t j, float inv, const void * w,
                                           ElemType t) {
    float v = x[j] * inv;
    return t == ElemType::none ? v : v * load_elem(w, j, t);
}

// Rows of the optional q part: q_heads per token of a.
__host__ __device__ __forceinline__ int64_t norm_rope_q_rows(const NormRopeParams & p) {
    return p.q_heads > 0 && p.heads > 0 ? int64_t(p.q_heads) * (p.rows_a / p.heads) : 0;
}

constexpr int kBlock = 256;                         // threads of a norm_rope block
constexpr int kRowsPerBlock = kBlock / GEMMA_WARP;  // one warp per head row
// Launches of this many head rows or more take the warp kernel (a 2,048-token prefill chunk of
// E4B: 24,576 rows); fewer (a batch-1 decode step: 12) the block kernel, whose reduction has one
// memory round trip where a warp's has one per warp of rms_norm's block (bf16 decode on the H200
// was ~2 % slower with the warp kernel for every launch: docs/perf.md round 8).
constexpr int64_t kWarpKernelRows = 64;

// Row `row` of the launch: q's rows first, then a's, then b's (uniform across its threads).
struct NormRopeRow {
    float * x;  // the head row of d values
    const void * w;
    ElemType wt;
    int64_t r;  // index within q, a or b
    bool in_q, in_a;
};

__device__ __forceinline__ NormRopeRow norm_rope_row(const NormRopeParams & p, int64_t row) {
    const int64_t q_rows = norm_rope_q_rows(p);
    NormRopeRow h;
    h.in_q = row < q_rows;
    const int64_t kv_row = row - q_rows;  // row of a, then of b
    h.in_a = !h.in_q && kv_row < p.rows_a;
    h.r = h.in_q ? row : h.in_a ? kv_row : kv_row - p.rows_a;
    h.x = (h.in_q ? p.q : h.in_a ? p.a : p.b) + h.r * p.d;
    h.w = h.in_q ? p.wq : h.in_a ? p.wa : p.wb;
    h.wt = h.in_q || h.in_a ? p.wa_type : p.wb_type;
    return h;
}

// The row normalized with `inv`, rotated (q, a) and stored into the cache (a, b) by `n` threads,
// this one `tid` of them: the same operations whichever kernel calls it. `warp`: the n threads
// are one warp (the q8_0 store then waits for the warp, else for the block).
__device__ __forceinline__ void norm_rope_finish(const NormRopeParams & p, const NormRopeRow & h,
                                                 float inv, int tid, int n, bool warp) {
    float * x = h.x;
    const int64_t t = h.r / (h.in_q ? p.q_heads : p.heads), row_len = int64_t(p.heads) * p.d;
    uint8_t * cache = nullptr;  // this head row in the cache
    if (p.k_cache && !h.in_q) {
        int64_t pos = p.positions[t];
        int64_t slot = ((pos % p.slots) + p.slots) % p.slots;
        cache = static_cast<uint8_t *>(h.in_a ? p.k_cache : p.v_cache) +
                kv_offset_bytes(p.cache_type, slot * row_len + (h.r % p.heads) * p.d);
    }
    const bool per_elem = cache && p.cache_type != KvType::q8_0;
    if ((h.in_q || h.in_a) && p.freqs) {
        const int64_t half = p.d / 2;
        const float fpos = float(p.positions[t]);
        for (int64_t i = tid; i < half; i += n) {
            float a = norm_elem(x, i, inv, h.w, h.wt), b = norm_elem(x, i + half, inv, h.w, h.wt);
            float sn, cs;
            sincosf(fpos * p.freqs[i], &sn, &cs);
            float y0 = a * cs - b * sn, y1 = b * cs + a * sn;
            x[i] = y0;
            x[i + half] = y1;
            if (per_elem) {
                kv_store_elem(cache, i, p.cache_type, y0);
                kv_store_elem(cache, i + half, p.cache_type, y1);
            }
        }
    } else {
        for (int64_t j = tid; j < p.d; j += n) {
            float v = norm_elem(x, j, inv, h.w, h.wt);
            x[j] = v;
            if (per_elem) kv_store_elem(cache, j, p.cache_type, v);
        }
    }
    if (cache && p.cache_type == KvType::q8_0) {
        if (warp) {
            __threadfence_block();  // the warp's writes of the row, visible to all its lanes
            gemma_syncwarp();
        } else {
            __syncthreads();  // the whole row of x is written (global writes visible to the block)
        }
        for (int64_t b = tid; b < p.d / kKvQ8Block; b += n)
            kv_q8_0_quantize_block(x + b * kKvQ8Block, cache + b * kKvQ8BlockBytes);
    }
}

// One warp per head row, kRowsPerBlock rows a block (launches of many rows: prefill).
__global__ void __launch_bounds__(kBlock) norm_rope_warp_kernel(NormRopeParams p) {
    pdl_enter();
    const int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / GEMMA_WARP;
    if (row >= rows) return;  // whole warps: nothing below waits on the block
    const NormRopeRow h = norm_rope_row(p, row);
    const float inv = warp_row_inv_rms(h.x, p.d, p.eps);
    norm_rope_finish(p, h, inv, threadIdx.x % GEMMA_WARP, GEMMA_WARP, true);
}

// One block of norm_threads(d) threads per head row (launches of few rows: a decode step's 12
// head rows, where the warp kernel's serial reduction is the latency): rms_norm.cu's reduction.
__global__ void norm_rope_block_kernel(NormRopeParams p) {
    pdl_enter();
    const NormRopeRow h = norm_rope_row(p, blockIdx.x);
    const float inv = block_row_inv_rms(h.x, p.d, p.eps);
    norm_rope_finish(p, h, inv, threadIdx.x, blockDim.x, false);
}

// ---- rows of D = 64, 128, 256 or 512: each of the row's T threads holds x[tid + T k] ----

// One thread's share of a head row: its values v[k] = x[tid + T k] (k < kN) and their weights;
// with kN >= 2 it rotates pairs (k, k + kN/2) itself, with kN == 1 its one value, whose partner
// x[tid ^ D/2] (value vp, weight wp) another thread holds. f: the frequency of each pair it
// rotates; sn / cs: their sin and cos at the row's position.
template <int D, int T>
struct RowRegs {
    static constexpr int kN = D / T;
    static constexpr int kPairs = kN == 1 ? 1 : kN / 2;
    float v[kN], w[kN], vp, wp;
    float f[kPairs], sn[kPairs], cs[kPairs];
};

// Pair index (of D/2) of the k-th pair this thread rotates.
template <int D, int T>
__device__ __forceinline__ int rr_pair(int tid, int k) {
    return RowRegs<D, T>::kN == 1 ? tid % (D / 2) : tid + T * k;
}

// Whether row h is rotated.
__device__ __forceinline__ bool rr_roped(const NormRopeParams & p, const NormRopeRow & h) {
    return (h.in_q || h.in_a) && p.freqs;
}

// Weights and frequencies: never written by an earlier kernel, so loaded before the PDL wait.
template <int D, int T>
__device__ __forceinline__ void rr_load_consts(const NormRopeParams & p, const NormRopeRow & h,
                                               int tid, RowRegs<D, T> & r) {
    constexpr int kN = RowRegs<D, T>::kN;
    if (h.wt != ElemType::none) {
#pragma unroll
        for (int k = 0; k < kN; ++k) r.w[k] = load_elem(h.w, tid + T * k, h.wt);
        if (kN == 1) r.wp = load_elem(h.w, tid ^ (D / 2), h.wt);
    }
    if (rr_roped(p, h)) {
#pragma unroll
        for (int k = 0; k < RowRegs<D, T>::kPairs; ++k) r.f[k] = p.freqs[rr_pair<D, T>(tid, k)];
    }
}

// The row's values (after the PDL wait). The partner of a lone value: from memory in the block
// kernel (read before the block barrier, written after it), by shuffle in the warp kernel.
template <int D, int T, bool kWarp>
__device__ __forceinline__ void rr_load_x(const NormRopeRow & h, int tid, RowRegs<D, T> & r) {
    constexpr int kN = RowRegs<D, T>::kN;
#pragma unroll
    for (int k = 0; k < kN; ++k) r.v[k] = h.x[tid + T * k];
    if (kN == 1 && !kWarp) r.vp = h.x[tid ^ (D / 2)];
    if (kN == 1 && kWarp) r.vp = gemma_shfl_xor(r.v[0], D / 2);
}

// The row's position (token t) and its cache row (null: none), as norm_rope_finish.
struct RowDest {
    float fpos;
    uint8_t * cache;
};

__device__ __forceinline__ RowDest rr_dest(const NormRopeParams & p, const NormRopeRow & h) {
    RowDest o{0.0f, nullptr};
    const bool store = p.k_cache && !h.in_q;
    if (!store && !rr_roped(p, h)) return o;
    const int64_t t = h.r / (h.in_q ? p.q_heads : p.heads), row_len = int64_t(p.heads) * p.d;
    const int64_t pos = p.positions[t];
    o.fpos = float(pos);
    if (store) {
        int64_t slot = ((pos % p.slots) + p.slots) % p.slots;
        o.cache = static_cast<uint8_t *>(h.in_a ? p.k_cache : p.v_cache) +
                  kv_offset_bytes(p.cache_type, slot * row_len + (h.r % p.heads) * p.d);
    }
    return o;
}

template <int D, int T>
__device__ __forceinline__ void rr_sincos(const NormRopeParams & p, const NormRopeRow & h,
                                          float fpos, RowRegs<D, T> & r) {
    if (!rr_roped(p, h)) return;
#pragma unroll
    for (int k = 0; k < RowRegs<D, T>::kPairs; ++k) sincosf(fpos * r.f[k], &r.sn[k], &r.cs[k]);
}

// norm_elem from registers.
__device__ __forceinline__ float rr_norm(float x, float w, float inv, ElemType t) {
    float v = x * inv;
    return t == ElemType::none ? v : v * w;
}

// Value `idx` (= lane % 32) of a q8_0 block held by 32 consecutive lanes, quantized with
// kv_q8_0_quantize_block's operations: max |y| (exact in any order; NaN skipped as there),
// d = amax / 127, id = 1 / d, round(y · id); lane 0 of the 32 writes the scale.
__device__ __forceinline__ void kv_q8_0_store_lanes(float y, uint8_t * block, int idx) {
    float amax = fmaxf(0.0f, fabsf(y));
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) amax = fmaxf(amax, gemma_shfl_xor(amax, m));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    if (idx == 0) *reinterpret_cast<uint16_t *>(block) = gemma_f32_to_f16(d);
    float q = fminf(127.0f, fmaxf(-127.0f, roundf(y * id)));
    block[2 + idx] = uint8_t(int8_t(q));
}

// norm_rope_finish from registers: the same per-value operations; each thread writes its own
// values (and their cache values).
template <int D, int T>
__device__ __forceinline__ void rr_finish(const NormRopeParams & p, const NormRopeRow & h,
                                          const RowRegs<D, T> & r, float inv, int tid,
                                          uint8_t * cache) {
    constexpr int kN = RowRegs<D, T>::kN;
    float y[kN];
    if (rr_roped(p, h) && kN == 1) {
        const bool lo = tid < D / 2;
        const float own = rr_norm(r.v[0], r.w[0], inv, h.wt),
                    other = rr_norm(r.vp, r.wp, inv, h.wt);
        const float a = lo ? own : other, b = lo ? other : own;
        float y0 = a * r.cs[0] - b * r.sn[0], y1 = b * r.cs[0] + a * r.sn[0];
        y[0] = lo ? y0 : y1;
    } else if (rr_roped(p, h)) {
#pragma unroll
        for (int k = 0; k < kN / 2; ++k) {
            float a = rr_norm(r.v[k], r.w[k], inv, h.wt);
            float b = rr_norm(r.v[k + kN / 2], r.w[k + kN / 2], inv, h.wt);
            y[k] = a * r.cs[k] - b * r.sn[k];
            y[k + kN / 2] = b * r.cs[k] + a * r.sn[k];
        }
    } else {
#pragma unroll
        for (int k = 0; k < kN; ++k) y[k] = rr_norm(r.v[k], r.w[k], inv, h.wt);
    }
#pragma unroll
    for (int k = 0; k < kN; ++k) h.x[tid + T * k] = y[k];
    if (!cache) return;
#pragma unroll
    for (int k = 0; k < kN; ++k) {
        const int j = tid + T * k;
        if (p.cache_type == KvType::q8_0)  // D % 32 == 0: block j / 32 is 32 lanes of one warp
            kv_q8_0_store_lanes(y[k], cache + j / kKvQ8Block * kKvQ8BlockBytes, j % kKvQ8Block);
        else
            kv_store_elem(cache, j, p.cache_type, y[k]);
    }
}

// norm_rope_warp_kernel at D: one warp per row, lane l holding x[l + warp · k].
template <int D>
__global__ void __launch_bounds__(kBlock) norm_rope_warp_regs_kernel(NormRopeParams p) {
    constexpr int T = GEMMA_WARP;
    const int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / GEMMA_WARP;
    const int lane = threadIdx.x % GEMMA_WARP;
    if (row >= rows) {  // whole warps: nothing below waits on the block
        pdl_enter();
        return;
    }
    const NormRopeRow h = norm_rope_row(p, row);
    RowRegs<D, T> r;
    rr_load_consts(p, h, lane, r);
    pdl_enter();
    rr_load_x<D, T, true>(h, lane, r);
    const RowDest o = rr_dest(p, h);
    rr_sincos(p, h, o.fpos, r);
    const float inv = warp_regs_inv_rms<D>(r.v, p.eps);
    rr_finish(p, h, r, inv, lane, o.cache);
}

// norm_rope_block_kernel at D: norm_threads(D) threads per row, thread t holding x[t + T k].
template <int D>
__global__ void __launch_bounds__(norm_threads(D)) norm_rope_block_regs_kernel(NormRopeParams p) {
    constexpr int T = norm_threads(D);
    const NormRopeRow h = norm_rope_row(p, blockIdx.x);
    RowRegs<D, T> r;
    rr_load_consts(p, h, threadIdx.x, r);
    pdl_enter();
    rr_load_x<D, T, false>(h, threadIdx.x, r);
    const RowDest o = rr_dest(p, h);
    rr_sincos(p, h, o.fpos, r);
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < RowRegs<D, T>::kN; ++k) ss += r.v[k] * r.v[k];
    const float inv = block_inv_rms(ss, D, p.eps);
    rr_finish(p, h, r, inv, threadIdx.x, o.cache);
}

using NormRopeKernel = void (*)(NormRopeParams);

// The register kernels for d (null: d is not one of them, or env turns them off).
NormRopeKernel regs_kernel(int d, bool warp, const LaunchEnv & env) {
    if (!env.norm_rope_regs) return nullptr;
    switch (d) {
        case 64:
            return warp ? norm_rope_warp_regs_kernel<64> : norm_rope_block_regs_kernel<64>;
        case 128:
            return warp ? norm_rope_warp_regs_kernel<128> : norm_rope_block_regs_kernel<128>;
        case 256:
            return warp ? norm_rope_warp_regs_kernel<256> : norm_rope_block_regs_kernel<256>;
        case 512:
            return warp ? norm_rope_warp_regs_kernel<512> : norm_rope_block_regs_kernel<512>;
        default:
            return nullptr;
    }
}

}  // namespace

LaunchResult launch_norm_rope(const NormRopeParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    if (rows == 0) return nullptr;
    const bool warp = rows >= kWarpKernelRows;
    NormRopeKernel k = regs_kernel(p.d, warp, env);
    if (!warp)
        return launch_kernel(k ? k : norm_rope_block_kernel, unsigned(rows), norm_threads(p.d), 0,
                             s, env, p);
    const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    return launch_kernel(k ? k : norm_rope_warp_kernel, unsigned(blocks), kBlock, 0, s, env, p);
}

}  // namespace gemma::cuda
