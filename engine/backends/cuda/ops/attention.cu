// attention: q [n, h_q, D], k_cache, v_cache [S, h_kv, D] f32 / bf16 / q8_0 (ring buffers: key
// t in slot t mod S), positions [n] i32 (consecutive, already stored), block_ids [n] i32 or null
// -> out [n, h_q, D] f32. Mask, GQA and scale as core/ops.h Op::attention; f32 scores and
// softmax with the accurate expf. Cache elements are widened to f32 as they are read
// (ops/kv_quant.cuh; the cache type is a template parameter).
// Split-KV ("flash-decoding"): block (query i, head h, split s) walks an equal share of the
// query's visible key range with an online softmax per warp (a few keys per warp in flight,
// lanes split D; ops/attention_split.cuh), merges its warps in shared memory, and either writes
// the result (one split) or a partial (max, sum, D weighted values) that a second kernel merges.
// The key range is computed on the device from positions, so a decode step launches the same grid
// at every position. D ≤ 512 (Gemma 4: 256 sliding, 512 full); h_q is a multiple of h_kv.
#include <cfloat>

#include "backends/cuda/ops/attention_split.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / GEMMA_WARP;
constexpr int64_t kMaxD = 512;
constexpr int64_t kMinKeysPerSplit = 32;

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

// merge_splits' preloaded values per thread (columns, splits; attention_split.cuh) that keep
// attention_kernel within its 128 registers without spills (ptxas -v, sm_90): D ≤ 128 one column
// of 16 splits, D ≤ 256 one of 32, D ≤ 512 two of 16.
template <int PER>
constexpr int kMergeCols = PER > 8 ? 2 : 1;
template <int PER>
constexpr int kMergeSplits = PER == 8 ? 32 : 16;

// PER = D values per lane (D ≤ PER · warp); KT = the caches' element type.
template <int PER, KvType KT>
// counters: LaunchEnv::split_counters when the last split block merges (null: a merge kernel).
__global__ void __launch_bounds__(kThreads)
    attention_kernel(AttentionParams p, unsigned * counters) {
    pdl_enter();
    extern __shared__ float smem[];  // kWarps × (D + 2): per-warp max, sum, values
    const int64_t qh = blockIdx.x, i = qh / p.hq, h = qh % p.hq, split = blockIdx.y, d = p.d;
    const int64_t kvh = h / (p.hq / p.hkv);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    float q[PER];  // loading while the positions do (the key range waits for them)
    load_head<PER>(p.q + qh * d, lane, d, q);
    const int64_t pos = p.positions[i];
    const KeyRange r = key_range(p, i);
    const int64_t len = r.hi >= r.lo ? r.hi - r.lo + 1 : 0;
    const int64_t chunk = (len + p.n_splits - 1) / p.n_splits;
    const int64_t t_begin = r.lo + split * chunk, t_end = min(t_begin + chunk, r.hi + 1);

    WarpSoftmax<PER> acc;
    auto slot = [&](int64_t t) -> int64_t {
        if (p.block_ids && !key_visible(p, i, pos, t)) return -1;
        return ((t % p.slots) * p.hkv + kvh) * d;  // flat element index of the head
    };
    attend_keys<PER, KT>(acc, q, static_cast<const uint8_t *>(p.k_cache),
                         static_cast<const uint8_t *>(p.v_cache), t_begin, t_end, kWarps, warp,
                         lane, d, p.scale, slot);
    merge_warps<PER>(smem, acc, kWarps, warp, lane, d, p.n_splits == 1 ? p.out + qh * d : nullptr,
                     p.partial + (qh * p.n_splits + split) * (d + 2));
    if (p.n_splits > 1 && counters && last_split_block(counters + qh, p.n_splits))
        merge_splits<kMergeCols<PER>, kMergeSplits<PER>>(p.partial + qh * p.n_splits * (d + 2),
                                                         p.n_splits, d, p.out + qh * d);
}

__global__ void attention_merge_kernel(AttentionParams p) {
    pdl_enter();
    const int64_t qh = blockIdx.x;
    merge_splits<2, 16>(p.partial + qh * p.n_splits * (p.d + 2), p.n_splits, p.d, p.out + qh * p.d);
}

template <int PER, KvType KT>
LaunchResult launch_attention_t(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    dim3 grid(unsigned(p.n * p.hq), unsigned(p.n_splits));
    size_t smem = size_t(kWarps) * size_t(p.d + 2) * sizeof(float);
    unsigned * counters =
        p.n_splits > 1 && p.n * p.hq <= kSplitCounters ? env.split_counters : nullptr;
    if (LaunchResult e =
            launch_kernel(attention_kernel<PER, KT>, grid, kThreads, smem, s, env, p, counters))
        return e;
    if (p.n_splits > 1 && !counters)
        return launch_kernel(attention_merge_kernel, unsigned(p.n * p.hq), 256, 0, s, env, p);
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
    if (splits > kMaxSplits) splits = kMaxSplits;
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
