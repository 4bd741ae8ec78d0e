// attention_fa's GEMMA_FA_VARIANT block shapes (LaunchEnv::fa_variant) for the E4B head dims 256
// (sliding layers) and 512 (global layers): the same kernel body (ops/attention_fa.cuh) with
// more warps per SM than the v1 shapes, for A/B runs against them on the GPU.
// Why: the v1 shapes run one 8-warp block per SM (O alone is D / 2 registers a lane), and the
// block's barriers make all 8 warps convert, wait and multiply in step, so little of the
// shared-memory and L2 latency is hidden (H200, 2,048-token chunk: ~75-80 TFLOPS).
//   2: D 256 in 16 warps of 128 rows: D split over 2 warps per row group as v1 does for 512
//      (O: 64 registers a lane, 128 a thread allowed), so twice the warps per SM at the same L2
//      traffic (each tile still serves 128 rows); D 512 in 16 warps of 64 rows, D split over 4
//      warps (no cluster, no distributed shared memory): twice v1's warps.
//   3: as 2 for D 512; D 256 in 8-warp blocks of 64 rows (D split over 2), two blocks per SM
//      (K and V f16 tiles in one buffer), so the two blocks' convert / wait / multiply phases
//      interleave and the sliding layers' grid has 256 blocks for 264 slots of 132 SMs instead
//      of 128 blocks; each tile serves 64 rows (twice v1's L2 traffic).
// All take 16-key tiles: with 32 (S: 16 registers a lane, and its mma operands) ptxas spills
// 40-230 bytes at 128 registers; 16 keys fit (123-128 registers, no spills). A unit (K or V of
// a tile) is then 16 KiB of f32, and three staging buffers keep two units in flight while one
// is converted (v1: one of 32 KiB). The cost: 4 barriers per 16 keys instead of per 32.
// Shapes (bytes; kLd = D + 8 halves a f16 row):
//   variant D   rows warps split keys bufs  Q       K16+V16  partials staging   total   blocks/SM
//   2       256 128  16    2     16   3    67,584  16,896   16,384   49,152  150,016     1
//   3       256  64   8    2     16   3    33,792   8,448    8,192   49,152   99,584     2
//   2, 3    512  64  16    4     16   3    66,560  33,280   16,384   98,304  214,528     1
// (registers, ptxas -v sm_90: 128, 125, 124 of 128; no spills.)
// Partial S sums: the split warps of a row group add their partials in warp order, so all hold
// bitwise the same S, P, m and l (as v1's D = 512); results differ from v1 only in the order in
// which the partial dot products over D are added (f32), well inside the 2e-5 NMSE of the tests.
#include "backends/cuda/ops/attention_fa.cuh"

namespace gemma::cuda::fa {

#if GEMMA_HAS_MMA_M16N8K16
namespace {

using FaV2d256 = FaShape<256, 128, 2, 16, 3, 1, false>;
using FaV3d256 = FaShape<256, 64, 2, 16, 3, 2, true>;
using FaV2d512 = FaShape<512, 64, 4, 16, 3, 1, false>;
static_assert(FaV2d256::kThreads == 512 && FaV3d256::kThreads == 256 &&
                  FaV2d512::kThreads == 512,
              "the warps of the table");
// Two blocks of FaV3d256 per SM: sm_90's 228 KiB per SM, less 1 KiB the system keeps per block.
static_assert(2 * (FaV3d256::kBytes + 1024) <= 233472, "two 64-row blocks an SM");

// fa_mode for a shape meant to run MinBlocks > 1 blocks an SM: the carveout set to all shared
// memory first (a hint the driver may otherwise size for one block). CUDA-only code (this file
// is empty without mma.sync m16n8k16), so the runtime call is made directly.
template <class L>
FaMode fa_mode_resident() {
    if constexpr (L::kMinBlocks > 1) {
        if (cudaFuncSetAttribute(reinterpret_cast<const void *>(attention_fa_kernel<L>),
                                 cudaFuncAttributePreferredSharedMemoryCarveout,
                                 int(cudaSharedmemCarveoutMaxShared)) != cudaSuccess)
            (void)cudaGetLastError();  // only a hint: the launch runs either way
    }
    return fa_mode<L>();
}

// Shape L for this chunk, or false (v1 then) when its rows do not hold whole GQA groups, its
// grid's y would pass 65535, or this GPU cannot run it.
template <class L>
bool try_shape(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
               const LaunchEnv & env, LaunchResult * result) {
    static const FaMode mode = fa_mode_resident<L>();
    const int64_t queries = fa_queries<L>(p);
    if (mode == FaMode::none || queries == 0 || (p.n + queries - 1) / queries > 65535) return false;
    *result = launch_fa_shape<L>(p, r, mode, s, env);
    return true;
}

}  // namespace

bool launch_fa_variant(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
                       const LaunchEnv & env, LaunchResult * result) {
    if (env.fa_variant < 2 || p.hkv <= 0 || p.hq % p.hkv != 0) return false;
    if (p.d == 512) return try_shape<FaV2d512>(p, r, s, env, result);
    if (p.d != 256) return false;
    if (env.fa_variant == 3) return try_shape<FaV3d256>(p, r, s, env, result);
    return try_shape<FaV2d256>(p, r, s, env, result);
}

#endif  // GEMMA_HAS_MMA_M16N8K16

}  // namespace gemma::cuda::fa
