// Small-batch matmul on tensor cores (MatmulPath::mma_split / mma_lowp): x [n, k] f32 · w [m, k]ᵀ
// (bf16 / f16, PyTorch Linear layout) -> out [n, m] f32 for kGemvMaxRows < n ≤ kMmaMaxRows x rows,
// i.e. batched decode of many streams, where a step is bound by reading the weights.
// Each weight row is read from memory once, by one warp: 16-byte async copies (cp.async) two k
// stages ahead into the warp's shared ring, so many loads are in flight without registers.
// x is converted per stage into the block's shared memory as hi = round(x), lo = round(x − hi) in
// w's type (the math of round_x_kernel in ops/matmul.cu), so there is no rounding launch and no x
// scratch. Products are mma.sync m16n8k16 (f32 accumulators): 16 weight rows are the A operand,
// 8 x rows the B operand, and hi and lo go into the same accumulator (mma_split: f32 class like
// blas_split at the cost of one more mma; mma_lowp skips lo: blas_lowp's math). Small m (few row
// blocks) splits k over blocks; the partials go to scratch and a second kernel adds them in split
// order, so results never depend on timing.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_MMA_M16N8K16
namespace {

static_assert(GEMMA_WARP == 32, "mma.sync fragments are laid out over 32 lanes");

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * GEMMA_WARP;
constexpr int kBlockRows = kWarps * 16;  // weight rows per block: one 16-row A tile per warp
constexpr int kVecs = 4;                 // 16-byte weight vectors per row (2 rows) and lane a stage
constexpr int kStageK = kVecs * 32;      // k per stage: 4 lanes × 8 values × kVecs
constexpr int kChunks = kStageK / 8;     // 16-byte chunks (8 values) of a staged x row
constexpr int kBuffers = 3;              // staged x buffers (one barrier per stage: mma_kernel)
constexpr int kRing = 3;                 // weight stages per warp: the current one, two in flight
constexpr int kRingVecs = 2 * kVecs * GEMMA_WARP;  // uint4 of one warp's weight stage
constexpr int64_t kMaxSplits = 32;  // k splits at most (merge_kernel adds this many partials)

// uint4 slots of one staged x buffer: NT·8 rows × kChunks, the hi plane then the lo plane.
template <int NT, bool kLo>
constexpr int kBufferVecs = (kLo ? 2 : 1) * NT * 8 * kChunks;

// Dynamic shared memory: kBuffers x buffers, then each warp's ring of kRing weight stages.
template <int NT, bool kLo>
constexpr size_t kSmemBytes = (size_t(kBuffers) * kBufferVecs<NT, kLo> +
                               size_t(kWarps) * kRing * kRingVecs) *
                              sizeof(uint4);

// Chunk c of staged x row r sits at slot c ^ 4 (r & 1) of the row. A quarter warp (the unit of a
// 16-byte shared load) reads chunks 4u .. 4u+3 of rows r and r + 1 in mma_stage: 64 bytes of each
// row, which the swizzle puts in different halves of the 32 banks. The 8 chunks a quarter warp
// writes in store_x are one 128-byte span, permuted.
__device__ __forceinline__ int chunk_slot(int r, int c) {
    return r * kChunks + (c ^ ((r & 1) << 2));
}

template <ElemType T>
__device__ __forceinline__ uint16_t round16(float v) {
    if constexpr (T == ElemType::bf16) return gemma_f32_to_bf16(v);
    return gemma_f32_to_f16(v);
}
template <ElemType T>
__device__ __forceinline__ float widen16(uint16_t v) {
    if constexpr (T == ElemType::bf16) return gemma_bf16_to_f32(v);
    return gemma_f16_to_f32(v);
}

// A thread stages chunk column c = tid % kChunks of x rows tid / kChunks + i · kRowsPerPass. With
// kRowsPerPass even, all its rows have the parity of the first, so their slots are one base
// (chunk_slot of the first row) plus i · kRowsPerPass · kChunks.
constexpr int kRowsPerPass = kThreads / kChunks;
static_assert(kRowsPerPass % 2 == 0, "rows of one thread share their parity");

template <int NT>
struct StageX {
    static constexpr int kItems = NT * 8 / kRowsPerPass;
    static_assert(NT * 8 % kRowsPerPass == 0, "whole items per thread");
    const float * x;      // x row tid / kChunks, column 8c
    int64_t col;          // 8c
    int row, slot;        // the first row, its chunk's slot
    float4 v[kItems][2];  // 8 values per item, loaded a stage before they are stored
};

template <int NT>
__device__ __forceinline__ void stage_x_init(const MatmulParams & p, StageX<NT> & sx) {
    const int c = int(threadIdx.x) % kChunks;
    sx.row = int(threadIdx.x) / kChunks;
    sx.col = 8 * c;
    sx.x = p.x + sx.row * p.k + sx.col;
    sx.slot = chunk_slot(sx.row, c);
}

// The thread's values of x[:, k0 .. k0 + kStageK) into sx.v (zeros for rows ≥ n, columns ≥ k).
template <int NT>
__device__ __forceinline__ void load_x(const MatmulParams & p, int64_t k0, StageX<NT> & sx) {
#pragma unroll
    for (int i = 0; i < StageX<NT>::kItems; ++i) {
        sx.v[i][0] = sx.v[i][1] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (sx.row + i * kRowsPerPass < p.n && k0 + sx.col < p.k) {
            const float4 * src =
                reinterpret_cast<const float4 *>(sx.x + i * kRowsPerPass * p.k + k0);
            sx.v[i][0] = src[0];
            sx.v[i][1] = src[1];
        }
    }
}

// sx.v into a staged buffer: hi = round(x) (and lo = round(x − hi)) in w's type, two values per
// 32-bit word, the lower column in the low half.
template <ElemType T, int NT, bool kLo>
__device__ __forceinline__ void store_x(const StageX<NT> & sx, uint4 * buf) {
#pragma unroll
    for (int i = 0; i < StageX<NT>::kItems; ++i) {
        const float f[8] = {sx.v[i][0].x, sx.v[i][0].y, sx.v[i][0].z, sx.v[i][0].w,
                            sx.v[i][1].x, sx.v[i][1].y, sx.v[i][1].z, sx.v[i][1].w};
        uint32_t hi[4], lo[4];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const uint16_t h0 = round16<T>(f[2 * q]), h1 = round16<T>(f[2 * q + 1]);
            hi[q] = uint32_t(h0) | (uint32_t(h1) << 16);
            if constexpr (kLo) {
                const uint16_t l0 = round16<T>(f[2 * q] - widen16<T>(h0));
                const uint16_t l1 = round16<T>(f[2 * q + 1] - widen16<T>(h1));
                lo[q] = uint32_t(l0) | (uint32_t(l1) << 16);
            }
        }
        uint4 * dst = buf + sx.slot + i * kRowsPerPass * kChunks;
        dst[0] = make_uint4(hi[0], hi[1], hi[2], hi[3]);
        if constexpr (kLo) dst[NT * 8 * kChunks] = make_uint4(lo[0], lo[1], lo[2], lo[3]);
    }
}

// The lane's weight rows: row[h] = column 8t of row g + 8h of the warp's 16 (null past m).
// Vector u of the stage at k0 is columns k0 + 32u + 8t .. + 8 of both rows (4 lanes read 64
// contiguous bytes of a row per u); vectors at or past k_lane = k − 8t are zeros (k % 8 == 0: a
// vector is wholly in or out).
struct WeightRows {
    const uint16_t * row[2];
    int64_t k_lane;
};

// Starts the async copies of the lane's vectors of the stage at k0 into its ring slots (lane-
// private: slot (h · kVecs + u) · 32 + lane of the warp's stage), as one commit group.
__device__ __forceinline__ void copy_w(const WeightRows & wr, int64_t k0, const void * any,
                                       uint4 * ring_lane) {
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int u = 0; u < kVecs; ++u) {
            const int64_t kk = k0 + 32 * u;
            const bool in = wr.row[h] && kk < wr.k_lane;
            gemma_cp_async16(ring_lane + (h * kVecs + u) * GEMMA_WARP, in ? wr.row[h] + kk : any,
                             in ? 16 : 0);
        }
    gemma_cp_async_commit();
}

template <ElemType T>
__device__ __forceinline__ void mma16(float (&d)[4], const unsigned (&a)[4], unsigned b0,
                                      unsigned b1) {
    if constexpr (T == ElemType::bf16)
        gemma_mma_m16n8k16_bf16(d, a, b0, b1);
    else
        gemma_mma_m16n8k16_f16(d, a, b0, b1);
}

// acc[j] += the warp's 16 weight rows (A) × x rows 8j .. 8j+7 (B) over one stage. A dot product
// does not care about the order of k, so inside each 32-column group both operands use the same
// permutation: lane (g, t) holds columns 8t .. 8t+7 of weight rows g, g + 8 (its ring vectors)
// and of x row 8j + g (one 16-byte shared load) and feeds columns 8t .. 8t+3 to the first mma as
// the A / B columns 2t, 2t+1, 2t+8, 2t+9 of the fragment layout (compat/cuda.h), 8t+4 .. 8t+7 to
// the second. Each x term (hi, then lo) runs over all tiles: consecutive mmas use different
// accumulators.
template <ElemType T, int NT, bool kLo>
__device__ __forceinline__ void mma_stage(const uint4 * ring_lane, const uint4 * buf, int lane,
                                          float (&acc)[NT][4]) {
    // chunk_slot(8j + g, 4u + t) = (8j + g) · kChunks + 4 (u ^ (g & 1)) + t.
    const int g = lane / 4, t = lane % 4;
    const uint4 * base = buf + g * kChunks + t;
#pragma unroll
    for (int u = 0; u < kVecs; ++u) {
        const uint4 w0 = ring_lane[u * GEMMA_WARP], w1 = ring_lane[(kVecs + u) * GEMMA_WARP];
        const unsigned a0[4] = {w0.x, w1.x, w0.y, w1.y};
        const unsigned a1[4] = {w0.z, w1.z, w0.w, w1.w};
        const uint4 * col = base + 4 * (u ^ (g & 1));
#pragma unroll
        for (int term = 0; term < (kLo ? 2 : 1); ++term) {
            uint4 b[NT];
#pragma unroll
            for (int j = 0; j < NT; ++j) b[j] = col[(term * NT + j) * 8 * kChunks];
#pragma unroll
            for (int j = 0; j < NT; ++j) mma16<T>(acc[j], a0, b[j].x, b[j].y);
#pragma unroll
            for (int j = 0; j < NT; ++j) mma16<T>(acc[j], a1, b[j].z, b[j].w);
        }
    }
}

// The accumulators hold D[r][c] = Σ w[row0 + r] · x[8j + c] with, per lane, r = g, g + 8 and
// c = 2t, 2t + 1; D[r][c] goes to dst[(8j + c) · m + row0 + r] (skipped past m or n).
template <int NT>
__device__ __forceinline__ void store_tile(const float (&acc)[NT][4], float * dst, int64_t n,
                                           int64_t m, int64_t row0, int lane) {
    const int g = lane / 4, t = lane % 4;
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int64_t row = row0 + g + 8 * (i / 2), xr = 8 * j + 2 * t + i % 2;
            if (row < m && xr < n) dst[xr * m + row] = acc[j][i];
        }
}

// One block: kBlockRows weight rows (16 per warp) over the stages [s0, s1) of split blockIdx.y.
// Iteration s starts the weight copies of stage s + 2, converts x of s + 1 (loaded into registers
// in iteration s − 1) into its buffer, loads x of s + 2, waits for its own copies of stage s and
// at the barrier, and multiplies stage s. Ring slots are lane-private, so the slot of s + 2 (last
// read by the lane in iteration s − 1) needs no barrier. Three x buffers make one barrier per
// stage enough: the buffer of s + 1, written in iteration s, was last read in iteration s − 2,
// which every warp finished before it reached the barrier of iteration s − 1 (and the writer is
// past that barrier). splits == 1: out is written; else the partial [split][n][m] in p.scratch.
template <ElemType T, int NT, bool kLo>
__global__ void __launch_bounds__(kThreads) mma_kernel(MatmulParams p, int32_t splits) {
    pdl_enter();
    extern __shared__ uint4 smem[];
    const int warp = int(threadIdx.x) / GEMMA_WARP, lane = int(threadIdx.x) % GEMMA_WARP;
    const int64_t row0 = int64_t(blockIdx.x) * kBlockRows + warp * 16;
    const int64_t stages = (p.k + kStageK - 1) / kStageK;
    const int64_t s0 = int64_t(blockIdx.y) * stages / splits;
    const int64_t s1 = int64_t(blockIdx.y + 1) * stages / splits;
    WeightRows wr;
    wr.k_lane = p.k - 8 * (lane % 4);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int64_t r = row0 + lane / 4 + 8 * h;
        wr.row[h] =
            r < p.m ? static_cast<const uint16_t *>(p.w) + r * p.k + 8 * (lane % 4) : nullptr;
    }
    uint4 * ring = smem + kBuffers * kBufferVecs<NT, kLo> + warp * kRing * kRingVecs + lane;
    auto ring_at = [&](int64_t s) { return ring + ((s - s0) % kRing) * kRingVecs; };
    auto buffer = [&](int64_t s) { return smem + ((s - s0) % kBuffers) * kBufferVecs<NT, kLo>; };

    copy_w(wr, s0 * kStageK, p.w, ring_at(s0));
    if (s0 + 1 < s1)
        copy_w(wr, (s0 + 1) * kStageK, p.w, ring_at(s0 + 1));
    else
        gemma_cp_async_commit();  // an empty group: stage s is always 2 groups back
    StageX<NT> sx;
    stage_x_init(p, sx);
    load_x(p, s0 * kStageK, sx);
    store_x<T, NT, kLo>(sx, buffer(s0));
    if (s0 + 1 < s1) load_x(p, (s0 + 1) * kStageK, sx);

    float acc[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    for (int64_t s = s0; s < s1; ++s) {
        if (s + 2 < s1)
            copy_w(wr, (s + 2) * kStageK, p.w, ring_at(s + 2));
        else
            gemma_cp_async_commit();  // an empty group: stage s is always 2 groups back
        if (s + 1 < s1) store_x<T, NT, kLo>(sx, buffer(s + 1));
        if (s + 2 < s1) load_x(p, (s + 2) * kStageK, sx);
        gemma_cp_async_wait<2>();
        __syncthreads();
        mma_stage<T, NT, kLo>(ring_at(s), buffer(s), lane, acc);
    }
    float * dst =
        splits == 1 ? p.out : static_cast<float *>(p.scratch) + int64_t(blockIdx.y) * p.n * p.m;
    store_tile<NT>(acc, dst, p.n, p.m, row0, lane);
}

// out = Σ_s partial[s] over the splits in split order (the same sum whichever block ran first).
__global__ void __launch_bounds__(256) merge_kernel(MatmulParams p, int32_t splits) {
    pdl_enter();
    const float * part = static_cast<const float *>(p.scratch);
    const int64_t count = p.n * p.m;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x) {
        float sum = 0.0f;
#pragma unroll 8
        for (int32_t s = 0; s < splits; ++s) sum += part[s * count + i];
        p.out[i] = sum;
    }
}

// The kernel instance for these operands: its dynamic shared memory (opted in once per instance;
// attr is that call's result, an error where the device has less shared memory) and how many of
// its blocks an SM holds. Found once: matmul() asks for every record.
struct MmaKernel {
    void (*fn)(MatmulParams, int32_t);
    size_t smem;
    gpuError_t attr;
    int per_sm;
};

template <ElemType T, int NT, bool kLo>
MmaKernel mma_instance() {
    static const MmaKernel k = [] {
        MmaKernel r{mma_kernel<T, NT, kLo>, kSmemBytes<NT, kLo>, gpuSuccess, 1};
        r.attr = gpu_set_max_dynamic_smem(r.fn, int(r.smem));
        if (r.attr != gpuSuccess ||
            gpuOccupancyMaxActiveBlocksPerMultiprocessor(&r.per_sm, r.fn, kThreads, r.smem) !=
                gpuSuccess ||
            r.per_sm < 1) {
            (void)gpuGetLastError();  // not left for the next launch to report
            r.per_sm = 1;
        }
        return r;
    }();
    return k;
}

// NT = 8-row x tiles: 2, 4, 6 or 8 (an even count: whole staging items per thread).
template <ElemType T, bool kLo>
MmaKernel mma_instance_n(int64_t n) {
    if (n <= 16) return mma_instance<T, 2, kLo>();
    if (n <= 32) return mma_instance<T, 4, kLo>();
    if (n <= 48) return mma_instance<T, 6, kLo>();
    return mma_instance<T, 8, kLo>();
}

// lo: x split into hi + lo (mma_split), else rounded once (mma_lowp).
MmaKernel pick(const MatmulParams & p, bool lo) {
    if (p.type == ElemType::bf16)
        return lo ? mma_instance_n<ElemType::bf16, true>(p.n)
                  : mma_instance_n<ElemType::bf16, false>(p.n);
    return lo ? mma_instance_n<ElemType::f16, true>(p.n)
              : mma_instance_n<ElemType::f16, false>(p.n);
}

int64_t row_blocks(const MatmulParams & p) { return (p.m + kBlockRows - 1) / kBlockRows; }

// k splits: the count that finishes first when blocks run in waves of the resident count, each
// taking its stages plus kBlockFill stage times to fill its pipeline (the fewest splits on a tie:
// less to merge). E4B on 132 SMs, one block each: 2048×2560 -> 7 splits (112 blocks), 10240×2560
// -> 3 (240), 262144×2560 -> 1. A function of the operands and the device only, so the scratch
// sized at record time fits the launch.
int64_t splits_for(const MatmulParams & p, const LaunchEnv & env, const MmaKernel & k) {
    constexpr int64_t kBlockFill = 2;
    const int64_t stages = (p.k + kStageK - 1) / kStageK, rows = row_blocks(p);
    const int64_t resident = int64_t(k.per_sm) * env.n_sms;
    int64_t best = 1, best_time = INT64_MAX;
    for (int64_t splits = 1; splits <= std::min(stages, kMaxSplits); ++splits) {
        const int64_t waves = (rows * splits + resident - 1) / resident;
        const int64_t time = waves * ((stages + splits - 1) / splits + kBlockFill);
        if (time < best_time) best = splits, best_time = time;
    }
    return best;
}

bool aligned16(const void * ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

}  // namespace

bool matmul_mma_ok(const MatmulParams & p) {
    const bool w16 = p.type == ElemType::bf16 || p.type == ElemType::f16;
    if (!w16 || p.n <= kGemvMaxRows || p.n > kMmaMaxRows || p.k <= 0 || p.k % 8 != 0 ||
        !aligned16(p.x) || !aligned16(p.w))
        return false;
    // The shared memory both variants need must be available (sm_86 / sm_89 opt in to 99 KiB).
    return pick(p, true).attr == gpuSuccess && pick(p, false).attr == gpuSuccess;
}

size_t matmul_mma_scratch_bytes(const MatmulParams & p, const LaunchEnv & env) {
    const int64_t splits = splits_for(p, env, pick(p, p.path == MatmulPath::mma_split));
    return splits > 1 ? size_t(splits * p.n * p.m) * sizeof(float) : 0;
}

LaunchResult launch_matmul_mma(const MatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0 || p.m == 0) return nullptr;
    const MmaKernel k = pick(p, p.path == MatmulPath::mma_split);
    if (k.attr != gpuSuccess) return gpuGetErrorString(k.attr);
    const int64_t splits = splits_for(p, env, k);
    if (splits > 1 && !p.scratch) return "matmul_mma: split k needs scratch for the partials";
    const dim3 grid(unsigned(row_blocks(p)), unsigned(splits));
    if (LaunchResult e = launch_kernel(k.fn, grid, kThreads, k.smem, s, env, p, int32_t(splits)))
        return e;
    if (splits == 1) return nullptr;
    return launch_kernel(merge_kernel, grid_blocks(p.n * p.m, 256, env), 256, 0, s, env, p,
                         int32_t(splits));
}

#else  // no mma.sync m16n8k16 in this build (compat/hip.h): never chosen

bool matmul_mma_ok(const MatmulParams &) { return false; }

size_t matmul_mma_scratch_bytes(const MatmulParams &, const LaunchEnv &) { return 0; }

LaunchResult launch_matmul_mma(const MatmulParams &, gpuStream_t, const LaunchEnv &) {
    return "matmul_mma: not built (no mma.sync m16n8k16 in this build); use the BLAS paths";
}

#endif

}  // namespace gemma::cuda
