// chunk_attention (core/ops.h): the audio conformer's blocked local attention with relative-
// position logits, a soft cap and a set invalid logit.
// q, k, v: [n, h, d] f32, rel: [past + 1, h, d] f32 -> out [n, h, d] f32.
// One warp per (query t, head): lanes split d for each slot's two dot products (then a warp sum),
// the C + P logits go to shared memory, every lane forms the same f32 softmax in slot order, and
// each lane accumulates its own output elements over the slots in order, as cpu-ref does.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ float warp_dot(const float * a, const float * b, int64_t d) {
    float s = 0.0f;
    for (int64_t i = threadIdx.x % GEMMA_WARP; i < d; i += GEMMA_WARP) s += a[i] * b[i];
    return gemma_warp_sum(s);
}

__device__ __forceinline__ bool slot_kept(const ChunkAttentionParams & p, int64_t t, int64_t s) {
    const bool in_range = s >= 0 && s < p.n;
    const bool sliding = in_range && t - s >= 0 && t - s < p.past;
    return p.complement ? in_range && !sliding : sliding;
}

__global__ void chunk_attention_kernel(ChunkAttentionParams p) {
    pdl_enter();
    extern __shared__ float smem[];
    const int64_t slots = int64_t(p.chunk) + p.past, row = p.h * p.d;
    const int warps = int(blockDim.x) / GEMMA_WARP, warp = int(threadIdx.x) / GEMMA_WARP;
    const int lane = int(threadIdx.x) % GEMMA_WARP;
    float * e = smem + int64_t(warp) * slots;  // this warp's logits, then exponentials
    for (int64_t item = int64_t(blockIdx.x) * warps + warp; item < p.n * p.h;
         item += int64_t(gridDim.x) * warps) {
        const int64_t t = item / p.h, hh = item % p.h;
        const int64_t first = (t / p.chunk) * p.chunk - p.past;
        const float * qt = p.q + t * row + hh * p.d;
        float mx = -INFINITY;
        for (int64_t j = 0; j < slots; ++j) {
            const int64_t pos = first + j, dist = t - pos;
            float logit = 0.0f;
            if (pos >= 0 && pos < p.n) logit += warp_dot(qt, p.k + pos * row + hh * p.d, p.d);
            if (dist >= 0 && dist <= p.past)
                logit += warp_dot(qt, p.rel + dist * row + hh * p.d, p.d);
            logit = p.cap * tanhf(logit / p.cap);
            if (!slot_kept(p, t, pos)) logit = p.invalid;
            if (lane == 0) e[j] = logit;
            mx = fmaxf(mx, logit);
        }
        gemma_syncwarp();
        float sum = 0.0f;
        for (int64_t j = 0; j < slots; ++j) sum += expf(e[j] - mx);
        float * ot = p.out + t * row + hh * p.d;
        for (int64_t i = lane; i < p.d; i += GEMMA_WARP) {
            float acc = 0.0f;
            for (int64_t j = 0; j < slots; ++j) {
                const int64_t pos = first + j;
                if (pos < 0 || pos >= p.n) continue;  // zero padding of the block context: v = 0
                acc += (expf(e[j] - mx) / sum) * p.v[pos * row + hh * p.d + i];
            }
            ot[i] = acc;
        }
        gemma_syncwarp();  // e is rewritten for the warp's next item
    }
}

}  // namespace

LaunchResult launch_chunk_attention(const ChunkAttentionParams & p, gpuStream_t s,
                                    const LaunchEnv & env) {
    const int64_t items = p.n * p.h;
    if (items == 0) return nullptr;
    const int warps = kThreads / GEMMA_WARP;
    const size_t smem = size_t(warps) * size_t(int64_t(p.chunk) + p.past) * sizeof(float);
    if (smem > 48 * 1024) return "chunk_attention: chunk + past too large for shared memory";
    int64_t blocks = (items + warps - 1) / warps;
    const int64_t cap = int64_t(env.n_sms) * 64;
    if (blocks > cap) blocks = cap;
    return launch_kernel(chunk_attention_kernel, unsigned(blocks), kThreads, smem, s, env, p);
}

}  // namespace gemma::cuda
