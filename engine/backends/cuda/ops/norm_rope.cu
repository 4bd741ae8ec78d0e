// norm_rope: per-head rms_norm of q (or of k and v, or of q, k and v), RoPE on q / k and
// optionally the KV-cache store, in one launch (launch.h NormRopeParams), over head rows of d (q's
// rows first, then a's, then b's): one warp per row, 8 rows a block, no block barrier, for
// launches of many rows (prefill: thousands of rows of 256-512 values); one block per row for
// few (decode). Either way the sum of squares reproduces rms_norm.cu's thread counts and
// reduction order, and the rotation is rope.cu's formula on the normalized values, so results
// equal the unfused kernels. The cache store follows kv_store.cu: f32 / bf16 per element; q8_0
// per 32-value block, quantized from the finished row after a barrier (ops/kv_quant.cuh), as
// kv_store would from the same row.
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

}  // namespace

LaunchResult launch_norm_rope(const NormRopeParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    if (rows == 0) return nullptr;
    if (rows < kWarpKernelRows)
        return launch_kernel(norm_rope_block_kernel, unsigned(rows), norm_threads(p.d), 0, s, env,
                             p);
    const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    return launch_kernel(norm_rope_warp_kernel, unsigned(blocks), kBlock, 0, s, env, p);
}

}  // namespace gemma::cuda
