// attention: q [n, h_q, D], k_cache, v_cache [S, h_kv, D] f32 / bf16 / q8_0 (ring buffers: key
// t in slot t mod S), positions [n] i32 (consecutive, already stored), block_ids [n] i32 or null
// -> out [n, h_q, D] f32. Mask, GQA and scale as core/ops.h Op::attention; f32 scores and
// softmax with the accurate expf. Cache elements are widened to f32 as they are read
// (ops/kv_quant.cuh; the cache type is a template parameter).
// Split-KV ("flash-decoding"): block (query i, head h, split s) walks an equal share of the
// query's visible key range with an online softmax per warp (one key per warp at a time, lanes
// split D), merges its warps in shared memory, and either writes the result (one split) or a
// partial (max, sum, D weighted values) that a second kernel merges. The key range is computed
// on the device from positions, so a decode step launches the same grid at every position.
// D ≤ 512 (Gemma 4: 256 sliding, 512 full); h_q is a multiple of h_kv.
#include <cfloat>

#include "backends/cuda/ops/kv_quant.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / GEMMA_WARP;
constexpr int64_t kMaxD = 512;
constexpr int64_t kMinKeysPerSplit = 64;

struct KeyRange {
    int64_t lo, hi;  // inclusive; empty when lo > hi
};

// Visible keys of the query at chunk index i (mirrors the cpu-ref bounds).
__device__ KeyRange key_range(const AttentionParams & p, int64_t i) {
    int64_t pos = p.positions[i], last = int64_t(p.positions[0]) + p.n - 1;
    int64_t lo = p.window > 0 ? max(int64_t(0), pos - p.window + 1) : 0;
    lo = max(lo, last - p.slots + 1);  // older keys were overwritten in the ring
    int64_t hi = p.block_ids ? last : pos;
    return {lo, hi};
}

// Keys past the query are visible only inside the query's bidirectional block.
__device__ __forceinline__ bool key_visible(const AttentionParams & p, int64_t i, int64_t pos,
                                            int64_t t) {
    if (t <= pos) return true;
    int32_t bq = p.block_ids[i];
    return bq >= 0 && p.block_ids[t - p.positions[0]] == bq;
}

// PER = D values per lane (D ≤ PER · warp); KT = the caches' element type.
template <int PER, KvType KT>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionParams p) {
    pdl_enter();
    extern __shared__ float smem[];  // kWarps × (D + 2): per-warp max, sum, values
    int64_t qh = blockIdx.x, i = qh / p.hq, h = qh % p.hq, split = blockIdx.y;
    int64_t kvh = h / (p.hq / p.hkv), d = p.d;
    int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    int64_t pos = p.positions[i];
    KeyRange r = key_range(p, i);
    int64_t len = r.hi >= r.lo ? r.hi - r.lo + 1 : 0;
    int64_t chunk = (len + p.n_splits - 1) / p.n_splits;
    int64_t t_begin = r.lo + split * chunk, t_end = min(t_begin + chunk, r.hi + 1);

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
        if (p.block_ids && !key_visible(p, i, pos, t)) continue;
        int64_t base = ((t % p.slots) * p.hkv + kvh) * d;  // flat element index of the head
        const uint8_t * kc = static_cast<const uint8_t *>(p.k_cache);
        float s = 0.0f;
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            int64_t c = lane + int64_t(j) * GEMMA_WARP;
            if (c < d) s += q[j] * kv_load<KT>(kc, base + c);
        }
        s = gemma_warp_sum(s) * p.scale;
        float m_new = fmaxf(m, s);
        float corr = expf(m - m_new), e = expf(s - m_new);
        l = l * corr + e;
        const uint8_t * vc = static_cast<const uint8_t *>(p.v_cache);
#pragma unroll
        for (int j = 0; j < PER; ++j) {
            int64_t c = lane + int64_t(j) * GEMMA_WARP;
            o[j] = o[j] * corr + (c < d ? e * kv_load<KT>(vc, base + c) : 0.0f);
        }
        m = m_new;
    }

    // Merge the warps: rescale each to the block max.
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
    float mb = -FLT_MAX;
    for (int w = 0; w < kWarps; ++w) mb = fmaxf(mb, smem[w * (d + 2)]);
    float lb = 0.0f;
    for (int w = 0; w < kWarps; ++w) lb += smem[w * (d + 2) + 1] * expf(smem[w * (d + 2)] - mb);
    if (p.n_splits == 1) {
        float inv = lb > 0.0f ? 1.0f / lb : 0.0f;  // nothing visible: zeros, as cpu-ref
        for (int64_t c = threadIdx.x; c < d; c += kThreads) {
            float acc = 0.0f;
            for (int w = 0; w < kWarps; ++w)
                acc += smem[w * (d + 2) + 2 + c] * expf(smem[w * (d + 2)] - mb);
            p.out[qh * d + c] = acc * inv;
        }
        return;
    }
    float * part = p.partial + (qh * p.n_splits + split) * (d + 2);
    if (threadIdx.x == 0) {
        part[0] = mb;
        part[1] = lb;
    }
    for (int64_t c = threadIdx.x; c < d; c += kThreads) {
        float acc = 0.0f;
        for (int w = 0; w < kWarps; ++w)
            acc += smem[w * (d + 2) + 2 + c] * expf(smem[w * (d + 2)] - mb);
        part[2 + c] = acc;
    }
}

// Merges the splits of one (query, head): out = Σ_s o_s e^{m_s − M} / Σ_s l_s e^{m_s − M}.
__global__ void attention_merge_kernel(AttentionParams p) {
    pdl_enter();
    int64_t qh = blockIdx.x, d = p.d;
    const float * part = p.partial + qh * p.n_splits * (d + 2);
    float mb = -FLT_MAX, lb = 0.0f;
    for (int64_t s = 0; s < p.n_splits; ++s) mb = fmaxf(mb, part[s * (d + 2)]);
    for (int64_t s = 0; s < p.n_splits; ++s)
        lb += part[s * (d + 2) + 1] * expf(part[s * (d + 2)] - mb);
    float inv = lb > 0.0f ? 1.0f / lb : 0.0f;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = 0.0f;
        for (int64_t s = 0; s < p.n_splits; ++s)
            acc += part[s * (d + 2) + 2 + c] * expf(part[s * (d + 2)] - mb);
        p.out[qh * d + c] = acc * inv;
    }
}

template <int PER, KvType KT>
LaunchResult launch_attention_t(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    dim3 grid(unsigned(p.n * p.hq), unsigned(p.n_splits));
    size_t smem = size_t(kWarps) * size_t(p.d + 2) * sizeof(float);
    if (LaunchResult e = launch_kernel(attention_kernel<PER, KT>, grid, kThreads, smem, s, env, p))
        return e;
    if (p.n_splits > 1)
        return launch_kernel(attention_merge_kernel, unsigned(p.n * p.hq), 128, 0, s, env, p);
    return nullptr;
}

template <KvType KT>
LaunchResult launch_attention_kv(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.d <= 4 * GEMMA_WARP) return launch_attention_t<4, KT>(p, s, env);
    if (p.d <= 8 * GEMMA_WARP) return launch_attention_t<8, KT>(p, s, env);
    return launch_attention_t<kMaxD / GEMMA_WARP, KT>(p, s, env);
}

}  // namespace

int64_t attention_splits(int64_t n, int64_t hq, int64_t max_keys, int n_sms) {
    int64_t blocks = n * hq;
    int64_t want = (2 * int64_t(n_sms) + blocks - 1) / blocks;
    int64_t cap = (max_keys + kMinKeysPerSplit - 1) / kMinKeysPerSplit;
    int64_t splits = want < cap ? want : cap;
    if (splits > 64) splits = 64;
    return splits < 1 ? 1 : splits;
}

LaunchResult launch_attention(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    if (p.d > kMaxD) return "attention: head_dim above 512 is not supported";
    switch (p.kv_type) {
        case KvType::f32:
            return launch_attention_kv<KvType::f32>(p, s, env);
        case KvType::bf16:
            return launch_attention_kv<KvType::bf16>(p, s, env);
        case KvType::q8_0:
            return launch_attention_kv<KvType::q8_0>(p, s, env);
    }
    return "attention: unknown KV cache type";
}

}  // namespace gemma::cuda
