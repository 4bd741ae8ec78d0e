// top_k: logits [rows, v] f32 -> ids [rows, k] i32, values [rows, k] f32, lse [rows] f32
// (core/ops.h Op::top_k: value descending, lower id first on ties, −0 == +0).
// Two launches, no sort of a whole row:
//  1. grid (n_chunks, rows): each block copies one chunk of a row (kChunk..2·kChunk−1 values)
//     into shared memory, finds the chunk's k best by a radix select on order-preserving keys
//     of the float bits (4 passes of 8 bits over shared memory, then an ordered compaction so
//     equal values keep the lower ids), ranks those k (each counts the larger ones; k ≤ 256)
//     and writes them with the chunk's max and Σ exp(x − max).
//  2. one block per row: the same select over the n_chunks·k candidates (read from scratch;
//     chunk lists are id-ordered among equal values, so the compaction keeps the lower ids),
//     then the row's lse from the chunk (max, sum) pairs.
// Only compat/gpu.h names and shared-memory atomics: the HIP build reuses this file.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

constexpr int kThreads = 256;        // one thread per histogram bin and per sorted candidate
constexpr int64_t kChunk = 4096;     // stage-1 chunks hold kChunk..2·kChunk−1 values
constexpr int kMaxK = 256;           // core/ops.h kTopKMax
constexpr int kChunkCap = 2 * 4096;  // shared floats of one chunk

// Order-preserving key of a non-NaN float (larger value -> larger key); −0 maps to +0's key.
__device__ __forceinline__ uint32_t order_key(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) == 0) u = 0;  // −0 == +0
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct SelectSmem {
    int hist[256];
    int warp_gt[kThreads / GEMMA_WARP], warp_eq[kThreads / GEMMA_WARP];
    unsigned long long sort[kMaxK];
    int sel_bin, sel_rest;
};

// Inclusive prefix sum over the lanes of a warp (a butterfly of xor shuffles: at step m each lane
// holds its aligned group's sum and adds the lower neighbour group's). Whole warps call it.
__device__ __forceinline__ int warp_scan_incl(int v) {
    const int lane = int(threadIdx.x) % GEMMA_WARP;
    int incl = v, group = v;
#pragma unroll
    for (int m = 1; m < GEMMA_WARP; m <<= 1) {
        const int other = gemma_shfl_xor(group, m);
        if (lane & m) incl += other;
        group += other;
    }
    return incl;
}

// Items i < m: value(i) and id(i). Writes the k best, sorted, to out_ids / out_values (k ≤ m).
// Equal values must appear in increasing id order along i (the compaction keeps the first).
template <class Src>
__device__ void block_select(const Src & src, int m, int k, SelectSmem & sm, int32_t * out_ids,
                             float * out_values) {
    const int t = int(threadIdx.x), warp = t / GEMMA_WARP;
    // 1. Radix select, 8 bits a pass from the top: the key thr of the k-th best and how many
    //    items equal to it to take (rest).
    uint32_t prefix = 0, mask = 0;
    int rest = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        sm.hist[t] = 0;
        __syncthreads();
        for (int i = t; i < m; i += kThreads) {
            const uint32_t key = order_key(src.value(i));
            if ((key & mask) == prefix) atomicAdd(&sm.hist[(key >> shift) & 255u], 1);
        }
        __syncthreads();
        if (warp == 0) {  // lane l sums bins 255 − l·B … 255 − l·B − B + 1 (counts from the top)
            constexpr int B = 256 / GEMMA_WARP;
            const int lane = t;
            int own = 0;
            for (int j = 0; j < B; ++j) own += sm.hist[255 - (lane * B + j)];
            const int incl = warp_scan_incl(own);
            int acc = incl - own;
            if (acc < rest && rest <= incl) {  // exactly one lane holds the rest-th best
                for (int j = 0; j < B; ++j) {
                    const int bin = 255 - (lane * B + j), h = sm.hist[bin];
                    if (acc + h >= rest) {
                        sm.sel_bin = bin;
                        sm.sel_rest = rest - acc;
                        break;
                    }
                    acc += h;
                }
            }
        }
        __syncthreads();
        prefix |= uint32_t(sm.sel_bin) << shift;
        mask |= 255u << shift;
        rest = sm.sel_rest;
    }
    const uint32_t thr = prefix;
    const int n_gt = k - rest;  // items with key > thr; then the first `rest` equal to thr
    // 2. Ordered compaction: thread t owns items [t·per, (t+1)·per); exclusive prefix sums of
    //    the per-thread counts give each thread its output slots.
    const int per = (m + kThreads - 1) / kThreads, i0 = min(m, t * per), i1 = min(m, i0 + per);
    int gt = 0, eq = 0;
    for (int i = i0; i < i1; ++i) {
        const uint32_t key = order_key(src.value(i));
        gt += key > thr;
        eq += key == thr;
    }
    const int incl_gt = warp_scan_incl(gt), incl_eq = warp_scan_incl(eq);
    if (t % GEMMA_WARP == GEMMA_WARP - 1) {
        sm.warp_gt[warp] = incl_gt;
        sm.warp_eq[warp] = incl_eq;
    }
    __syncthreads();
    int pos_gt = incl_gt - gt, pos_eq = incl_eq - eq;
    for (int w = 0; w < warp; ++w) {
        pos_gt += sm.warp_gt[w];
        pos_eq += sm.warp_eq[w];
    }
    // Sort keys: value key high, then ~id (the lower id sorts first among equal values): unique.
    for (int i = i0; i < i1; ++i) {
        const uint32_t key = order_key(src.value(i));
        const unsigned long long sk =
            (static_cast<unsigned long long>(key) << 32) | uint32_t(~uint32_t(src.id(i)));
        if (key > thr) {
            sm.sort[pos_gt++] = sk;
        } else if (key == thr) {
            if (pos_eq < rest) sm.sort[n_gt + pos_eq] = sk;
            ++pos_eq;
        }
    }
    __syncthreads();
    // 3. Each of the k keys finds its place by counting the larger ones (k ≤ 256: one pass).
    if (t < k) {
        const unsigned long long own = sm.sort[t];
        int rank = 0;
        for (int j = 0; j < k; ++j) rank += sm.sort[j] > own;
        const int32_t id = int32_t(~uint32_t(own & 0xffffffffull));
        out_ids[rank] = id;
        out_values[rank] = src.original(id);
    }
    __syncthreads();
}

// Stage 1 source: a chunk in shared memory whose first value has id `base`.
struct ChunkSrc {
    const float * x;
    int32_t base;
    __device__ float value(int i) const { return x[i]; }
    __device__ int32_t id(int i) const { return base + i; }
    __device__ float original(int32_t id) const { return x[id - base]; }
};

// Stage 2 source: one row's candidate lists in scratch; values re-read from the logits row.
struct MergeSrc {
    const float * values;
    const int32_t * ids;
    const float * row;
    __device__ float value(int i) const { return values[i]; }
    __device__ int32_t id(int i) const { return ids[i]; }
    __device__ float original(int32_t id) const { return row[id]; }
};

// Block-wide max / sum through per-warp partials (every thread gets the result).
__device__ float block_max(float v, float * red) {
    v = gemma_warp_max(v);
    const int warp = int(threadIdx.x) / GEMMA_WARP, lane = int(threadIdx.x) % GEMMA_WARP;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = red[0];
    for (int w = 1; w < kThreads / GEMMA_WARP; ++w) r = fmaxf(r, red[w]);
    __syncthreads();
    return r;
}

__device__ float block_sum(float v, float * red) {
    v = gemma_warp_sum(v);
    const int warp = int(threadIdx.x) / GEMMA_WARP, lane = int(threadIdx.x) % GEMMA_WARP;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = 0.0f;
    for (int w = 0; w < kThreads / GEMMA_WARP; ++w) r += red[w];
    __syncthreads();
    return r;
}

// Chunk c of a row covers [c·v/n, (c+1)·v/n).
__device__ __forceinline__ int64_t chunk_begin(int64_t c, int64_t v, int64_t n) {
    return c * v / n;
}

__global__ void top_k_chunks_kernel(TopKParams p) {
    pdl_enter();
    __shared__ float x[kChunkCap];
    __shared__ SelectSmem sm;
    __shared__ float red[kThreads / GEMMA_WARP];
    const int64_t row = blockIdx.y, c = blockIdx.x;
    const int64_t b = chunk_begin(c, p.v, p.n_chunks), e = chunk_begin(c + 1, p.v, p.n_chunks);
    const int m = int(e - b);
    const float * src = p.logits + row * p.v + b;
    float mx = -INFINITY;
    for (int i = int(threadIdx.x); i < m; i += kThreads) {
        const float f = src[i];
        x[i] = f;
        mx = fmaxf(mx, f);
    }
    mx = block_max(mx, red);  // also orders the shared writes before the reads below
    float sum = 0.0f;
    if (!isinf(mx))
        for (int i = int(threadIdx.x); i < m; i += kThreads) sum += expf(x[i] - mx);
    sum = block_sum(sum, red);
    const int64_t slot = row * p.n_chunks + c;
    block_select(ChunkSrc{x, int32_t(b)}, m, p.k, sm, p.part_ids + slot * p.k,
                 p.part_values + slot * p.k);
    if (threadIdx.x == 0) {
        p.part_stats[2 * slot] = mx;
        p.part_stats[2 * slot + 1] = sum;
    }
}

__global__ void top_k_merge_kernel(TopKParams p) {
    pdl_enter();
    __shared__ SelectSmem sm;
    __shared__ float red[kThreads / GEMMA_WARP];
    const int64_t row = blockIdx.x;
    const int m = int(p.n_chunks * p.k);
    const int64_t first = row * p.n_chunks;
    MergeSrc src{p.part_values + first * p.k, p.part_ids + first * p.k, p.logits + row * p.v};
    block_select(src, m, p.k, sm, p.ids + row * p.k, p.values + row * p.k);
    // lse = M + log Σ_c sum_c · exp(max_c − M); an all −inf row gives −inf, a +inf value +inf.
    const float * st = p.part_stats + 2 * first;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c < p.n_chunks; c += kThreads) mx = fmaxf(mx, st[2 * c]);
    mx = block_max(mx, red);
    float sum = 0.0f;
    if (!isinf(mx))
        for (int64_t c = threadIdx.x; c < p.n_chunks; c += kThreads)
            if (st[2 * c] != -INFINITY) sum += st[2 * c + 1] * expf(st[2 * c] - mx);
    sum = block_sum(sum, red);
    if (threadIdx.x == 0) p.lse[row] = isinf(mx) ? mx : mx + logf(sum);
}

}  // namespace

int64_t top_k_chunks(int64_t v) { return v < kChunk ? 1 : v / kChunk; }

size_t top_k_scratch_bytes(int64_t rows, int64_t v, int64_t k) {
    const int64_t slots = rows * top_k_chunks(v);
    return size_t(slots * k) * (sizeof(float) + sizeof(int32_t)) +
           size_t(slots) * 2 * sizeof(float);
}

LaunchResult launch_top_k(const TopKParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    dim3 grid1(unsigned(p.n_chunks), unsigned(p.rows));
    if (LaunchResult e = launch_kernel(top_k_chunks_kernel, grid1, kThreads, 0, s, env, p))
        return e;
    return launch_kernel(top_k_merge_kernel, dim3(unsigned(p.rows)), kThreads, 0, s, env, p);
}

}  // namespace gemma::cuda
