// Paged attention for a batched decode step (core/ops.h Op::attention_paged): the rows of many
// sequences in one launch, each reading K/V through its page table, so a step of 32 streams is
// one kernel per layer instead of 32 (and no gather copies of non-contiguous blocks). Block
// (row, head, split) walks its share of the row's visible keys with an online softmax per warp
// (lanes split D), as attention.cu does; splits are merged by a second kernel. f32 throughout.
#include <cfloat>

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / GEMMA_WARP;

template <int PER>
__global__ void __launch_bounds__(kThreads) paged_kernel(PagedAttentionParams p) {
    pdl_enter();
    extern __shared__ float smem[];  // kWarps × (D + 2): per-warp max, sum, values
    const int64_t qh = blockIdx.x, i = qh / p.hq, h = qh % p.hq, split = blockIdx.y, d = p.d;
    const int64_t kvh = h / (p.hq / p.hkv);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    const int64_t pos = p.positions[i];
    const int64_t lo = p.window > 0 ? max(int64_t(0), pos - p.window + 1) : 0;
    const int64_t len = pos - lo + 1;
    const int64_t chunk = (len + p.n_splits - 1) / p.n_splits;
    const int64_t t_begin = lo + split * chunk, t_end = min(t_begin + chunk, pos + 1);
    const int32_t * pg = p.pages + int64_t(p.row_seq[i]) * p.n_pages;

    float q[PER], o[PER];
    const float * qp = p.q + qh * d;
#pragma unroll
    for (int j = 0; j < PER; ++j) {
        int64_t c = lane + int64_t(j) * GEMMA_WARP;
        q[j] = c < d ? qp[c] : 0.0f;
        o[j] = 0.0f;
    }
    float m = -FLT_MAX, l = 0.0f;
    for (int64_t t = t_begin + warp; t < t_end; t += kWarps) {
        int64_t row = int64_t(pg[(t / p.page_size) % p.n_pages]) * p.page_size + t % p.page_size;
        int64_t base = (row * p.hkv + kvh) * d;
        const float * kt = p.k_pool + base;
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            int64_t c = lane + int64_t(j) * GEMMA_WARP;
            if (c < d) s += q[j] * kt[c];
        }
        s = gemma_warp_sum(s) * p.scale;
        float m_new = fmaxf(m, s);
        float corr = expf(m - m_new), e = expf(s - m_new);
        l = l * corr + e;
        const float * vt = p.v_pool + base;
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            int64_t c = lane + int64_t(j) * GEMMA_WARP;
            o[j] = o[j] * corr + (c < d ? e * vt[c] : 0.0f);
        }
        m = m_new;
    }

    float * wm = smem + warp * (d + 2);
    if (lane == 0) {
        wm[0] = m;
        wm[1] = l;
    }
#pragma unroll
    for (int j = 0; j < PER; ++j) {
        int64_t c = lane + int64_t(j) * GEMMA_WARP;
        if (c < d) wm[2 + c] = o[j];
    }
    __syncthreads();
    float mb = -FLT_MAX, lb = 0.0f;
    for (int w = 0; w < kWarps; ++w) mb = fmaxf(mb, smem[w * (d + 2)]);
    for (int w = 0; w < kWarps; ++w) lb += smem[w * (d + 2) + 1] * expf(smem[w * (d + 2)] - mb);
    // One split: the result; else a partial (max, sum, weighted values) for the merge kernel.
    float * dst =
        p.n_splits == 1 ? p.out + qh * d : p.partial + (qh * p.n_splits + split) * (d + 2) + 2;
    float inv = p.n_splits == 1 ? (lb > 0.0f ? 1.0f / lb : 0.0f) : 1.0f;
    if (p.n_splits > 1 && threadIdx.x == 0) {
        dst[-2] = mb;
        dst[-1] = lb;
    }
    for (int64_t c = threadIdx.x; c < d; c += kThreads) {
        float acc = 0.0f;
        for (int w = 0; w < kWarps; ++w)
            acc += smem[w * (d + 2) + 2 + c] * expf(smem[w * (d + 2)] - mb);
        dst[c] = acc * inv;
    }
}

// out = Σ_s o_s e^{m_s − M} / Σ_s l_s e^{m_s − M} over the splits of one (row, head).
__global__ void paged_merge_kernel(PagedAttentionParams p) {
    pdl_enter();
    const int64_t qh = blockIdx.x, d = p.d;
    const float * part = p.partial + qh * p.n_splits * (d + 2);
    float mb = -FLT_MAX, lb = 0.0f;
    for (int64_t s = 0; s < p.n_splits; ++s) mb = fmaxf(mb, part[s * (d + 2)]);
    for (int64_t s = 0; s < p.n_splits; ++s)
        lb += part[s * (d + 2) + 1] * expf(part[s * (d + 2)] - mb);
    const float inv = lb > 0.0f ? 1.0f / lb : 0.0f;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = 0.0f;
        for (int64_t s = 0; s < p.n_splits; ++s)
            acc += part[s * (d + 2) + 2 + c] * expf(part[s * (d + 2)] - mb);
        p.out[qh * d + c] = acc * inv;
    }
}

template <int PER>
LaunchResult launch_paged_t(const PagedAttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    dim3 grid(unsigned(p.n * p.hq), unsigned(p.n_splits));
    size_t smem = size_t(kWarps) * size_t(p.d + 2) * sizeof(float);
    if (LaunchResult e = launch_kernel(paged_kernel<PER>, grid, kThreads, smem, s, env, p))
        return e;
    if (p.n_splits > 1)
        return launch_kernel(paged_merge_kernel, unsigned(p.n * p.hq), 128, 0, s, env, p);
    return nullptr;
}

}  // namespace

LaunchResult launch_attention_paged(const PagedAttentionParams & p, gpuStream_t s,
                                    const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    if (p.d <= 4 * GEMMA_WARP) return launch_paged_t<4>(p, s, env);
    if (p.d <= 8 * GEMMA_WARP) return launch_paged_t<8>(p, s, env);
    if (p.d <= 16 * GEMMA_WARP) return launch_paged_t<16>(p, s, env);
    return "attention_paged: head_dim above 512 is not supported";
}

}  // namespace gemma::cuda
