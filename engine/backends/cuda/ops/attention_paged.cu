// Paged attention for a batched decode step (core/ops.h Op::attention_paged): the rows of many
// sequences in one launch, each reading K/V through its page table, so a step of 32 streams is
// one kernel per layer instead of 32 (and no gather copies of non-contiguous blocks). Block
// (row, head, split) walks its share of the row's visible keys with an online softmax per warp
// (a few keys per warp in flight, lanes split D; ops/attention_split.cuh), as attention.cu does;
// splits are merged by a second kernel. Pools f32, bf16 or q8_0 (attend_keys reads each type as
// the decode attention does); q, scores and sums f32.
#include <cfloat>

#include "backends/cuda/ops/attention_split.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / GEMMA_WARP;

template <int PER, KvType KT>
__global__ void __launch_bounds__(kThreads) paged_kernel(PagedAttentionParams p,
                                                         unsigned * counters) {
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

    float q[PER];
    load_head<PER>(p.q + qh * d, lane, d, q);
    WarpSoftmax<PER> acc;
    auto slot = [&](int64_t t) -> int64_t {
        const int64_t row =
            int64_t(pg[(t / p.page_size) % p.n_pages]) * p.page_size + t % p.page_size;
        return (row * p.hkv + kvh) * d;
    };
    attend_keys<PER, KT>(acc, q, static_cast<const uint8_t *>(p.k_pool),
                         static_cast<const uint8_t *>(p.v_pool), t_begin, t_end, kWarps, warp,
                         lane, d, p.scale, slot);
    merge_warps<PER>(smem, acc, kWarps, warp, lane, d, p.n_splits == 1 ? p.out + qh * d : nullptr,
                     p.partial + (qh * p.n_splits + split) * (d + 2));
    // counters: as attention.cu (the last split block merges; null: paged_merge_kernel).
    if (p.n_splits > 1 && counters && last_split_block(counters + qh, p.n_splits))
        merge_splits(p.partial + qh * p.n_splits * (d + 2), p.n_splits, d, p.out + qh * d);
}

__global__ void paged_merge_kernel(PagedAttentionParams p) {
    pdl_enter();
    const int64_t qh = blockIdx.x;
    merge_splits(p.partial + qh * p.n_splits * (p.d + 2), p.n_splits, p.d, p.out + qh * p.d);
}

template <int PER, KvType KT>
LaunchResult launch_paged_t(const PagedAttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    dim3 grid(unsigned(p.n * p.hq), unsigned(p.n_splits));
    size_t smem = size_t(kWarps) * size_t(p.d + 2) * sizeof(float);
    unsigned * counters =
        p.n_splits > 1 && int64_t(p.n) * p.hq <= kSplitCounters ? env.split_counters : nullptr;
    if (LaunchResult e =
            launch_kernel(paged_kernel<PER, KT>, grid, kThreads, smem, s, env, p, counters))
        return e;
    if (p.n_splits > 1 && !counters)
        return launch_kernel(paged_merge_kernel, unsigned(p.n * p.hq), 256, 0, s, env, p);
    return nullptr;
}

template <KvType KT>
LaunchResult launch_paged_kv(const PagedAttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.d <= 4 * GEMMA_WARP) return launch_paged_t<4, KT>(p, s, env);
    if (p.d <= 8 * GEMMA_WARP) return launch_paged_t<8, KT>(p, s, env);
    if (p.d <= 16 * GEMMA_WARP) return launch_paged_t<16, KT>(p, s, env);
    return "attention_paged: head_dim above 512 is not supported";
}

}  // namespace

LaunchResult launch_attention_paged(const PagedAttentionParams & p, gpuStream_t s,
                                    const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    switch (p.kv_type) {
        case KvType::f32:
            return launch_paged_kv<KvType::f32>(p, s, env);
        case KvType::bf16:
            return launch_paged_kv<KvType::bf16>(p, s, env);
        case KvType::q8_0:
            return launch_paged_kv<KvType::q8_0>(p, s, env);
    }
    return "attention_paged: unknown KV pool type";
}

}  // namespace gemma::cuda
