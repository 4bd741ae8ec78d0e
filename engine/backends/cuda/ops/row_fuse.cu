// row_fuse: the fused tail of a decoder sub-block (launch.h RowFuseParams), one block per row of
// d ≤ 8192: a = rms_norm(a, w1); h_out = (h_in + a) · scalar; x = rms_norm(h_out, w2). Same f32
// operations as the unfused kernels; the sums of squares are reduced in another order (f32
// rounding differences only). The math lives in row_fuse.cuh, shared with the GEMV prologue
// that replaces this kernel where a GEMV reads x right after it (fusion.h). The (round) variant
// also writes x (or h_out) as the 16-bit terms of the prefill GEMM that reads it (fusion.h);
// outputs the model discarded unread (RowFuseParams::skip, fusion.h (discard)) are not stored.
#include "backends/cuda/ops/row_fuse.cuh"
#include "backends/cuda/ops/x16.cuh"

namespace gemma::cuda {
namespace {

// 1 / sqrt(mean + eps) of the per-thread partial sums `ss` over a row of d (all threads): warp
// sums in `warp_sums` (a buffer of its own per call: no barrier for reuse), then every warp adds
// them up itself, so one barrier per call.
__device__ float block_inv_rms(float ss, int64_t d, float eps, float * warp_sums) {
    ss = gemma_warp_sum(ss);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    if (lane == 0) warp_sums[warp] = ss;
    __syncthreads();
    return row_fuse_inv_rms(warp_sums, int(blockDim.x) / GEMMA_WARP, d, eps);
}

// Each thread keeps its (at most kRowFusePer) elements in registers: every load of the row is
// issued up front, so the kernel pays about one memory latency per phase instead of one per
// element (a single decode row is latency-bound, not bandwidth-bound). With kRound, the value
// written to x (or to h_out when there is no x) is also stored as r's 16-bit terms, at the same
// index of the rows · d values. The skip flags only drop stores: every value is computed, and
// stored elsewhere, exactly as without them.
template <bool kRound>
__global__ void __launch_bounds__(kRowFuseMaxThreads)
    row_fuse_kernel(RowFuseParams p, Round16Out r) {
    row_fuse_prefetch(p);  // the norm weights stream in while the GEMV ends
    pdl_enter();
    __shared__ float warp_sums[2][kRowFuseMaxThreads / GEMMA_WARP];  // one per block_inv_rms call
    const int64_t off = int64_t(blockIdx.x) * p.d;
    float * a = p.a + off;
    const float * h_in = p.h_in + off;
    float * h_out = p.h_out + off;
    uint16_t * hi = kRound ? static_cast<uint16_t *>(r.hi) + off : nullptr;
    uint16_t * lo = kRound && r.split ? x16_lo(r, p.rows * p.d) + off : nullptr;
    const bool has_w1 = p.w1_type != ElemType::none, has_w2 = p.w2_type != ElemType::none;
    const bool store_a = p.norm1 && !(p.skip & kRowFuseSkipA), store_x = !(p.skip & kRowFuseSkipX);
    float av[kRowFusePer], hv[kRowFusePer], w1[kRowFusePer], w2[kRowFusePer];
#pragma unroll
    for (int e = 0; e < kRowFusePer; ++e) {
        int64_t j = threadIdx.x + int64_t(e) * blockDim.x;
        bool in = j < p.d;
        av[e] = in ? a[j] : 0.0f;
        hv[e] = in ? h_in[j] : 0.0f;
        w1[e] = in && has_w1 ? load_elem(p.w1, j, p.w1_type) : 1.0f;
        w2[e] = in && p.x && has_w2 ? load_elem(p.w2, j, p.w2_type) : 1.0f;
    }
    float scale = p.scalar ? load_elem(p.scalar, 0, p.scalar_type) : 1.0f;
    if (p.norm1) {
        float ss = 0.0f;
#pragma unroll
        for (int e = 0; e < kRowFusePer; ++e) ss = row_fuse_sq(ss, av[e]);
        float inv1 = block_inv_rms(ss, p.d, p.eps1, warp_sums[0]);
#pragma unroll
        for (int e = 0; e < kRowFusePer; ++e) av[e] = row_fuse_scale(av[e], inv1, w1[e], has_w1);
    }
    float ss2 = 0.0f;
#pragma unroll
    for (int e = 0; e < kRowFusePer; ++e) {
        int64_t j = threadIdx.x + int64_t(e) * blockDim.x;
        float h = row_fuse_add(hv[e], av[e], scale, p.scalar != nullptr);
        hv[e] = h;
        if (j < p.d) {
            if (store_a) a[j] = av[e];
            h_out[j] = h;
            if (kRound && !p.x) x16_store(hi, lo, j, h, r.type);
            ss2 = row_fuse_sq(ss2, h);
        }
    }
    if (!p.x) return;  // uniform over the block
    float inv2 = block_inv_rms(ss2, p.d, p.eps2, warp_sums[1]);
    float * x = p.x + off;
#pragma unroll
    for (int e = 0; e < kRowFusePer; ++e) {
        int64_t j = threadIdx.x + int64_t(e) * blockDim.x;
        if (j < p.d) {
            const float v = row_fuse_scale(hv[e], inv2, w2[e], has_w2);
            if (store_x) x[j] = v;
            if (kRound) x16_store(hi, lo, j, v, r.type);
        }
    }
}

}  // namespace

LaunchResult launch_row_fuse(const RowFuseParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.rows == 0) return nullptr;
    static_assert(kRowFuseMaxD <= int64_t(kRowFuseMaxThreads) * kRowFusePer);
    if (p.d > kRowFuseMaxD) return "row_fuse: row longer than kRowFuseMaxD";
    return launch_kernel(row_fuse_kernel<false>, unsigned(p.rows), row_fuse_threads(p.d), 0, s,
                         env, p, Round16Out{});
}

LaunchResult launch_row_fuse_round(const RowFuseRoundParams & p, gpuStream_t s,
                                   const LaunchEnv & env) {
    if (p.f.rows == 0) return nullptr;
    if (p.f.d > kRowFuseMaxD) return "row_fuse: row longer than kRowFuseMaxD";
    if (!p.r.hi || (p.r.type != ElemType::bf16 && p.r.type != ElemType::f16))
        return "row_fuse: the 16-bit output needs a buffer and a bf16 / f16 type";
    return launch_kernel(row_fuse_kernel<true>, unsigned(p.f.rows), row_fuse_threads(p.f.d), 0, s,
                         env, p.f, p.r);
}

}  // namespace gemma::cuda
