// Prefill attention in one pass over the keys, FlashAttention-2 style: the op of attention.cu /
// attention_tc.cu (core/ops.h Op::attention: ring slots, sliding window, bidirectional blocks,
// GQA, scale; rows that see nothing give zeros) for chunks of many queries, on sm_80+ tensor cores.
// A block takes kRows rows = kRows / G queries × the G query heads of one KV head (as
// attention_tc), so every staged key tile serves the whole GQA group. Each warp owns 16 rows:
// S = Q·Kᵀ and O += P·V are mma.sync m16n8k16 (f16 inputs, f32 accumulation) whose documented
// fragment layout (compat/cuda.h) lets the softmax run on the S accumulators and P feed the P·V
// mma straight from registers, with a running max m and sum l per row and O rescaled when m grows.
// K and V tiles (f32 / bf16 caches) arrive by cp.async into a raw staging area while the warps
// compute on the previous one, then are converted to the f16 tiles the mma reads.
// Inputs are rounded to f16 like attention_tc (q scaled first; P in [0, 1] before the final 1 / l),
// scores, softmax and accumulation in f32; exp2 with log2(e) folded into the q scale.
// D = 512 on sm_90 runs as a pair of blocks (a cluster of two, FaPair): each holds 128 rows over
// half of D and they add their partial S through distributed shared memory.
// The kernel body, its steps and the generic block shape live in ops/attention_fa.cuh. Either
// kernel may also write the output's 16-bit terms for the o projection's GEMM
// (launch_attention_fa_round). (16-warp shapes for D 256 / 512 with D split over 2-4 warps and
// 16-key tiles were tried: slower on the H200, 49.8k against 51.8k tok/s for a 2k chunk, and
// wrong in some cases; docs/perf.md round 9.)
#include "backends/cuda/ops/attention_fa.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_MMA_M16N8K16
namespace fa {
namespace {

// Rows per block for head dim d: 128 (8 warps) up to D = 256, 64 for D = 512 (two warps per row
// group there, see FaShape). 8 warps a block because from D = 128 on registers (up to 255 a
// thread) and the shared layout below allow only one block per SM, and each staged K/V tile then
// serves 128 rows (half the L2 traffic of 64-row blocks).
constexpr int fa_rows(int64_t d) { return d > 256 ? 64 : 128; }

// The v1 shape for head dim D (FaShape). Tile sizes so that Q + K16 + V16 + staging fit the
// 227 KiB of sm_90 (bytes; kLd = D + 8 halves a f16 row):
//   D   rows keys bufs   Q      K16+V16  partials  staging   total  regs  blocks/SM
//   64  128  32   2    18,432   9,216      0      16,384    44,032  128      2
//   128 128  64   2    34,816  34,816      0      65,536   135,168  190      1
//   256 128  32   2    67,584  33,792      0      65,536   166,912  244      1
//   512  64  32   1    66,560  66,560   16,384    65,536   215,040  244      1
// (registers: ptxas -v for sm_90, no spills; sm_80 spills 40 bytes at D = 64.)
// D = 256 takes 32-key tiles (64 keys would need 128 KiB of staging), D = 512 one buffer (K and V
// of a tile take turns in it; two would need 274 KiB in all). D = 64 takes 32-key tiles to fit in
// 128 registers (64 keys spill there), so two blocks (16 warps) share an SM. Each unit has half a
// tile (D = 512) or a whole tile (else) of mma work to arrive in. The staging comes last: GPUs
// with less shared memory a block (sm_80: 163 KiB, sm_86/89: 99 KiB) run the same kernel without
// it, loading K and V through registers as q8_0 caches always do (launch_fa).
template <int D>
using Fa = FaShape<D, fa_rows(D), (D > 256 ? 2 : 1), (D == 128 ? 64 : 32), (D > 256 ? 1 : 2),
                   (D == 64 ? 2 : 1), false>;
static_assert(Fa<64>::kThreads == 256 && Fa<128>::kThreads == 256 && Fa<256>::kThreads == 256 &&
                  Fa<512>::kThreads == 256,
              "8 warps a block");

// ---- D = 512 on a pair of blocks (sm_90 thread-block clusters of two) ----
// The D = 512 v1 shape holds 64 rows a block (O of 64 rows × 512 is half the register file),
// so each K/V byte staged from L2 serves 64 rows. The pair kernel splits D over the two blocks of
// a cluster instead of two warps of a block: each block holds 128 rows over its half of D (256
// values of every q, K, V and out row) in the Fa<256> layout and pipeline (8 warps of 16 rows,
// 32-key tiles, two staging buffers, so each unit has a whole tile of mma work to arrive in),
// and per tile the two blocks add their partial S = Q·Kᵀ through distributed shared memory
// (one cluster barrier a tile; a + b in one block and b + a in the other are the same f32, so
// both hold the same S, P, m and l). Per block and tile: 32 keys × 256 values of K and of V
// (f32: 64 KiB, bf16: 32 KiB; the same mma work as the 64-row kernel's 128 KiB / 64 KiB), 128
// mma.sync per warp, 4 block barriers + 1 cluster barrier. Shared memory: Fa<256> staged
// (166,912 bytes) + partial S twice (2 × 16,384) = 199,680, 1 block an SM. f32 / bf16 caches
// only (q8_0 rows do not split at 256 values into 16-byte aligned halves: the 64-row kernel).
struct FaPair {
    using L = Fa<256>;
    static constexpr int kHalf = 256;  // values of D per block
    // Partial S of this block, [2 tiles][kThreads lanes][kNt · 4] lane-major (as partial_put).
    static constexpr size_t kX = L::kBytes;
    static constexpr size_t kXBuf = size_t(L::kThreads) * L::kNt * 4 * 4;
    static constexpr size_t kBytes = kX + 2 * kXBuf;
    static_assert(kX % 16 == 0 && kBytes <= kMaxSmem, "pair layout over the per-block limit");
};

// Grid (2 · hkv, row blocks of 128 / G queries), clusters (2, 1, 1): block x is half x % 2 of D
// for KV head x / 2. The loop is attention_fa_kernel's with kSplit = 1 over the half rows (row
// pitch 512) and the partials added from the peer between the K and the V phase; r as there.
__global__ void __launch_bounds__(Fa<256>::kThreads, 1)
    attention_fa_pair_kernel(AttentionParams p, Round16Out r) {
    using L = Fa<256>;
    constexpr int kHalf = FaPair::kHalf;
    pdl_enter();
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t * qs = reinterpret_cast<uint16_t *>(smem + L::kQ);
    uint16_t * ks = reinterpret_cast<uint16_t *>(smem + L::kK);
    uint16_t * vs = reinterpret_cast<uint16_t *>(smem + L::kV);
    float * xs = reinterpret_cast<float *>(smem + FaPair::kX);
    const int32_t * kb = p.block_ids ? reinterpret_cast<const int32_t *>(ks + kHalf) : nullptr;
    const unsigned half = blockIdx.x % 2;  // = the block's rank in its cluster
    // This block's half of every q, out and cache row (the row helpers with pitch 512).
    AttentionParams ph = p;
    const int64_t off = int64_t(half) * kHalf,
                  off_bytes = off * (p.kv_type == KvType::bf16 ? 2 : 4);
    ph.q = p.q + off;
    ph.out = p.out + off;
    ph.k_cache = static_cast<const unsigned char *>(p.k_cache) + off_bytes;
    ph.v_cache = static_cast<const unsigned char *>(p.v_cache) + off_bytes;
    const int G = int(p.hq / p.hkv);  // divides 64 (attention_fa_ok), so 128
    const int64_t kvh = blockIdx.x / 2, i0 = int64_t(gridDim.y - 1 - blockIdx.y) * (L::kRows / G);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP, tq = lane % 4;
    const int ra = warp * 16 + lane / 4;  // the lane's block rows: ra and ra + 8

    const int64_t lo = row_keys(p, i0).lo, hi = row_keys(p, min(i0 + L::kRows / G, p.n) - 1).hi;
    KeyPipe<L, 512> keys{ph, kvh, lo, hi, smem + L::kS, true};
    for (int u = 0; u < L::kBufs; ++u) keys.issue(u);
    load_q<L, 512>(ph, i0, kvh, G, qs);

    const RowKeys rka = row_keys(p, i0 + ra / G), rkb = row_keys(p, i0 + (ra + 8) / G);
    const WarpSpan span = warp_span(p, i0 + warp * 16 / G, i0 + (warp * 16 + 15) / G);
    float o[L::kOt][4];
#pragma unroll
    for (int ot = 0; ot < L::kOt; ++ot) o[ot][0] = o[ot][1] = o[ot][2] = o[ot][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    // This lane's partials (tile buffer 0; buffer 1 kXBuf bytes on) here and in the peer.
    float * xw = xs + warp * L::kNt * 4 * GEMMA_WARP + lane;
    const float * xr = gemma_cluster_map_shared<float>(xw, half ^ 1u);

    int u = 0, xb = 0;  // the tile's K unit; the partial buffer of this tile
    for (int64_t t0 = lo; t0 <= hi; t0 += L::kKeys, u += 2, xb ^= 1) {
        keys.wait();
        __syncthreads();  // K(t0) staged, Q stored; every warp done with the last tile
        keys.convert(u, ks);
        __syncthreads();  // K(t0) f16 and its block ids stored; unit u's buffer free
        keys.issue(u + L::kBufs);
        float s[L::kNt][4];
        scores<L>(qs, ks, warp, 0, lane, s);
        float * xo = xw + xb * (FaPair::kXBuf / 4);
#pragma unroll
        for (int nt = 0; nt < L::kNt; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) xo[(nt * 4 + e) * GEMMA_WARP] = s[nt][e];

        keys.wait();
        // Both blocks' partials of this tile stored (the peer's of buffer xb were read before it
        // arrived here a tile ago: the buffer of two tiles back is free), V(t0) staged.
        gemma_cluster_sync();
        __syncthreads();
        const float * xp = xr + xb * (FaPair::kXBuf / 4);
#pragma unroll
        for (int nt = 0; nt < L::kNt; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[nt][e] += xp[(nt * 4 + e) * GEMMA_WARP];
        keys.convert(u + 1, vs);
        __syncthreads();  // V(t0) f16 stored; unit u + 1's buffer free
        keys.issue(u + 1 + L::kBufs);
        if (t0 < span.lo_max || t0 + L::kKeys - 1 > span.pos_min)
            mask_tile<L>(rka, rkb, t0, tq, kb, s);
        softmax_tile<L::kNt, L::kOt>(s, m, l, o);
        accumulate_pv<L>(vs, s, 0, lane, o);
    }
    gemma_cluster_sync();  // the peer has read this block's last partials: its shared memory may go
    store_out<L, 512>(ph, r, off, i0, kvh, G, ra, 0, tq, o, l);
}

// Whether the pair kernel runs on this GPU: clusters of two blocks (sm_90+) of its shared layout.
bool fa_pair_ok() {
    if (gpu_set_max_dynamic_smem(attention_fa_pair_kernel, int(FaPair::kBytes)) != gpuSuccess) {
        (void)gpuGetLastError();
        return false;
    }
    return gpu_max_active_clusters(attention_fa_pair_kernel, dim3(Fa<256>::kThreads),
                                   FaPair::kBytes, dim3(2, 1, 1)) > 0;
}

LaunchResult launch_fa_pair(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
                            const LaunchEnv & env) {
    const int64_t queries = Fa<256>::kRows / (p.hq / p.hkv);  // per cluster
    const dim3 grid(unsigned(2 * p.hkv), unsigned((p.n + queries - 1) / queries));
    return launch_result(gpu_launch_cluster(attention_fa_pair_kernel, grid, dim3(Fa<256>::kThreads),
                                            FaPair::kBytes, s, env.pdl, dim3(2, 1, 1), p, r));
}

// out's 16-bit terms written by a kernel of their own (ops/x16.cuh, as the matmul's rounding
// kernel): for a chunk this GPU runs on attention_tc, which does not write them itself.
__global__ void round_out_kernel(const float * out, Round16Out r, int64_t count) {
    pdl_enter();
    uint16_t * hi = static_cast<uint16_t *>(r.hi);
    uint16_t * lo = x16_lo(r, count);
    for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
         i += int64_t(gridDim.x) * blockDim.x)
        x16_store(hi, lo, i, out[i], r.type);
}

LaunchResult launch_tc_round(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
                             const LaunchEnv & env) {
    if (LaunchResult e = launch_attention_tc(p, s, env)) return e;
    const int64_t count = p.n * p.hq * p.d;
    return launch_kernel(round_out_kernel, grid_blocks(count, 256, env), 256, 0, s, env, p.out, r,
                         count);
}

template <int D>
LaunchResult launch_fa(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
                       const LaunchEnv & env) {
    static const FaMode mode = fa_mode<Fa<D>>();
    if (mode == FaMode::none) {
        if (attention_tc_ok(p))
            return r.hi ? launch_tc_round(p, r, s, env) : launch_attention_tc(p, s, env);
        return "attention_fa: this GPU has too little shared memory a block for this head_dim";
    }
    if constexpr (D == 512) {  // the pair kernel unless GEMMA_FA512_V1=1 (LaunchEnv::fa512_v1)
        static const bool pair = mode == FaMode::staged && fa_pair_ok();
        if (pair && !env.fa512_v1 && p.kv_type != KvType::q8_0) return launch_fa_pair(p, r, s, env);
    }
    return launch_fa_shape<Fa<D>>(p, r, mode, s, env);
}

LaunchResult launch_fa_d(const AttentionParams & p, const Round16Out & r, gpuStream_t s,
                         const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    switch (p.d) {
        case 64:
            return launch_fa<64>(p, r, s, env);
        case 128:
            return launch_fa<128>(p, r, s, env);
        case 256:
            return launch_fa<256>(p, r, s, env);
        case 512:
            return launch_fa<512>(p, r, s, env);
        default:
            return "attention_fa: head_dim must be 64, 128, 256 or 512";
    }
}

}  // namespace
}  // namespace fa

bool attention_fa_ok(const AttentionParams & p) {
    using fa::fa_rows;
    bool d_ok = p.d == 64 || p.d == 128 || p.d == 256 || p.d == 512;
    // Whole GQA groups per block: G = hq / hkv divides the block's rows.
    bool gqa_ok = p.hkv > 0 && p.hq % p.hkv == 0 && fa_rows(p.d) % (p.hq / p.hkv) == 0;
    // Row blocks along the grid's y (at most 65535): chunks of up to a million queries.
    bool grid_ok = gqa_ok && p.n / (fa_rows(p.d) / (p.hq / p.hkv)) < 65535;
    auto aligned = [](const void * ptr, uintptr_t a) {
        return reinterpret_cast<uintptr_t>(ptr) % a == 0;
    };
    // f32 and bf16 rows are staged by 16-byte cp.async (rows of D ≥ 64 keep the alignment).
    bool caches_ok =
        p.kv_type == KvType::q8_0 || (aligned(p.k_cache, 16) && aligned(p.v_cache, 16));
    return d_ok && grid_ok && p.n >= kAttentionTcMinRows && aligned(p.q, 16) && aligned(p.out, 8) &&
           caches_ok;
}

LaunchResult launch_attention_fa(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    return fa::launch_fa_d(p, Round16Out{}, s, env);
}

LaunchResult launch_attention_fa_round(const AttentionRoundParams & p, gpuStream_t s,
                                       const LaunchEnv & env) {
    return fa::launch_fa_d(p.a, p.r, s, env);
}

#else  // no mma.sync m16n8k16 in this build (compat/hip.h): never chosen

bool attention_fa_ok(const AttentionParams &) { return false; }

LaunchResult launch_attention_fa(const AttentionParams &, gpuStream_t, const LaunchEnv &) {
    return "attention_fa: not built (no mma.sync m16n8k16 in this build); use attention_tc";
}

LaunchResult launch_attention_fa_round(const AttentionRoundParams &, gpuStream_t,
                                       const LaunchEnv &) {
    return "attention_fa: not built (no mma.sync m16n8k16 in this build); use attention_tc";
}

#endif

}  // namespace gemma::cuda
