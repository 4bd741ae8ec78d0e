// Batched-decode matmul ("MMQ", llama.cpp's idea) with q8_0 / q4_0 weights in the planar layout
// of ops/matmul_quant.cu for 9..kMmqMaxRows x rows on int8 tensor cores: x is rounded to int8
// (the GEMV's x8 math), every weight byte is read from memory once, integer products are
// mma.sync per x group, and each (weight row, x row, group) int32 sum is scaled in f32.
//
//   x [n, k] f32, w [m, k] q8_0 / q4_0 -> out [n, m] f32
//   out[r][i] = Σ_groups w_scale(i, block) · x_scale(r, group) · Σ_group wq(i, j) · xq(r, j)
//
// Kernels, in stream order (block layout and staging: ops/matmul_quant_mmq.cuh):
// 1. mmq_round_x, unless the blocks round x themselves (LaunchEnv::mmq_own_x_tiles, 0 by
//    default: n ≤ 32 and at most that many weight tiles): x -> xq int8 [np, k] (np = x rows padded
//    to 8 · NT, pad rows zero) and xd f32 [k / G, np] (G = 16 values per group for q8_0, 32 for
//    q4_0, as the GEMV), in scratch.
// 2. mmq_kernel: a block takes kRows weight rows × one k range (grid tiles × k_splits, one wave
//    of resident blocks; the k splits differ by at most one stage). A kStages-deep cp.async
//    pipeline stages kGroups x groups at a time of the weight rows (quants + f16 scales) and of
//    xq / xd in shared memory; the first stages' weights are requested before the wait for the
//    previous kernel (no kernel writes weights). With own x, each block rounds its k range of x
//    itself, one stage ahead, into the stage's xq / xd (mmq_round_x's f32 operations: the same
//    bytes). Warp w owns weight rows 16w .. 16w + 15 and every x row: per group one mma (A = 16
//    weight rows, B = 8 x rows; K = G: m16n8k16 for q8_0, m16n8k32 for q4_0 with its nibbles
//    unpacked to value − 8 in registers), then acc += (w_scale · x_scale) · float(sum) in f32,
//    the GEMV's expression. With k_splits > 1 every block writes its partial sums to scratch;
//    with LaunchEnv::mmq_last_block (off by default: slower on the H200, docs/perf.md round 7)
//    the last block of a tile to finish (a counter per tile, LaunchEnv::split_counters) adds
//    the splits, split 0 first, into out and resets the counter. With LaunchEnv::mmq_cluster
//    (sm_90+, off by default) the k splits of a tile form one thread-block cluster: each block
//    leaves its partial tile in its own shared memory and adds a 1/k_splits share of the tile
//    from every block's (distributed shared memory), split 0 first, into out.
// 3. mmq_sum_splits, for k_splits > 1 without the last-block or cluster sums: the same additions
//    in the same order as a kernel of its own (the same bits).
#include <algorithm>
#include <atomic>
#include <type_traits>

#include "backends/cuda/ops/attention_split.cuh"  // last_split_block
#include "backends/cuda/ops/common.cuh"
#include "backends/cuda/ops/matmul_quant_mmq.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_MMA_INT8
namespace {

using namespace mmq;  // the block layout and staging (ops/matmul_quant_mmq.cuh)

// ---- 1. x rounded to int8 ----

// x -> xq, xd in scratch: G / 4 consecutive threads per group of G values, one float4 each,
// amax by shuffles. Rows n .. np − 1 become zeros.
template <int G>
__global__ void mmq_round_x_kernel(const float * x, int * xq, float * xd, int64_t n, int64_t k,
                                   int64_t np) {
    pdl_enter();
    constexpr int kLanes = G / 4;
    const int64_t row4 = k / 4, total = np * row4;  // float4s
    const float4 * x4 = reinterpret_cast<const float4 *>(x);
    for (int64_t base = int64_t(blockIdx.x) * blockDim.x; base < total;  // uniform: shuffles
         base += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = base + threadIdx.x, row = i / row4;
        const bool ok = i < total;
        const float4 v = ok && row < n ? x4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        float amax = x8_abs_max(v);
#pragma unroll
        for (int o = 1; o < kLanes; o *= 2) amax = fmaxf(amax, gemma_shfl_xor(amax, o));
        if (ok) {
            xq[i] = x8_word(v, x8_inv_scale(amax));
            if (threadIdx.x % kLanes == 0) xd[(i % row4) / kLanes * np + row] = x8_scale(amax);
        }
    }
}

// ---- 2. the tensor-core kernel ----

// q4_0 nibbles (0..15, four per register) -> the int8 values nibble − 8: per byte v + 0x78
// stays below 0x88 (no carry into the next byte), and the xor with 0x80 adds −0x80 (mod 256).
__device__ __forceinline__ unsigned q4_lo(unsigned v) {
    return ((v & 0x0f0f0f0fu) + 0x78787878u) ^ 0x80808080u;
}
__device__ __forceinline__ unsigned q4_hi(unsigned v) { return q4_lo(v >> 4); }

// acc (x rows 2t, 2t + 1 of an 8-row tile × weight rows g, g + 8) += one group's sums d (biased,
// see kBias) times the weight scales dw0 (row g), dw1 (row g + 8) and the x scales dx: the
// GEMV's acc += w_scale · x_scale · float(sum).
__device__ __forceinline__ void scale_add(float (&acc)[4], const int (&d)[4], float dw0, float dw1,
                                          float2 dx) {
    acc[0] += dw0 * dx.x * (__int_as_float(d[0]) - kBiasValue);
    acc[1] += dw0 * dx.y * (__int_as_float(d[1]) - kBiasValue);
    acc[2] += dw1 * dx.x * (__int_as_float(d[2]) - kBiasValue);
    acc[3] += dw1 * dx.y * (__int_as_float(d[3]) - kBiasValue);
}

// Stage s (in buf) into this warp's acc[j] (x rows 8j .. 8j + 7). Groups go in pairs: one
// ldmatrix.x4 gives A of two groups; B comes by ldmatrix.x4 from the x rows (row = x row,
// 16 bytes = 16 values: word t is B[4t .. 4t+3][g]): for q8_0 two tiles × two groups, for q4_0
// two tiles × the low / high 16 values of one group.
template <ElemType T, int NT>
__device__ __forceinline__ void compute_stage(const Work & wk, int s, const uint8_t * buf,
                                              float (&acc)[NT][4]) {
    using L = Mmq<T, NT>;
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int g = lane / 4, t = lane % 4;
    const int valid = stage_groups(wk, s);
    // This lane's weight rows g and g + 8 of the warp: their scale runs (see load_weights).
    const int64_t e_stage = int64_t(s) * L::kBlocks;
    const int64_t row_g = min64(wk.row0 + 16 * warp + g, wk.m - 1);
    const int64_t row_g8 = min64(wk.row0 + 16 * warp + g + 8, wk.m - 1);
    const uint16_t * scales = reinterpret_cast<const uint16_t *>(buf + L::kOffScales);
    const uint16_t * sc0 =
        scales + (16 * warp + g) * (kScaleRowBytes / 2) + ((row_g * wk.nb + e_stage) & 7);
    const uint16_t * sc1 =
        scales + (16 * warp + g + 8) * (kScaleRowBytes / 2) + ((row_g8 * wk.nb + e_stage) & 7);
    // ldmatrix lane addresses: lanes 8q .. 8q + 7 give the eight rows of matrix q.
    const int q = lane / 8, r8 = lane % 8;
    const uint8_t * a_lane = buf + (16 * warp + r8 + 8 * (q & 1)) * kWRowBytes + 16 * (q >> 1);
    const uint8_t * x_lane =
        T == ElemType::q8_0
            ? buf + L::kOffX + (8 * (q & 1) + r8) * L::kXRowBytes + 16 * (q >> 1)   // tile, group
            : buf + L::kOffX + (8 * (q >> 1) + r8) * L::kXRowBytes + 16 * (q & 1);  // tile, half
    const float2 * xd = reinterpret_cast<const float2 *>(buf + L::kOffXd) + t;
#pragma unroll
    for (int gp = 0; gp < kGroups; gp += 2) {
        if (gp >= valid) break;
        const bool second = gp + 1 < valid;  // uniform over the block
        // a[2h], a[2h + 1]: word t of rows g, g + 8 in group gp + h.
        unsigned a[4];
        gemma_ldmatrix_x4(a, a_lane + gp * 16);
        float dw0[2], dw1[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int blk = T == ElemType::q8_0 ? (gp + h) / 2 : gp + h;
            dw0[h] = gemma_f16_to_f32(sc0[blk]);
            dw1[h] = gemma_f16_to_f32(sc1[blk]);
        }
        if constexpr (T == ElemType::q8_0) {
#pragma unroll
            for (int j = 0; j < NT; j += 2) {
                unsigned b[4];  // b[2h + jj]: tile j + jj, group gp + h
                gemma_ldmatrix_x4(b, x_lane + j * 8 * L::kXRowBytes + gp * 16);
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    if (h == 1 && !second) break;
#pragma unroll
                    for (int jj = 0; jj < 2; ++jj) {
                        int d[4];
                        gemma_mma_m16n8k16_s8_from(d, a[2 * h], a[2 * h + 1], b[2 * h + jj], kBias);
                        scale_add(acc[j + jj], d, dw0[h], dw1[h],
                                  xd[(gp + h) * (L::kNp / 2) + 4 * (j + jj)]);
                    }
                }
            }
        } else {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                if (h == 1 && !second) break;
                // Byte i of a chunk holds values i (low nibble) and i + 16 (high).
                const unsigned aq[4] = {q4_lo(a[2 * h]), q4_lo(a[2 * h + 1]), q4_hi(a[2 * h]),
                                        q4_hi(a[2 * h + 1])};
#pragma unroll
                for (int j = 0; j < NT; j += 2) {
                    unsigned b[4];  // b[2jj], b[2jj + 1]: tile j + jj, values 0-15 / 16-31
                    gemma_ldmatrix_x4(b, x_lane + j * 8 * L::kXRowBytes + (gp + h) * 32);
#pragma unroll
                    for (int jj = 0; jj < 2; ++jj) {
                        int d[4];
                        gemma_mma_m16n8k32_s8_from(d, aq, b[2 * jj], b[2 * jj + 1], kBias);
                        scale_add(acc[j + jj], d, dw0[h], dw1[h],
                                  xd[(gp + h) * (L::kNp / 2) + 4 * (j + jj)]);
                    }
                }
            }
        }
    }
}

// Calls f(j, e, i) for each output this thread holds in acc[j][e] (after compute_stage) that
// exists: x row 8j + 2t + (e & 1), weight row r0 = row0 + 16 · warp + g (e < 2) or r0 + 8,
// i = x row · m + weight row.
template <int NT, class F>
__device__ __forceinline__ void for_each_output(int64_t n, int64_t m, int64_t row0, F && f) {
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int64_t r0 = row0 + 16 * warp + lane / 4;
#pragma unroll
    for (int j = 0; j < NT; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int64_t x = 8 * j + 2 * (lane % 4) + (e & 1), r = r0 + (e < 2 ? 0 : 8);
            if (x < n && r < m) f(j, e, x * m + r);
        }
    }
}

// The last block of a tile: out = Σ_s part[s] (part [k_splits, n, m]) over the tile's rows
// [row0, row0 + kRows) × x rows [0, n), split 0 first (mmq_sum_splits' order: the same bits).
// Thread i takes weight row row0 + i % kRows of x rows i / kRows + 2q (a warp reads 32
// consecutive values), kPass of them at a time, with the loads of kChunk splits (64 per thread:
// the main loop's registers are free by now) issued before any is added.
template <int NT>
__device__ __forceinline__ void sum_splits_tile(const float * part, float * out, int64_t n,
                                                int64_t m, int64_t row0, int splits) {
    static_assert(kThreads == 2 * kRows, "two x rows per pass");
    constexpr int kPer = 8 * NT / 2;  // x rows per thread
    constexpr int kPass = kPer < 16 ? kPer : 16;
    constexpr int kChunk = 64 / kPass;
    const int64_t r = row0 + threadIdx.x % kRows;
    if (r >= m) return;
    const int64_t count = n * m;
    for (int q0 = 0; q0 < kPer; q0 += kPass) {
        const int64_t x0 = threadIdx.x / kRows + 2 * q0, off = x0 * m + r;
        float sum[kPass];
        for (int s0 = 0; s0 < splits; s0 += kChunk) {
            float v[kChunk][kPass];
#pragma unroll
            for (int u = 0; u < kChunk; ++u) {
                const float * ps = part + (s0 + u) * count + off;
#pragma unroll
                for (int q = 0; q < kPass; ++q)
                    if (s0 + u < splits && x0 + 2 * q < n) v[u][q] = ps[2 * q * m];
            }
#pragma unroll
            for (int u = 0; u < kChunk; ++u) {
#pragma unroll
                for (int q = 0; q < kPass; ++q)  // split 0 is taken as it is (−0 stays −0)
                    if (s0 + u < splits && x0 + 2 * q < n)
                        sum[q] = s0 + u == 0 ? v[u][q] : sum[q] + v[u][q];
            }
        }
#pragma unroll
        for (int q = 0; q < kPass; ++q)
            if (x0 + 2 * q < n) out[off + 2 * q * m] = sum[q];
    }
}

#if GEMMA_HAS_CLUSTERS
// The cluster of a tile's k splits (gpu_launch_cluster, clusters of dim3(1, splits, 1) over a
// grid of splits rows: block y has cluster rank y) sums them: each block stores acc in its own
// shared memory as a tile [kNp][kSumStride] (weight rows row0 .., x rows 0 ..); after a cluster
// barrier block y adds, over its share [y · c / splits, (y + 1) · c / splits) of the tile's
// c = n · kRows values, split 0's value then split 1's, 2's, ... (mmq_sum_splits' order: the
// same bits), read from every block's tile, and writes out; a second barrier keeps each block's
// shared memory until every block has read it. Every thread of the cluster gets here.
template <ElemType T, int NT>
__device__ __forceinline__ void sum_splits_cluster(const float (&acc)[NT][4], uint8_t * smem,
                                                   float * out, int64_t n, int64_t m, int64_t row0,
                                                   int splits) {
    using L = Mmq<T, NT>;
    float * tile = reinterpret_cast<float *>(smem);
    gemma_cp_async_wait<0>();  // (only empty groups remain after the last stage)
    __syncthreads();           // every warp is done reading the stage buffers under the tile
    const int lane = threadIdx.x % GEMMA_WARP, warp = threadIdx.x / GEMMA_WARP;
    const int r = 16 * warp + lane / 4, x = 2 * (lane % 4);
#pragma unroll
    for (int j = 0; j < NT; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e)
            tile[(8 * j + x + (e & 1)) * L::kSumStride + r + (e < 2 ? 0 : 8)] = acc[j][e];
    }
    gemma_cluster_sync();
    const float * parts[kClusterMaxSplits];
#pragma unroll
    for (int s = 0; s < kClusterMaxSplits; ++s)
        parts[s] = gemma_cluster_map_shared<float>(tile, unsigned(s < splits ? s : 0));
    const int count = int(n) * kRows, y = int(blockIdx.y);
    const int end = (y + 1) * count / splits;
    for (int i = y * count / splits + int(threadIdx.x); i < end; i += kThreads) {
        const int xr = i / kRows, c = i % kRows;
        if (row0 + c >= m) continue;
        const int off = xr * L::kSumStride + c;
        float v[kClusterMaxSplits];  // every load issued before the first add
#pragma unroll
        for (int s = 0; s < kClusterMaxSplits; ++s)
            if (s < splits) v[s] = parts[s][off];
        float sum = v[0];  // split 0 as it is (−0 stays −0)
#pragma unroll
        for (int s = 1; s < kClusterMaxSplits; ++s)
            if (s < splits) sum += v[s];
        out[xr * m + row0 + c] = sum;
    }
    gemma_cluster_sync();
}
#endif

// out (or this split's partial sums) for weight rows [row0, row0 + kRows) × x rows [0, n).
// kOwnX: x rounded by the block (else read from mmq_round_x's scratch). With k_splits > 1 the
// splits are summed: kCluster, by the launch's clusters (sum_splits_cluster, no partial sums;
// an instantiation of its own, so the others' code is unchanged); else counters: one per tile,
// zero at launch (the last block sums); else null: mmq_sum_splits adds them afterwards.
template <ElemType T, int NT, bool kOwnX, bool kCluster = false>
__global__ void __launch_bounds__(kThreads, NT <= 4 ? 2 : 1)
    mmq_kernel(QuantMatmulParams p, unsigned * counters) {
    using L = Mmq<T, NT>;
    static_assert(!kOwnX || L::kNp * kGroups <= kThreads, "own x: one group per thread and stage");
    extern __shared__ int4 smem_raw[];
    uint8_t * smem = reinterpret_cast<uint8_t *>(smem_raw);
    const MmqScratch sc = mmq_scratch(p.scratch_x, L::kNp, p.k, L::kG);
    const Work wk = block_work<T, NT>(p, sc);
    // Pipeline: stages i + 1 .. i + kStages − 1 load while stage i is multiplied; one commit
    // group per stage (empty past the end), so waiting until kStages − 2 groups remain pending
    // means stage i has landed; the barrier then also frees the buffer of stage i − 1. The first
    // stages' weights are requested before the previous kernel is waited for; with x from
    // scratch they join the first group (with stage 0's x), with own x each forms its group.
    const int n_iter = wk.s_end - wk.s_begin;
    for (int i = 0; i < kStages - 1; ++i) {
        if (i < n_iter) load_weights<T, NT>(wk, wk.s_begin + i, smem + i * L::kStageBytes);
        if constexpr (kOwnX) gemma_cp_async_commit();
    }
    pdl_enter();
    OwnX<T, NT> x;  // own x: stage i + 1's values while stage i is multiplied
    if constexpr (kOwnX) {
        if (n_iter > 0) {
            load_own_x<T, NT>(wk, wk.s_begin, x);
            store_own_x<T, NT>(wk, wk.s_begin, x, smem);
        }
    } else {
        for (int i = 0; i < kStages - 1; ++i) {
            if (i < n_iter) load_x<T, NT>(wk, wk.s_begin + i, smem + i * L::kStageBytes);
            gemma_cp_async_commit();
        }
    }
    float acc[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    for (int i = 0; i < n_iter; ++i) {
        gemma_cp_async_wait<kStages - 2>();
        __syncthreads();
        const int next = i + kStages - 1;
        if (next < n_iter) {
            uint8_t * buf = smem + (next % kStages) * L::kStageBytes;
            load_weights<T, NT>(wk, wk.s_begin + next, buf);
            if constexpr (!kOwnX) load_x<T, NT>(wk, wk.s_begin + next, buf);
        }
        gemma_cp_async_commit();
        const bool own_next = kOwnX && i + 1 < n_iter;
        if (own_next) load_own_x<T, NT>(wk, wk.s_begin + i + 1, x);
        compute_stage<T, NT>(wk, wk.s_begin + i, smem + (i % kStages) * L::kStageBytes, acc);
        // Stage i + 1's buffer was last read in iteration i − 2 and is next read after the
        // barrier of iteration i + 1.
        if (own_next)
            store_own_x<T, NT>(wk, wk.s_begin + i + 1, x,
                               smem + ((i + 1) % kStages) * L::kStageBytes);
    }
    const int64_t row0 = wk.row0;
    if (p.k_splits == 1) {
        for_each_output<NT>(p.n, p.m, row0, [&](int j, int e, int64_t i) { p.out[i] = acc[j][e]; });
        return;
    }
    if constexpr (kCluster) {
#if GEMMA_HAS_CLUSTERS
        sum_splits_cluster<T, NT>(acc, smem, p.out, p.n, p.m, row0, p.k_splits);
#endif
        return;
    }
    float * part = sc.part + int64_t(blockIdx.y) * p.n * p.m;
    for_each_output<NT>(p.n, p.m, row0, [&](int j, int e, int64_t i) { part[i] = acc[j][e]; });
    if (counters && last_split_block(counters + blockIdx.x, p.k_splits))
        sum_splits_tile<NT>(sc.part, p.out, p.n, p.m, row0, p.k_splits);
}

// ---- 3. the splits summed by a kernel (no counters) ----

// out[i] = Σ_s part[s][i] over count = n · m values, split 0 first.
__global__ void mmq_sum_splits_kernel(const float * part, float * out, int64_t count,
                                      int64_t splits) {
    pdl_enter();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x) {
        float sum = part[i];
        for (int64_t s = 1; s < splits; ++s) sum += part[s * count + i];
        out[i] = sum;
    }
}

// ---- host side ----

// x-row tiles of 8 per n: instantiations for n ≤ 16, 32, 64, 128.
int mmq_tiles(int64_t n) { return n <= 16 ? 2 : n <= 32 ? 4 : n <= 64 ? 8 : 16; }

// Whether the blocks round x themselves (no mmq_round_x launch): each of the tiles rounds the
// whole x again, which costs little while x is small next to the weights and there are few
// tiles: n ≤ 32 (a group per thread per stage, 32 f32 registers) and ≤ env.mmq_own_x_tiles
// tiles (256: every E4B projection; the LM head's 2048 tiles would round x 2048 times).
bool mmq_own_x(const QuantMatmulParams & p, const LaunchEnv & env) {
    return mmq_tiles(p.n) <= 4 && (p.m + kRows - 1) / kRows <= env.mmq_own_x_tiles;
}

// f(type, tiles, own x) with all three as integral constants for p (own x only for NT ≤ 4).
template <class F>
decltype(auto) mmq_dispatch(const QuantMatmulParams & p, const LaunchEnv & env, F && f) {
    using Own = std::true_type;
    using Scratch = std::false_type;
    const bool own = mmq_own_x(p, env);
    auto by_tiles = [&](auto t) -> decltype(auto) {
        switch (mmq_tiles(p.n)) {
            case 2:
                return own ? f(t, std::integral_constant<int, 2>{}, Own{})
                           : f(t, std::integral_constant<int, 2>{}, Scratch{});
            case 4:
                return own ? f(t, std::integral_constant<int, 4>{}, Own{})
                           : f(t, std::integral_constant<int, 4>{}, Scratch{});
            case 8:
                return f(t, std::integral_constant<int, 8>{}, Scratch{});
            default:
                return f(t, std::integral_constant<int, 16>{}, Scratch{});
        }
    };
    if (p.type == ElemType::q8_0)
        return by_tiles(std::integral_constant<ElemType, ElemType::q8_0>{});
    return by_tiles(std::integral_constant<ElemType, ElemType::q4_0>{});
}

// The kernel's shared memory exceeds the default 48 KiB: opt in once per instantiation.
template <ElemType T, int NT, bool kOwnX, bool kCluster = false>
LaunchResult mmq_smem_ready() {
    static const gpuError_t e =
        gpu_set_max_dynamic_smem(mmq_kernel<T, NT, kOwnX, kCluster>, Mmq<T, NT>::kBytes);
    return launch_result(e);
}

#if GEMMA_HAS_CLUSTERS
// How many clusters of `splits` (2..kClusterMaxSplits) blocks, dim3(1, splits, 1), of this
// instantiation can be resident at once (gpu_max_active_clusters; 0: none). Asked once per
// instantiation and size, as the shared-memory opt-in (one GPU model per process).
template <ElemType T, int NT, bool kOwnX>
int mmq_max_clusters(int splits) {
    if (splits < 2 || splits > kClusterMaxSplits) return 0;
    static std::atomic<int> known[kClusterMaxSplits + 1];  // clusters + 1; 0: not asked yet
    int v = known[splits].load(std::memory_order_relaxed);
    if (v == 0) {
        if (mmq_smem_ready<T, NT, kOwnX, true>()) return 0;  // the query needs the opt-in
        v = 1 + gpu_max_active_clusters(mmq_kernel<T, NT, kOwnX, true>, dim3(kThreads),
                                        Mmq<T, NT>::kBytes, dim3(1, unsigned(splits), 1));
        known[splits].store(v, std::memory_order_relaxed);
    }
    return v - 1;
}

// Whether p's k splits are summed through clusters: asked for (LaunchEnv::mmq_cluster), 2-8
// splits, and clusters of that size can be resident (else the merge kernel or last-block path).
template <ElemType T, int NT, bool kOwnX>
bool mmq_use_cluster(const QuantMatmulParams & p, const LaunchEnv & env) {
    return env.mmq_cluster && p.k_splits > 1 && mmq_max_clusters<T, NT, kOwnX>(p.k_splits) > 0;
}
#endif

template <ElemType T, int NT, bool kOwnX>
LaunchResult launch_mmq_t(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    using L = Mmq<T, NT>;
    if (p.k_splits < 1 || p.k % 32 != 0) return "matmul_quant mmq: bad k_splits or k";
    if (LaunchResult e = mmq_smem_ready<T, NT, kOwnX>()) return e;
    const MmqScratch sc = mmq_scratch(p.scratch_x, L::kNp, p.k, L::kG);
    if constexpr (!kOwnX) {
        const int64_t x4 = L::kNp * p.k / 4;
        if (!p.x_ready)  // else the mmq matmul before this one left x rounded in scratch
            if (LaunchResult e =
                    launch_kernel(mmq_round_x_kernel<L::kG>, grid_blocks(x4, 256, env), 256, 0, s,
                                  env, p.x, reinterpret_cast<int *>(sc.xq), sc.xd, p.n, p.k,
                                  int64_t(L::kNp)))
                return e;
    }
    const int64_t tiles = (p.m + kRows - 1) / kRows;
    const dim3 grid(unsigned(tiles), unsigned(p.k_splits));
#if GEMMA_HAS_CLUSTERS
    if (mmq_use_cluster<T, NT, kOwnX>(p, env))
        return launch_result(gpu_launch_cluster(
            mmq_kernel<T, NT, kOwnX, true>, grid, dim3(kThreads), L::kBytes, s, env.pdl,
            dim3(1, unsigned(p.k_splits), 1), p, static_cast<unsigned *>(nullptr)));
#endif
    unsigned * counters = env.mmq_last_block && p.k_splits > 1 && tiles <= kSplitCounters
                              ? env.split_counters
                              : nullptr;
    if (LaunchResult e =
            launch_kernel(mmq_kernel<T, NT, kOwnX>, grid, kThreads, L::kBytes, s, env, p, counters))
        return e;
    if (p.k_splits == 1 || counters) return nullptr;
    const int64_t count = p.n * p.m;
    return launch_kernel(mmq_sum_splits_kernel, grid_blocks(count, 256, env), 256, 0, s, env,
                         static_cast<const float *>(sc.part), p.out, count, int64_t(p.k_splits));
}

}  // namespace

int64_t matmul_quant_mmq_splits(const QuantMatmulParams & p, const LaunchEnv & env) {
    return mmq_dispatch(p, env, [&](auto t, auto nt, auto own) -> int64_t {
        constexpr ElemType T = decltype(t)::value;
        constexpr int NT = decltype(nt)::value;
        constexpr bool kOwnX = decltype(own)::value;
        using L = Mmq<T, NT>;
        // One wave of blocks: as many splits as tiles × splits ≤ resident blocks allows (a
        // second, partial wave would cost as much as the first), each of at least
        // env.mmq_split_stages stages. One stage is enough: the last block of a tile adds the
        // partial sums (no launch), and the small matmuls (q, k, v, o, PLE: 2-20 tiles) are
        // bound by each block's serial latency, which shrinks with its stage count. Split sizes
        // differ by at most one stage (block_work): with two blocks per SM, none gets two of
        // the largest.
        //
        // With clusters (LaunchEnv::mmq_cluster, where clusters of two can be resident at all):
        // that count capped at kClusterMaxSplits, then lowered until the tiles' clusters fit in
        // one wave too (gpu_max_active_clusters: a cluster's blocks must share a GPC, so fewer
        // clusters than resident / splits may fit), down to one split (no cluster) if need be.
        (void)mmq_smem_ready<T, NT, kOwnX>();  // the occupancy query needs the opt-in
        const int64_t resident =
            resident_blocks(mmq_kernel<T, NT, kOwnX>, kThreads, env, L::kBytes);
        const int64_t tiles = (p.m + kRows - 1) / kRows;
        const int64_t stages = (p.k / L::kG + kGroups - 1) / kGroups;
        const int64_t most = std::max<int64_t>(stages / std::max(env.mmq_split_stages, 1), 1);
        int64_t splits = std::clamp<int64_t>(resident / std::max<int64_t>(tiles, 1), 1, most);
#if GEMMA_HAS_CLUSTERS
        if (env.mmq_cluster && splits > 1 && mmq_max_clusters<T, NT, kOwnX>(2) > 0) {
            splits = std::min<int64_t>(splits, kClusterMaxSplits);
            while (splits > 1 && mmq_max_clusters<T, NT, kOwnX>(int(splits)) < tiles) --splits;
        }
#endif
        return splits;
    });
}

size_t matmul_quant_mmq_scratch_bytes(const QuantMatmulParams & p) {
    const int64_t np = 8 * mmq_tiles(p.n), group = p.type == ElemType::q8_0 ? 16 : 32;
    size_t bytes = align256(size_t(np * p.k)) + align256(size_t(p.k / group * np) * 4);
    if (p.k_splits > 1) bytes += size_t(p.k_splits * p.n * p.m) * 4;
    return bytes;
}

bool matmul_quant_mmq_rounds_x(const QuantMatmulParams & p, const LaunchEnv & env) {
    return !mmq_own_x(p, env);
}

LaunchResult launch_mmq_quant(const QuantMatmulParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0 || p.m == 0) return nullptr;
    return mmq_dispatch(p, env, [&](auto t, auto nt, auto own) -> LaunchResult {
        return launch_mmq_t<decltype(t)::value, decltype(nt)::value, decltype(own)::value>(p, s,
                                                                                           env);
    });
}

#else  // no int8 mma.sync in this build (compat/hip.h): the backend never picks mmq

int64_t matmul_quant_mmq_splits(const QuantMatmulParams &, const LaunchEnv &) { return 1; }

size_t matmul_quant_mmq_scratch_bytes(const QuantMatmulParams &) { return 0; }

bool matmul_quant_mmq_rounds_x(const QuantMatmulParams &, const LaunchEnv &) { return false; }

LaunchResult launch_mmq_quant(const QuantMatmulParams &, gpuStream_t, const LaunchEnv &) {
    return "matmul_quant mmq: not built (no int8 mma.sync in this build); use the tile path";
}

#endif

}  // namespace gemma::cuda
