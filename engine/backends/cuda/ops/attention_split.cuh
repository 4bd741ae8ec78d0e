// Split-KV ("flash-decoding") pieces shared by attention.cu and attention_paged.cu: the per-warp
// online softmax over a share of the keys, the merge of a block's warps, and the merge of the
// splits. A decode step has one query per head, so the walk over the keys is bound by memory
// latency, not bandwidth: each warp takes kKeysPerStep keys at a time and issues all their K and
// V loads before it uses any of them (lanes split D; PER = D values per lane).
#pragma once

#include <cfloat>

#include "backends/cuda/ops/kv_quant.cuh"

namespace gemma::cuda {

// Keys a warp has in flight per step: K and V of all of them stay in registers.
template <int PER>
constexpr int kKeysPerStep = PER <= 8 ? 4 : 2;

// Online softmax state of one warp (each lane holds its PER values of o).
template <int PER>
struct WarpSoftmax {
    float m = -FLT_MAX, l = 0.0f;
    float o[PER] = {};
};

// The lane's PER values of one head row of d (≤ PER · warp) floats; zeros past d.
template <int PER>
__device__ __forceinline__ void load_head(const float * row, int lane, int64_t d, float (&v)[PER]) {
#pragma unroll
    for (int j = 0; j < PER; ++j) {
        const int64_t c = lane + int64_t(j) * GEMMA_WARP;
        v[j] = c < d ? row[c] : 0.0f;
    }
}

// Folds the keys t = t_begin + warp·KU + step·warps·KU + u (u < KU) below t_end into `acc`.
// slot(t) gives the flat element index of key t's head row in both caches, or −1 when t is not
// visible to this query. Scores are s = scale · q·k; softmax and sums in f32 with expf.
template <int PER, KvType KT, class Slot>
__device__ __forceinline__ void attend_keys(WarpSoftmax<PER> & acc, const float (&q)[PER],
                                            const uint8_t * kc, const uint8_t * vc, int64_t t_begin,
                                            int64_t t_end, int warps, int warp, int lane, int64_t d,
                                            float scale, Slot slot) {
    constexpr int KU = kKeysPerStep<PER>;
    for (int64_t t0 = t_begin + int64_t(warp) * KU; t0 < t_end; t0 += int64_t(warps) * KU) {
        int64_t base[KU];
        float kv[KU][PER], vv[KU][PER];
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            base[u] = t0 + u < t_end ? slot(t0 + u) : -1;
#pragma unroll
            for (int j = 0; j < PER; ++j) {
                const int64_t c = lane + int64_t(j) * GEMMA_WARP;
                const bool in = base[u] >= 0 && c < d;
                kv[u][j] = in ? kv_load<KT>(kc, base[u] + c) : 0.0f;
                vv[u][j] = in ? kv_load<KT>(vc, base[u] + c) : 0.0f;
            }
        }
        float s[KU];
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            float part = 0.0f;
#pragma unroll
            for (int j = 0; j < PER; ++j) part += q[j] * kv[u][j];
            s[u] = part;
        }
        float m_new = acc.m;
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            s[u] = gemma_warp_sum(s[u]) * scale;
            if (base[u] >= 0) m_new = fmaxf(m_new, s[u]);
        }
        const float corr = expf(acc.m - m_new);
        acc.l *= corr;
#pragma unroll
        for (int j = 0; j < PER; ++j) acc.o[j] *= corr;
#pragma unroll
        for (int u = 0; u < KU; ++u) {
            if (base[u] < 0) continue;  // uniform over the warp
            const float e = expf(s[u] - m_new);
            acc.l += e;
#pragma unroll
            for (int j = 0; j < PER; ++j) acc.o[j] += e * vv[u][j];
        }
        acc.m = m_new;
    }
}

// Most warps a split block has (attention.cu and attention_paged.cu launch 256 threads).
constexpr int kSplitMaxWarps = 256 / GEMMA_WARP;

// Merges the block's warps (shared memory: warps × (d + 2) floats, warps <= kSplitMaxWarps) and
// writes either the result (one split: `out` = the head's d outputs) or the split's partial
// (`part` = max, sum, d weighted values) for merge_splits. Nothing visible: zeros, as cpu-ref.
// Each warp's weight e^{m_w − M} is formed once per thread (the same expf of the same values
// wherever the sums use it).
template <int PER>
__device__ __forceinline__ void merge_warps(float * smem, const WarpSoftmax<PER> & acc, int warps,
                                            int warp, int lane, int64_t d, float * out,
                                            float * part) {
    float * wm = smem + warp * (d + 2);
    if (lane == 0) {
        wm[0] = acc.m;
        wm[1] = acc.l;
    }
#pragma unroll
    for (int j = 0; j < PER; ++j) {
        const int64_t c = lane + int64_t(j) * GEMMA_WARP;
        if (c < d) wm[2 + c] = acc.o[j];
    }
    __syncthreads();
    float mb = -FLT_MAX, lb = 0.0f;
    for (int w = 0; w < warps; ++w) mb = fmaxf(mb, smem[w * (d + 2)]);
    float e[kSplitMaxWarps];
#pragma unroll
    for (int w = 0; w < kSplitMaxWarps; ++w) e[w] = w < warps ? expf(smem[w * (d + 2)] - mb) : 0.0f;
#pragma unroll
    for (int w = 0; w < kSplitMaxWarps; ++w)
        if (w < warps) lb += smem[w * (d + 2) + 1] * e[w];
    float * dst = out ? out : part + 2;
    const float inv = out ? (lb > 0.0f ? 1.0f / lb : 0.0f) : 1.0f;
    if (!out && threadIdx.x == 0) {
        part[0] = mb;
        part[1] = lb;
    }
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kSplitMaxWarps; ++w)
            if (w < warps) sum += smem[w * (d + 2) + 2 + c] * e[w];
        dst[c] = sum * inv;
    }
}

// Whether this block is the last of the n_splits blocks of its (query, head) to finish, its
// partial written: then it merges the splits itself (merge_splits) instead of a second kernel.
// Every thread fences its partial writes before the count; the last block resets the counter (all
// n_splits blocks have counted) for the next launch. All threads of the block must call this.
__device__ __forceinline__ bool last_split_block(unsigned * counter, int64_t n_splits) {
    __shared__ bool last;
    __threadfence();  // this thread's partial writes, device-wide, before the count
    __syncthreads();
    if (threadIdx.x == 0) {
        last = atomicAdd(counter, 1u) == unsigned(n_splits) - 1u;
        if (last) *counter = 0u;
    }
    __syncthreads();
    if (last) __threadfence();  // the other blocks' partials, read next
    return last;
}

// Most splits merge_splits takes (attention_splits caps the count at this).
constexpr int kMaxSplits = 64;

// One block per (query, head): out = Σ_s o_s e^{m_s − M} / Σ_s l_s e^{m_s − M} over the splits.
// The split weights e^{m_s − M} are formed once in shared memory while each thread's values of
// the splits are already loading: the first kCols columns of the thread (c = t + k · threads) of
// the first kSplits splits, in registers, so that the maxima, sums and those values take one
// memory round trip together (kernels pick what fits their register budget). Each thread then
// sums its columns in split order.
template <int kCols = 1, int kSplits = 16>
__device__ __forceinline__ void merge_splits(const float * part, int64_t n_splits, int64_t d,
                                             float * out) {
    __shared__ float wgt[kMaxSplits];
    __shared__ float inv_sum;
    float pre[kCols][kSplits];
#pragma unroll
    for (int k = 0; k < kCols; ++k) {
        const int64_t c = threadIdx.x + int64_t(k) * blockDim.x;
#pragma unroll
        for (int s = 0; s < kSplits; ++s)
            pre[k][s] = c < d && s < n_splits ? part[s * (d + 2) + 2 + c] : 0.0f;
    }
    if (threadIdx.x < GEMMA_WARP) {  // one warp: max and sum over ≤ 64 splits
        const int lane = threadIdx.x;
        float m0 = lane < n_splits ? part[lane * (d + 2)] : -FLT_MAX;
        float m1 = lane + GEMMA_WARP < n_splits ? part[(lane + GEMMA_WARP) * (d + 2)] : -FLT_MAX;
        const float mb = gemma_warp_max(fmaxf(m0, m1));
        float e0 = lane < n_splits ? expf(m0 - mb) : 0.0f;
        float e1 = lane + GEMMA_WARP < n_splits ? expf(m1 - mb) : 0.0f;
        if (lane < n_splits) wgt[lane] = e0;
        if (lane + GEMMA_WARP < n_splits) wgt[lane + GEMMA_WARP] = e1;
        float l0 = lane < n_splits ? part[lane * (d + 2) + 1] * e0 : 0.0f;
        float l1 =
            lane + GEMMA_WARP < n_splits ? part[(lane + GEMMA_WARP) * (d + 2) + 1] * e1 : 0.0f;
        const float lb = gemma_warp_sum(l0 + l1);
        if (lane == 0) inv_sum = lb > 0.0f ? 1.0f / lb : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kCols; ++k) {
        const int64_t c = threadIdx.x + int64_t(k) * blockDim.x;
        if (c >= d) break;
        float acc = 0.0f;
#pragma unroll
        for (int s = 0; s < kSplits; ++s)
            if (s < n_splits) acc += pre[k][s] * wgt[s];
        for (int64_t s = kSplits; s < n_splits; ++s) acc += part[s * (d + 2) + 2 + c] * wgt[s];
        out[c] = acc * inv_sum;
    }
    for (int64_t c = threadIdx.x + int64_t(kCols) * blockDim.x; c < d; c += blockDim.x) {
        float acc = 0.0f;
#pragma unroll 8
        for (int64_t s = 0; s < n_splits; ++s) acc += part[s * (d + 2) + 2 + c] * wgt[s];
        out[c] = acc * inv_sum;
    }
}

}  // namespace gemma::cuda
