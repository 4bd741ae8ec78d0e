// norm_rope: per-head rms_norm of q (or of k and v, or of q, k and v), RoPE on q / k and
// optionally the KV-cache store, in one launch (launch.h NormRopeParams). One warp per head row
// of d (q's rows first, then a's, then b's; 8 rows a block, no block barrier: prefill launches
// thousands of rows of 256-512 values); the sum of squares reproduces rms_norm.cu's thread counts
// and reduction order, and the rotation is rope.cu's formula on the normalized values, so results
// equal the unfused kernels. The cache store follows kv_store.cu: f32 / bf16 per element; q8_0
// per 32-value block, quantized from the finished row after a block barrier (ops/kv_quant.cuh),
// as kv_store would from the same row.
#include "backends/cuda/ops/kv_quant.cuh"

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

// rms_norm.cu's block for rows of d (a whole number of warps): its per-thread partial sums,
// warp sums and their sum in warp order are what norm_rope_kernel reproduces with one warp.
__host__ __device__ constexpr int norm_threads(int64_t d) {
    return d <= 64 ? 64 : d <= 128 ? 128 : 256;
}

constexpr int kBlock = 256;                         // threads of a norm_rope block
constexpr int kRowsPerBlock = kBlock / GEMMA_WARP;  // one warp per head row

// One warp per head row (kRowsPerBlock rows per block, no block barrier): 1 / sqrt(mean(x²) +
// eps) summed exactly as rms_norm_kernel's norm_threads(d) threads sum it. Lane l plays thread
// w · warp + l of each of that block's warps w in turn: its partial over j = w · warp + l + i · T
// (i = 0, 1, ...), the warp sum of those partials (the same butterfly), and the warp sums added
// in warp order from 0 — the same f32 operations in the same order, so the same bits.
__device__ __forceinline__ float row_inv_rms(const float * x, int64_t d, float eps) {
    const int T = norm_threads(d), lane = threadIdx.x % GEMMA_WARP;
    float total = 0.0f;
    for (int w = 0; w < T / GEMMA_WARP; ++w) {
        float ss = 0.0f;
        for (int64_t j = w * GEMMA_WARP + lane; j < d; j += T) ss += x[j] * x[j];
        total += gemma_warp_sum(ss);
    }
    return 1.0f / sqrtf(total / float(d) + eps);
}

__global__ void __launch_bounds__(kBlock) norm_rope_kernel(NormRopeParams p) {
    pdl_enter();
    // Warp → row r of q (rope'd as a, no cache), of a or of b (uniform across the warp).
    const int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / GEMMA_WARP;
    if (row >= rows) return;  // whole warps: nothing below waits on the block
    const int lane = threadIdx.x % GEMMA_WARP;
    const int64_t q_rows = norm_rope_q_rows(p);
    const bool in_q = row < q_rows;
    const int64_t kv_row = row - q_rows;  // row of a, then of b
    const bool in_a = !in_q && kv_row < p.rows_a;
    const int64_t r = in_q ? row : in_a ? kv_row : kv_row - p.rows_a;
    float * x = (in_q ? p.q : in_a ? p.a : p.b) + r * p.d;
    const void * w = in_q ? p.wq : in_a ? p.wa : p.wb;
    const ElemType wt = in_q || in_a ? p.wa_type : p.wb_type;
    const float inv = row_inv_rms(x, p.d, p.eps);
    const int64_t t = r / (in_q ? p.q_heads : p.heads), row_len = int64_t(p.heads) * p.d;
    uint8_t * cache = nullptr;  // this head row in the cache (uniform across the warp)
    if (p.k_cache && !in_q) {
        int64_t pos = p.positions[t];
        int64_t slot = ((pos % p.slots) + p.slots) % p.slots;
        cache = static_cast<uint8_t *>(in_a ? p.k_cache : p.v_cache) +
                kv_offset_bytes(p.cache_type, slot * row_len + (r % p.heads) * p.d);
    }
    const bool per_elem = cache && p.cache_type != KvType::q8_0;
    if ((in_q || in_a) && p.freqs) {
        const int64_t half = p.d / 2;
        const float fpos = float(p.positions[t]);
        for (int64_t i = lane; i < half; i += GEMMA_WARP) {
            float a = norm_elem(x, i, inv, w, wt), b = norm_elem(x, i + half, inv, w, wt);
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
        for (int64_t j = lane; j < p.d; j += GEMMA_WARP) {
            float v = norm_elem(x, j, inv, w, wt);
            x[j] = v;
            if (per_elem) kv_store_elem(cache, j, p.cache_type, v);
        }
    }
    if (cache && p.cache_type == KvType::q8_0) {
        __threadfence_block();  // the warp's writes of the row, visible to all its lanes
        gemma_syncwarp();
        for (int64_t b = lane; b < p.d / kKvQ8Block; b += GEMMA_WARP)
            kv_q8_0_quantize_block(x + b * kKvQ8Block, cache + b * kKvQ8BlockBytes);
    }
}

}  // namespace

LaunchResult launch_norm_rope(const NormRopeParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    if (rows == 0) return nullptr;
    const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    return launch_kernel(norm_rope_kernel, unsigned(blocks), kBlock, 0, s, env, p);
}

}  // namespace gemma::cuda
