// norm_rope: per-head rms_norm of q (or of k and v, or of q, k and v), RoPE on q / k and
// optionally the KV-cache store, in one launch (launch.h NormRopeParams). One block per head row
// of d (q's rows first, then a's, then b's); the sum of squares uses rms_norm.cu's thread counts
// and reduction order, and the rotation rope.cu's formula on the normalized values, so results
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

__global__ void norm_rope_kernel(NormRopeParams p) {
    pdl_enter();
    __shared__ float warp_sums[256 / GEMMA_WARP];
    __shared__ float inv_rms;
    // Block → row r of q (rope'd as a, no cache), of a or of b (uniform across the block).
    const int64_t q_rows = norm_rope_q_rows(p);
    const bool in_q = int64_t(blockIdx.x) < q_rows;
    const int64_t kv_row = int64_t(blockIdx.x) - q_rows;  // row of a, then of b
    const bool in_a = !in_q && kv_row < p.rows_a;
    const int64_t r = in_q ? int64_t(blockIdx.x) : in_a ? kv_row : kv_row - p.rows_a;
    float * x = (in_q ? p.q : in_a ? p.a : p.b) + r * p.d;
    const void * w = in_q ? p.wq : in_a ? p.wa : p.wb;
    const ElemType wt = in_q || in_a ? p.wa_type : p.wb_type;
    float ss = 0.0f;
    for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) ss += x[j] * x[j];
    ss = gemma_warp_sum(ss);
    int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float total = 0.0f;
        for (int k = 0; k < int(blockDim.x) / GEMMA_WARP; ++k) total += warp_sums[k];
        inv_rms = 1.0f / sqrtf(total / float(p.d) + p.eps);
    }
    __syncthreads();
    const float inv = inv_rms;
    const int64_t t = r / (in_q ? p.q_heads : p.heads), row_len = int64_t(p.heads) * p.d;
    uint8_t * cache = nullptr;  // this head row in the cache (uniform across the block)
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
        for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
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
        for (int64_t j = threadIdx.x; j < p.d; j += blockDim.x) {
            float v = norm_elem(x, j, inv, w, wt);
            x[j] = v;
            if (per_elem) kv_store_elem(cache, j, p.cache_type, v);
        }
    }
    if (cache && p.cache_type == KvType::q8_0) {
        __syncthreads();  // the whole row of x is written (global writes visible to the block)
        for (int64_t b = threadIdx.x; b < p.d / kKvQ8Block; b += blockDim.x)
            kv_q8_0_quantize_block(x + b * kKvQ8Block, cache + b * kKvQ8BlockBytes);
    }
}

}  // namespace

LaunchResult launch_norm_rope(const NormRopeParams & p, gpuStream_t s, const LaunchEnv & env) {
    int64_t rows = norm_rope_q_rows(p) + p.rows_a + p.rows_b;
    if (rows == 0) return nullptr;
    int threads = p.d <= 64 ? 64 : p.d <= 128 ? 128 : 256;  // as rms_norm.cu
    return launch_kernel(norm_rope_kernel, unsigned(rows), threads, 0, s, env, p);
}

}  // namespace gemma::cuda
