// The row_fuse math (launch.h RowFuseParams) shared by row_fuse_kernel (ops/row_fuse.cu) and the
// prologue of a decode GEMV that a row_fuse was folded into (fusion.h; ops/matmul.cu,
// ops/matmul_quant_gemv.cu): the same f32 operations in the same order, so both write bitwise
// the same a, h_out and x (and the GEMV reads that x).
#pragma once

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

constexpr int kRowFuseMaxThreads = 1024;
constexpr int kRowFusePer = 8;  // elements per thread: rows up to kRowFuseMaxThreads · kRowFusePer

// row_fuse_kernel's block for rows of d: whole warps (at least two), thread t holding elements
// j = t + e · threads, e < kRowFusePer. Its sums of squares follow this layout.
__host__ __device__ constexpr int row_fuse_threads(int64_t d) {
    const int64_t per_warp = int64_t(GEMMA_WARP) * kRowFusePer;
    const int64_t warps = (d + per_warp - 1) / per_warp;
    return int(warps < 2 ? 2 : warps) * GEMMA_WARP;
}

// The element-wise steps, each product and sum rounded on its own (__f*_rn are never contracted
// into FMAs, so both kernels round alike, and as the unfused rms_norm and add kernels do); the
// sums of squares accumulate with FMAs.
__device__ __forceinline__ float row_fuse_sq(float ss, float v) { return __fmaf_rn(v, v, ss); }
// v · inv (· w when the norm has a weight).
__device__ __forceinline__ float row_fuse_scale(float v, float inv, float w, bool has_w) {
    v = __fmul_rn(v, inv);
    return has_w ? __fmul_rn(v, w) : v;
}
// (h + a) (· scale when there is a scalar).
__device__ __forceinline__ float row_fuse_add(float h, float a, float scale, bool has_scale) {
    h = __fadd_rn(h, a);
    return has_scale ? __fmul_rn(h, scale) : h;
}

// 1 / sqrt(mean + eps) of a row of d from its nw ≤ GEMMA_WARP per-warp sums of squares: every
// warp adds them up itself (warp_sums must be complete: after a barrier).
__device__ __forceinline__ float row_fuse_inv_rms(const float * warp_sums, int nw, int64_t d,
                                                  float eps) {
    const int lane = threadIdx.x % GEMMA_WARP;
    const float total = gemma_warp_sum(lane < nw ? warp_sums[lane] : 0.0f);
    return 1.0f / sqrtf(total / float(d) + eps);
}

// Asks L2 for the norm weights (no earlier kernel writes them: before the PDL wait).
__device__ __forceinline__ void row_fuse_prefetch(const RowFuseParams & p) {
    if (p.norm1) prefetch_row_l2(p.w1, p.d, p.w1_type);
    if (p.x) prefetch_row_l2(p.w2, p.d, p.w2_type);
}

// ---- the GEMV prologue ----

// Dynamic shared memory of row_fuse_prologue for `rows` rows of d: two f32 copies.
__host__ __device__ constexpr size_t row_fuse_prologue_bytes(int64_t rows, int64_t d) {
    return size_t(2 * rows * d) * sizeof(float);
}

// nullptr when GEMV params p (MatmulParams, QuantMatmulParams) with a prologue can run: the
// prologue's rows are p's x (its x output, or h_out without one), they fit row_fold_fits with a
// and h_in 16-byte aligned, and the context has a counter. fusion.cpp makes only such records.
template <class P>
inline LaunchResult row_fold_check(const P & p, const LaunchEnv & env) {
    const RowFuseParams & f = p.prologue;
    auto aligned = [](const void * ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    if (!env.row_fuse_counter) return "gemv: a folded row_fuse needs LaunchEnv::row_fuse_counter";
    if (f.rows != p.n || f.d != p.k || p.x != (f.x ? f.x : f.h_out) || !row_fold_fits(p.n, p.k) ||
        !aligned(f.a) || !aligned(f.h_in))
        return "gemv: the folded row_fuse does not form this GEMV's x within the fold's limits";
    return nullptr;
}

// 1 / sqrt(mean(v²) + eps) of the row v [d] (shared memory) summed exactly as row_fuse_kernel
// sums it: thread t of its row_fuse_threads(d) threads adds v[t + e · T]² for e = 0, 1, ..., then
// warp sums, then the sum of the warp sums. This block plays those T threads in rounds of
// blockDim.x (a multiple of the warp, so thread t0 + i of a round is thread i, in the same lane
// and with the same warp partners). All threads call it; a barrier first (v complete, the
// previous call's warp_sums read) and one inside.
__device__ __forceinline__ float row_fuse_inv_rms_as_kernel(const float * v, int64_t d, float eps,
                                                            float * warp_sums) {
    const int T = row_fuse_threads(d), lane = threadIdx.x % GEMMA_WARP;
    __syncthreads();
    for (int t0 = 0; t0 < T; t0 += int(blockDim.x)) {  // uniform trip count: whole warps shuffle
        const int t = t0 + int(threadIdx.x);
        float ss = 0.0f;
        if (t < T) {  // whole warps: T and t0 are multiples of the warp
#pragma unroll
            for (int e = 0; e < kRowFusePer; ++e) {
                const int64_t j = t + int64_t(e) * T;
                if (j < d) ss = row_fuse_sq(ss, v[j]);
            }
        }
        ss = gemma_warp_sum(ss);
        if (lane == 0 && t < T) warp_sums[t / GEMMA_WARP] = ss;
    }
    __syncthreads();
    return row_fuse_inv_rms(warp_sums, T / GEMMA_WARP, d, eps);
}

// The row_fuse of p (p.rows = kRows rows of p.d, row_fold_fits) formed by this block of kBlock
// threads in `smem` (row_fuse_prologue_bytes, 16-byte aligned) with row_fuse_kernel's
// operations. Returns the rows [p.rows, p.d] in shared memory that the GEMV reads as x: the x
// output (p.x set), else h_out; the other half of smem is free then (it ends with a barrier).
// Call after pdl_enter(), from all threads.
// Its latency delays the GEMV's weight stream: the rows a and h_in and the first norm's weights
// are loaded in one memory round trip (every load issued before any is used), the second norm's
// weights while the first steps run. Its registers limit how many GEMV blocks fit an SM, so it
// holds just a thread's share of the rows in flight (kRows of kRowFoldMaxD) and of one weight at
// a time. Element j of the element-wise steps belongs to thread j mod kBlock throughout.
// Only the last block to have read a and h_in writes a, h_out and x to memory (h_out may alias
// h_in, which other blocks may still be reading): each block counts itself on `counter` once its
// loads have landed and looks at its ticket only after the first norm (the atomic's round trip
// hidden); the last resets the counter for the next launch or graph replay (as
// attention_split.cuh last_split_block).
template <int kBlock, int kRows>
__device__ __forceinline__ const float * row_fuse_prologue(const RowFuseParams & p,
                                                           unsigned * counter, float * smem) {
    constexpr int kPer = int((kRowFoldMaxD + kBlock - 1) / kBlock);              // of a row
    constexpr int kVec = int((kRows * kRowFoldMaxD / 4 + kBlock - 1) / kBlock);  // all rows
    __shared__ float warp_sums[kRowFuseMaxThreads / GEMMA_WARP];
    __shared__ bool last_block;
    const int tid = int(threadIdx.x);
    const int64_t d = p.d, n4 = p.rows * p.d / 4;
    float * as = smem;           // a, normalized in place; then x
    float * hs = smem + 4 * n4;  // h_in, then h_out
    const bool has_w1 = p.norm1 && p.w1_type != ElemType::none;
    const bool has_w2 = p.x && p.w2_type != ElemType::none;
    float w[kPer];  // w1, later w2: a thread's elements of the norm weight
    {
        float4 va[kVec], vh[kVec];
#pragma unroll
        for (int u = 0; u < kVec; ++u) {
            const int64_t i = tid + int64_t(u) * kBlock;
            if (i < n4) {
                va[u] = reinterpret_cast<const float4 *>(p.a)[i];
                vh[u] = reinterpret_cast<const float4 *>(p.h_in)[i];
            }
        }
#pragma unroll
        for (int u = 0; u < kPer; ++u) {
            const int64_t j = tid + int64_t(u) * kBlock;
            w[u] = has_w1 && j < d ? load_elem(p.w1, j, p.w1_type) : 1.0f;
        }
#pragma unroll
        for (int u = 0; u < kVec; ++u) {
            const int64_t i = tid + int64_t(u) * kBlock;
            if (i < n4) {
                reinterpret_cast<float4 *>(as)[i] = va[u];
                reinterpret_cast<float4 *>(hs)[i] = vh[u];
            }
        }
    }
    const float scale = p.scalar ? load_elem(p.scalar, 0, p.scalar_type) : 1.0f;
    __syncthreads();  // every thread's loads have landed: this block is done reading a and h_in
    unsigned ticket = 0;
    if (tid == 0) {
        __threadfence();
        ticket = atomicAdd(counter, 1u);
    }
    for (int64_t r = 0; r < p.rows; ++r) {  // a = rms_norm(a, w1); h = (h + a) · scale
        float * a = as + r * d;
        float * h = hs + r * d;
        const float inv1 = p.norm1 ? row_fuse_inv_rms_as_kernel(a, d, p.eps1, warp_sums) : 1.0f;
#pragma unroll
        for (int u = 0; u < kPer; ++u) {
            const int64_t j = tid + int64_t(u) * kBlock;
            if (j >= d) break;
            const float av = p.norm1 ? row_fuse_scale(a[j], inv1, w[u], has_w1) : a[j];
            a[j] = av;
            h[j] = row_fuse_add(h[j], av, scale, p.scalar != nullptr);
        }
    }
#pragma unroll
    for (int u = 0; u < kPer; ++u) {  // in flight while the ticket is looked at and h summed
        const int64_t j = tid + int64_t(u) * kBlock;
        w[u] = has_w2 && j < d ? load_elem(p.w2, j, p.w2_type) : 1.0f;
    }
    if (tid == 0) {
        last_block = ticket == gridDim.x - 1u;
        if (last_block) {
            *counter = 0u;
            __threadfence();  // the other blocks' reads came before this block's writes
        }
    }
    __syncthreads();
    const bool last = last_block;
    for (int64_t r = 0; r < p.rows; ++r) {  // x = rms_norm(h, w2); the outputs, by the last block
        float * a = as + r * d;
        const float * h = hs + r * d;
        const int64_t off = r * d;
        const float inv2 = p.x ? row_fuse_inv_rms_as_kernel(h, d, p.eps2, warp_sums) : 1.0f;
#pragma unroll
        for (int u = 0; u < kPer; ++u) {
            const int64_t j = tid + int64_t(u) * kBlock;
            if (j >= d) break;
            if (last) {
                if (p.norm1) p.a[off + j] = a[j];
                p.h_out[off + j] = h[j];
            }
            if (!p.x) continue;
            const float xv = row_fuse_scale(h[j], inv2, w[u], has_w2);
            a[j] = xv;
            if (last) p.x[off + j] = xv;
        }
    }
    __syncthreads();
    return p.x ? as : hs;
}

}  // namespace gemma::cuda
