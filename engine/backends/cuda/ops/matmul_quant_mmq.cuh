// MMQ's block layout and data movement (ops/matmul_quant_mmq.cu, its only user): the block and
// pipeline constants, the shared-memory stage layout, the scratch layout, the int8 rounding of x
// (the GEMV's math), the work of a block, and the copies of a stage into shared memory: weights
// by cp.async, x either by cp.async from mmq_round_x's scratch or rounded by the block itself.
#pragma once

#include "backends/cuda/ops/common.cuh"

#if GEMMA_HAS_MMA_INT8
namespace gemma::cuda::mmq {

static_assert(GEMMA_WARP == 32, "mma.sync fragments are laid out over 32 lanes");

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / GEMMA_WARP;
constexpr int kRows = 16 * kWarps;  // weight rows per block: one mma M (16) per warp
constexpr int kGroups = 8;          // x groups (mma k-steps) per pipeline stage
constexpr int kStages = 3;          // stages in shared memory (two loading while one is used)
// Shared rows are padded by 16 bytes so the eight 16-byte rows of an ldmatrix hit all 32 banks.
constexpr int kWRowBytes = kGroups * 16 + 16;  // a weight row: one 16-byte chunk per group
constexpr int kScaleRowBytes = 32;             // two 16-byte windows over a row's f16 scales
// int → float without a conversion instruction: the mma starts each sum at the bits of 1.5·2²³,
// so for |sum| < 2²² the s32 result read as f32 is 1.5·2²³ + sum exactly (|sum| ≤ 16 · 128 · 127
// for q8_0, 32 · 8 · 127 for q4_0).
constexpr int kBias = 0x4B400000;
constexpr float kBiasValue = 12582912.0f;

// Sizes for weight type T with NT tiles of 8 x rows; byte offsets within one pipeline stage.
template <ElemType T, int NT>
struct Mmq {
    static constexpr int kG = T == ElemType::q8_0 ? 16 : 32;  // x group = mma K (values)
    static constexpr int kStageValues = kGroups * kG;         // k values per stage
    static constexpr int kBlocks = kStageValues / 32;         // weight blocks (scales) per stage
    static constexpr int kNp = 8 * NT;                        // x rows incl. padding
    static constexpr int kXRowBytes = kStageValues + 16;
    static constexpr int kOffScales = kRows * kWRowBytes;
    static constexpr int kOffX = kOffScales + kRows * kScaleRowBytes;
    static constexpr int kOffXd = kOffX + kNp * kXRowBytes;
    static constexpr int kStageBytes = kOffXd + kGroups * kNp * 4;
    static constexpr int kBytes = kStages * kStageBytes;
    // Cluster sums (LaunchEnv::mmq_cluster): a block's partial tile, f32 [kNp][kSumStride] (x
    // row, weight row), over the pipeline buffers once they are free. The stride of kRows + 4
    // puts the 32 values of one acc register of a warp (lanes g + 8t: weight rows g, x rows 2t
    // apart) in 32 different banks.
    static constexpr int kSumStride = kRows + 4;
    static constexpr int kSumBytes = kNp * kSumStride * 4;
    static_assert(kSumBytes <= kBytes, "the partial tile fits in the pipeline's shared memory");
};

// Splits of k summed through a cluster: one block per split, at most the portable cluster size.
#if GEMMA_HAS_CLUSTERS
constexpr int kClusterMaxSplits = kGpuMaxPortableCluster;
#endif

__host__ __device__ constexpr size_t align256(size_t b) { return (b + 255) / 256 * 256; }

// Where mmq's scratch parts live (matmul_quant_mmq_scratch_bytes): xq, xd, partial sums.
struct MmqScratch {
    int8_t * xq;
    float * xd;
    float * part;  // [k_splits, n, m] when k_splits > 1
};

__host__ __device__ inline MmqScratch mmq_scratch(void * base, int64_t np, int64_t k,
                                                  int64_t group) {
    uint8_t * b = static_cast<uint8_t *>(base);
    const size_t xq_bytes = align256(size_t(np * k));
    const size_t xd_bytes = align256(size_t(k / group * np) * 4);
    return {reinterpret_cast<int8_t *>(b), reinterpret_cast<float *>(b + xq_bytes),
            reinterpret_cast<float *>(b + xq_bytes + xd_bytes)};
}

// ---- x rounded to int8 ----

// The GEMV's quantize_x_shared operations (ops/matmul_quant_gemv.cu) on a group with absolute
// maximum amax: d = amax · (1/127), and each value v becomes the low byte of v · (127 / amax) +
// 1.5·2²³, i.e. v · 127 / amax rounded to nearest even. amax is a max (exact; fmaxf skips NaN in
// any order), so any grouping of threads gives the same bytes.
__device__ __forceinline__ float x8_abs_max(float4 v) {
    return fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w)));
}
__device__ __forceinline__ float x8_inv_scale(float amax) {
    return amax > 0.0f ? 127.0f / amax : 0.0f;
}
__device__ __forceinline__ float x8_scale(float amax) { return amax * (1.0f / 127.0f); }
// The four values of v rounded with id = x8_inv_scale(amax), as int8 (v.x in the low byte).
__device__ __forceinline__ int x8_word(float4 v, float id) {
    const int b0 = __float_as_int(fmaf(v.x, id, kBiasValue)),
              b1 = __float_as_int(fmaf(v.y, id, kBiasValue)),
              b2 = __float_as_int(fmaf(v.z, id, kBiasValue)),
              b3 = __float_as_int(fmaf(v.w, id, kBiasValue));
    return gemma_byte_perm(gemma_byte_perm(b0, b1, 0x0040u), gemma_byte_perm(b2, b3, 0x0040u),
                           0x5410u);
}

// ---- a block's work and the copies of a stage ----

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// What a block works on: weight rows [row0, row0 + kRows) (clamped to m − 1 for loads, so a
// partial last tile reads valid rows and writes none of the extra ones), pipeline stages
// [s_begin, s_end) of kGroups groups each (a split of k; if empty, zeros are written).
struct Work {
    const uint8_t * wq;   // quants plane [m, qbytes]
    const uint16_t * ws;  // f16 scales plane [m, k / 32]
    const int8_t * xq;    // [np, k] (rounded by mmq_round_x)
    const float * xd;     // [k / G, np]
    const float * x;      // [n, k] f32 (own x: rounded by the block)
    int64_t row0, m, k, n, qbytes, nb, n_groups;
    int s_begin, s_end;
};

// Groups of stage s that exist (the last stage of k may be partial).
__device__ __forceinline__ int stage_groups(const Work & wk, int s) {
    return int(min64(kGroups, wk.n_groups - int64_t(s) * kGroups));
}

// Issues this thread's cp.async copies of stage s's weights (quants and scales) into buf; the
// caller closes the group. Groups past the end of k are neither copied nor read. Weights are
// never written by a kernel: these may be issued before gemma_pdl_wait().
template <ElemType T, int NT>
__device__ __forceinline__ void load_weights(const Work & wk, int s, uint8_t * buf) {
    using L = Mmq<T, NT>;
    const int64_t g0 = int64_t(s) * kGroups;
    const int valid = stage_groups(wk, s);
    for (int i = threadIdx.x; i < kRows * kGroups; i += kThreads) {  // quants: a chunk per group
        const int r = i / kGroups, c = i % kGroups;
        const int64_t row = min64(wk.row0 + r, wk.m - 1);
        if (c < valid)
            gemma_cp_async16(buf + r * kWRowBytes + c * 16, wk.wq + row * wk.qbytes + (g0 + c) * 16,
                             16);
    }
    // Scales: a row's run of the stage's f16 scales starts at element e of the plane, 16-byte
    // aligned only when e % 8 == 0, so the two aligned 8-scale windows from e & ~7 are copied
    // (reading nothing past the run's end); in shared memory the run starts at half e & 7.
    static_assert(kThreads == 2 * kRows, "one scale window per thread");
    const int r = threadIdx.x / 2, h = threadIdx.x % 2;
    const int64_t row = min64(wk.row0 + r, wk.m - 1);
    const int64_t e = row * wk.nb + int64_t(s) * L::kBlocks;
    const int64_t end = e + (valid * L::kG + 31) / 32;
    const int64_t a = (e & ~int64_t(7)) + 8 * h;
    const int64_t bytes = min64(16, (end - a) * 2);
    if (bytes > 0)
        gemma_cp_async16(buf + L::kOffScales + r * kScaleRowBytes + h * 16, wk.ws + a, int(bytes));
}

// The cp.async copies of stage s's rounded x (xq rows, xd groups) from mmq_round_x's scratch.
template <ElemType T, int NT>
__device__ __forceinline__ void load_x(const Work & wk, int s, uint8_t * buf) {
    using L = Mmq<T, NT>;
    const int64_t g0 = int64_t(s) * kGroups;
    const int valid = stage_groups(wk, s);
    constexpr int kXChunks = L::kStageValues / 16;  // 16-byte chunks of an x row per stage
    for (int i = threadIdx.x; i < L::kNp * kXChunks; i += kThreads) {
        const int r = i / kXChunks, c = i % kXChunks;
        if (c < valid * L::kG / 16)
            gemma_cp_async16(buf + L::kOffX + r * L::kXRowBytes + c * 16,
                             wk.xq + r * wk.k + g0 * L::kG + c * 16, 16);
    }
    for (int i = threadIdx.x; i < valid * L::kNp / 4; i += kThreads)  // xd: contiguous groups
        gemma_cp_async16(buf + L::kOffXd + i * 16, wk.xd + g0 * L::kNp + i * 4, 16);
}

// Own x: thread i takes x row i / kGroups, group i % kGroups of each stage (kNp · kGroups ≤
// kThreads for NT ≤ 4). load_own_x fetches the f32 values of stage s (zeros for rows ≥ n,
// nothing for groups past k); store_own_x rounds them into buf's xq / xd as mmq_round_x would.
template <ElemType T, int NT>
struct OwnX {
    float4 v[Mmq<T, NT>::kG / 4];
};

template <ElemType T, int NT>
__device__ __forceinline__ void load_own_x(const Work & wk, int s, OwnX<T, NT> & x) {
    using L = Mmq<T, NT>;
    const int row = threadIdx.x / kGroups;
    const int64_t g = int64_t(s) * kGroups + threadIdx.x % kGroups;
    const bool in = row < wk.n && g < wk.n_groups;
    const float4 * src = reinterpret_cast<const float4 *>(wk.x + (in ? row * wk.k + g * L::kG : 0));
#pragma unroll
    for (int u = 0; u < L::kG / 4; ++u) x.v[u] = in ? src[u] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
}

template <ElemType T, int NT>
__device__ __forceinline__ void store_own_x(const Work & wk, int s, const OwnX<T, NT> & x,
                                            uint8_t * buf) {
    using L = Mmq<T, NT>;
    const int row = threadIdx.x / kGroups, c = threadIdx.x % kGroups;
    if (row >= L::kNp || c >= stage_groups(wk, s)) return;
    float amax = x8_abs_max(x.v[0]);  // (not from 0: an all-NaN group keeps amax NaN, as there)
#pragma unroll
    for (int u = 1; u < L::kG / 4; ++u) amax = fmaxf(amax, x8_abs_max(x.v[u]));
    const float id = x8_inv_scale(amax);
    int4 * dst = reinterpret_cast<int4 *>(buf + L::kOffX + row * L::kXRowBytes + c * L::kG);
#pragma unroll
    for (int u = 0; u < L::kG / 16; ++u)
        dst[u] = make_int4(x8_word(x.v[4 * u], id), x8_word(x.v[4 * u + 1], id),
                           x8_word(x.v[4 * u + 2], id), x8_word(x.v[4 * u + 3], id));
    reinterpret_cast<float *>(buf + L::kOffXd)[c * L::kNp + row] = x8_scale(amax);
}

// Block (x, y)'s work: weight tile x; split y of p.k_splits takes stages [y · S / splits,
// (y + 1) · S / splits) of the S stages of k (sizes differ by at most one, the larger last).
template <ElemType T, int NT>
__device__ __forceinline__ Work block_work(const QuantMatmulParams & p, const MmqScratch & sc) {
    Work w;
    w.wq = static_cast<const uint8_t *>(p.w);
    w.qbytes = T == ElemType::q8_0 ? p.k : p.k / 2;
    w.ws = reinterpret_cast<const uint16_t *>(w.wq + p.m * w.qbytes);
    w.xq = sc.xq;
    w.xd = sc.xd;
    w.x = p.x;
    w.row0 = int64_t(blockIdx.x) * kRows;
    w.m = p.m;
    w.k = p.k;
    w.n = p.n;
    w.nb = p.k / 32;
    w.n_groups = p.k / Mmq<T, NT>::kG;
    const int64_t stages = (w.n_groups + kGroups - 1) / kGroups;
    w.s_begin = int(blockIdx.y * stages / p.k_splits);
    w.s_end = int((blockIdx.y + 1) * stages / p.k_splits);
    return w;
}

}  // namespace gemma::cuda::mmq
#endif
