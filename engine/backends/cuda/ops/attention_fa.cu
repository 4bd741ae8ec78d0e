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
#include <cfloat>

#include "backends/cuda/ops/attention_rows.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_MMA_M16N8K16
namespace {

static_assert(GEMMA_WARP == 32, "mma.sync fragments are laid out over 32 lanes");

constexpr int kPad = 8;  // f16 padding per shared row: the 8 rows of an ldmatrix hit 32 banks
constexpr float kLog2e = 1.4426950408889634f;
constexpr size_t kMaxSmem = 232448;  // sm_90 opt-in shared memory per block (227 KiB)

// Rows per block for head dim d: 128 (8 warps) up to D = 256, 64 for D = 512 (two warps per row
// group there, see Fa). 8 warps a block because from D = 128 on registers (up to 255 a thread)
// and the shared layout below allow only one block per SM, and each staged K/V tile then serves
// 128 rows (half the L2 traffic of 64-row blocks).
constexpr int fa_rows(int64_t d) { return d > 256 ? 64 : 128; }

// Shapes and shared layout for head dim D. O is 16 × Dw f32 per warp = Dw / 2 registers a lane,
// so D = 512 splits D over kSplit = 2 warps per row group: each warp multiplies its D slice of
// Q·Kᵀ (a partial S), the partials are summed through shared memory (every warp of the group
// then holds the same full S) and each warp accumulates P·V for its D slice of O.
// The key pipeline moves "units": unit u is matrix u % 2 (0 K, 1 V) of key tile u / 2, staged raw
// (f32: 4 bytes a value, bf16: 2) in staging buffer u % kBufs and converted to the f16 tile when
// its turn comes; converting unit u frees its buffer for unit u + kBufs. Tile sizes so that
// Q + K16 + V16 + staging fit the 227 KiB of sm_90 (bytes; kLd = D + 8 halves a f16 row):
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
struct Fa {
    static constexpr int kRows = fa_rows(D);
    static constexpr int kRowGroups = kRows / 16;  // 16-row groups: one warp each (kSplit for 512)
    static constexpr int kSplit = D > 256 ? 2 : 1;
    static constexpr int kDw = D / kSplit;            // the warp's slice of D
    static constexpr int kKeys = D == 128 ? 64 : 32;  // keys per tile
    static constexpr int kBufs = D > 256 ? 1 : 2;     // staging buffers (units in flight)
    static constexpr int kThreads = kRowGroups * kSplit * GEMMA_WARP;
    // Blocks per SM the registers must allow (launch bounds): two for D = 64 (128 registers a
    // thread); larger D need more (O alone is D / 2 registers a lane).
    static constexpr int kMinBlocks = D == 64 ? 2 : 1;
    static constexpr int kNt = kKeys / 8;                    // 16×8 S accumulators per warp
    static constexpr int kOt = kDw / 8;                      // 16×8 O accumulators per warp
    static constexpr int kLd = D + kPad;                     // halves per shared row of Q, K and V
    static constexpr size_t kStage = size_t(kKeys) * D * 4;  // bytes of one staging buffer
    static constexpr size_t kQ = 0;  // Q [kRows][kLd] f16, scaled by scale · log2(e)
    static constexpr size_t kK = kQ + size_t(kRows) * kLd * 2;  // K tile [kKeys][kLd] f16
    static constexpr size_t kV = kK + size_t(kKeys) * kLd * 2;  // V tile [kKeys][kLd] f16
    static constexpr size_t kX = kV + size_t(kKeys) * kLd * 2;  // S partials, lane-major
    static constexpr size_t kS = kX + (kSplit > 1 ? size_t(kThreads) * kNt * 4 * 4 : 0);
    static constexpr size_t kBytes = kS + kBufs * kStage;  // staging [kBufs][kStage] bytes at kS
    // Key j's bidirectional block id (int32) rides in the K tile's row padding: halves D, D + 1
    // of row j, which ldmatrix never reads, so the ids take no shared memory of their own.
    static constexpr int kIdStride = kLd / 2;  // int32 from one key's id to the next
    static_assert(kS % 16 == 0, "cp.async needs 16-byte aligned staging");
    static_assert(kBytes <= kMaxSmem, "shared layout over the per-block limit");
    static_assert(kThreads == 256, "8 warps a block (the launch bounds assume it)");
};

// Block rows r = [0, kRows): query i0 + r / G, head kvh · G + r % G; scaled q as f16 rows. Unrolled
// so that each thread has 8 loads in flight (the rows of a block are 32 to 128 KiB of f32).
// Df: values from one q row to the next (D, or 512 for the half rows of the pair kernel).
template <int D, int Df = D>
__device__ void load_q(const AttentionParams & p, int64_t i0, int64_t kvh, int G, uint16_t * qs) {
    using L = Fa<D>;
    const float sc = p.scale * kLog2e;
    constexpr int kPer = L::kRows * (D / 4) / L::kThreads;
    static_assert(kPer * L::kThreads == L::kRows * (D / 4), "whole passes");
#pragma unroll 8
    for (int k = 0; k < kPer; ++k) {
        const int e = threadIdx.x + k * L::kThreads;
        const int r = e / (D / 4), c = (e % (D / 4)) * 4;
        const int64_t i = i0 + r / G, h = kvh * G + r % G;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (i < p.n) v = *reinterpret_cast<const float4 *>(p.q + (i * p.hq + h) * Df + c);
        *reinterpret_cast<uint2 *>(qs + r * L::kLd + c) =
            make_uint2(pack_f16x2(v.x * sc, v.y * sc), pack_f16x2(v.z * sc, v.w * sc));
    }
}

// Without staging (q8_0 caches: 34-byte blocks, rows not 16-byte aligned for cp.async; or too
// little shared memory): keys [t0, t0 + kKeys) of a cache (key t in slot t mod slots, KV head kvh)
// through registers into shared f16 rows; keys past `hi` are zeros. Each thread keeps one 4-column
// group (kThreads is a multiple of D / 4). Df: cache row pitch in values (as load_q).
template <int D, int Df = D>
__device__ void load_tile(const AttentionParams & p, const void * cache, int64_t kvh, int64_t t0,
                          int64_t hi, uint16_t * dst) {
    using L = Fa<D>;
    constexpr int kVec = D / 4, kRowsPerPass = L::kThreads / kVec;
    static_assert(L::kThreads % kVec == 0 && L::kKeys % kRowsPerPass == 0, "tile passes");
    const int c = (threadIdx.x % kVec) * 4, j0 = threadIdx.x / kVec;
    const int64_t slot0 = t0 % p.slots;
    // Four loads in flight a thread; one for D = 64 (two rows a thread), which is at 128 registers.
    constexpr int kUnroll = D == 64 ? 1 : 4;
#pragma unroll kUnroll
    for (int j = j0; j < L::kKeys; j += kRowsPerPass) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (t0 + j <= hi) {
            int64_t slot = slot0 + j;
            if (slot >= p.slots) slot %= p.slots;
            v = load4(p.kv_type, cache, (slot * p.hkv + kvh) * Df + c);
        }
        *reinterpret_cast<uint2 *>(dst + j * L::kLd + c) =
            make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
    }
}

// The raw cache rows of keys [t0, t0 + kKeys) (key t in slot t mod slots, KV head kvh; Bpv bytes a
// value) into staging rows [kKeys][D] by cp.async, 16 bytes a copy, consecutive threads on
// consecutive bytes of a row; keys past hi are zero-filled (src_bytes 0: nothing is read).
// Df: cache row pitch in values (as load_q).
template <int D, int Bpv, int Df = D>
__device__ __forceinline__ void stage_rows(const AttentionParams & p, const void * cache,
                                           int64_t kvh, int64_t t0, int64_t hi,
                                           unsigned char * stage) {
    using L = Fa<D>;
    constexpr int kChunks = D * Bpv / 16;  // copies per key row
    constexpr int kPer = L::kKeys * kChunks / L::kThreads;
    static_assert(kPer * L::kThreads == L::kKeys * kChunks, "whole passes");
    const unsigned char * base = static_cast<const unsigned char *>(cache);
    const int64_t slot0 = t0 % p.slots;
#pragma unroll 1
    for (int k = 0; k < kPer; ++k) {
        const int e = threadIdx.x + k * L::kThreads, j = e / kChunks, q = e % kChunks;
        const bool live = t0 + j <= hi;
        int64_t slot = slot0 + j;
        if (slot >= p.slots) slot %= p.slots;  // the ring wraps inside this tile
        const unsigned char * src = live ? base + ((slot * p.hkv + kvh) * Df * Bpv + q * 16) : base;
        gemma_cp_async16(stage + (size_t(j) * D * Bpv + q * 16), src, live ? 16 : 0);
    }
}

// Staging rows (Bpv bytes a value) -> f16 rows of dst, four values a step: f32 rounded to f16 as
// load_tile does, bf16 widened exactly to f32 first (kv_load), so the f16 tiles are the same.
template <int D, int Bpv>
__device__ __forceinline__ void convert_rows(const unsigned char * stage, uint16_t * dst) {
    using L = Fa<D>;
    constexpr int kVec = D / 4;
    constexpr int kPer = L::kKeys * kVec / L::kThreads;
    static_assert(kPer * L::kThreads == L::kKeys * kVec, "whole passes");
#pragma unroll 4
    for (int k = 0; k < kPer; ++k) {
        const int e = threadIdx.x + k * L::kThreads, j = e / kVec, c = (e % kVec) * 4;
        const unsigned char * src = stage + (size_t(j) * D + c) * Bpv;
        float4 v;
        if constexpr (Bpv == 4) {
            v = *reinterpret_cast<const float4 *>(src);
        } else {
            const uint2 b = *reinterpret_cast<const uint2 *>(src);
            v = make_float4(__uint_as_float(b.x << 16), __uint_as_float(b.x & 0xffff0000u),
                            __uint_as_float(b.y << 16), __uint_as_float(b.y & 0xffff0000u));
        }
        *reinterpret_cast<uint2 *>(dst + j * L::kLd + c) =
            make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
    }
}

// The key pipeline of one block (see Fa): cache rows for keys [lo, hi] of KV head kvh (row
// pitch Df values, as load_q).
template <int D, int Df = D>
struct KeyPipe {
    using L = Fa<D>;
    const AttentionParams & p;
    int64_t kvh, lo, hi;
    unsigned char * stage;  // kBufs staging buffers
    bool staged;            // false: K and V through registers (q8_0, or no room for staging)
    int32_t kb_next = -1;   // block id of key (next K unit's t0) + threadIdx.x (with block ids)

    __device__ int64_t tile(int u) const { return lo + int64_t(u / 2) * L::kKeys; }
    __device__ unsigned char * buffer(int u) const { return stage + (u % L::kBufs) * L::kStage; }

    // Issues unit u's copies (none past hi or unstaged) as one cp.async group: every thread
    // commits one group per unit, so unit u has landed once kBufs − 1 later groups are pending.
    // A K unit also fetches its keys' block ids into kb_next, to be stored by convert().
    __device__ void issue(int u) {
        const int64_t t0 = tile(u);
        if (t0 <= hi) {
            const void * cache = u % 2 ? p.v_cache : p.k_cache;
            if (staged && p.kv_type == KvType::f32)
                stage_rows<D, 4, Df>(p, cache, kvh, t0, hi, buffer(u));
            if (staged && p.kv_type == KvType::bf16)
                stage_rows<D, 2, Df>(p, cache, kvh, t0, hi, buffer(u));
            if (u % 2 == 0 && p.block_ids && threadIdx.x < L::kKeys) {
                const int64_t t = t0 + threadIdx.x, first = p.positions[0];
                kb_next = t >= first && t <= hi ? p.block_ids[t - first] : -1;
            }
        }
        gemma_cp_async_commit();
    }

    // Waits for this thread's copies of the oldest unit not yet converted (then __syncthreads()).
    __device__ void wait() const { gemma_cp_async_wait<L::kBufs - 1>(); }

    // Unit u (landed, after a barrier) into the f16 tile dst; a K unit also stores the tile's
    // block ids (-1 outside the chunk or past hi; kIdStride apart in dst) when there are any.
    __device__ void convert(int u, uint16_t * dst) const {
        if (!staged)
            load_tile<D, Df>(p, u % 2 ? p.v_cache : p.k_cache, kvh, tile(u), hi, dst);
        else if (p.kv_type == KvType::bf16)
            convert_rows<D, 2>(buffer(u), dst);
        else
            convert_rows<D, 4>(buffer(u), dst);
        if (u % 2 == 0 && p.block_ids && threadIdx.x < L::kKeys)
            reinterpret_cast<int32_t *>(dst + D)[threadIdx.x * L::kIdStride] = kb_next;
    }
};

// s = this warp's D slice of Q·Kᵀ for row group rg: s[nt] is keys [8 nt, 8 nt + 8) as a 16×8
// accumulator (lane: rows g, g + 8, keys 2t, 2t + 1). ldmatrix lane addresses, m = lane / 8:
// Q rows 8 (m & 1) + lane % 8, columns + 8 (m >> 1) -> a[0..3] of the A fragment;
// K keys 8 (m >> 1) + lane % 8, columns + 8 (m & 1) -> b[0], b[1] of key tiles 2 np, 2 np + 1.
template <int D>
__device__ __forceinline__ void scores(const uint16_t * qs, const uint16_t * ks, int rg, int ds,
                                       int lane, float (&s)[Fa<D>::kNt][4]) {
    using L = Fa<D>;
#pragma unroll
    for (int nt = 0; nt < L::kNt; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    const int m = lane / 8, rr = lane % 8;
    const uint16_t * qrow = qs + (rg * 16 + (m & 1) * 8 + rr) * L::kLd + ds * L::kDw + (m >> 1) * 8;
    const uint16_t * krow = ks + ((m >> 1) * 8 + rr) * L::kLd + ds * L::kDw + (m & 1) * 8;
#pragma unroll 2
    for (int kc = 0; kc < L::kDw / 16; ++kc) {
        unsigned a[4];
        gemma_ldmatrix_x4(a, qrow + kc * 16);
#pragma unroll
        for (int np = 0; np < L::kKeys / 16; ++np) {
            unsigned b[4];
            gemma_ldmatrix_x4(b, krow + np * 16 * L::kLd + kc * 16);
            gemma_mma_m16n8k16_f16(s[2 * np], a, b[0], b[1]);
            gemma_mma_m16n8k16_f16(s[2 * np + 1], a, b[2], b[3]);
        }
    }
}

// D = 512: the warps of a row group add their partial S in a fixed order (identical sums in
// each). xs holds each warp's accumulators lane-major; call put, __syncthreads, then add.
template <int D>
__device__ __forceinline__ void partial_put(float * xs, const float (&s)[Fa<D>::kNt][4], int warp,
                                            int lane) {
    float * w = xs + warp * Fa<D>::kNt * 4 * GEMMA_WARP + lane;
#pragma unroll
    for (int nt = 0; nt < Fa<D>::kNt; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) w[(nt * 4 + e) * GEMMA_WARP] = s[nt][e];
}

template <int D>
__device__ __forceinline__ void partial_add(const float * xs, float (&s)[Fa<D>::kNt][4], int rg,
                                            int ds, int lane) {
    using L = Fa<D>;
#pragma unroll
    for (int nt = 0; nt < L::kNt; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float sum = 0.0f;
#pragma unroll
            for (int d = 0; d < L::kSplit; ++d) {
                const float * w = xs + (d * L::kRowGroups + rg) * L::kNt * 4 * GEMMA_WARP + lane;
                sum += d == ds ? s[nt][e] : w[(nt * 4 + e) * GEMMA_WARP];
            }
            s[nt][e] = sum;
        }
}

// The keys every valid row of a warp sees: [lo_max, pos_min] (lo and pos grow with the query,
// and keys up to a row's own position are visible from its lo on, blocks or not).
struct WarpSpan {
    int64_t lo_max, pos_min;
};

__device__ __forceinline__ WarpSpan warp_span(const AttentionParams & p, int64_t ia, int64_t ib) {
    if (ia >= p.n) return {INT64_MAX, -1};  // padding rows only: always masked
    return {row_keys(p, min(ib, p.n - 1)).lo, p.positions[ia]};
}

// Invisible keys of tile t0 to −∞ (lane rows: ra for s[.][0..1], rb for s[.][2..3]); kb: the
// tile's block ids (kIdStride apart, in the K tile) when the chunk has bidirectional blocks.
template <int D>
__device__ __forceinline__ void mask_tile(const RowKeys & ra, const RowKeys & rb, int64_t t0,
                                          int tq, const int32_t * kb, float (&s)[Fa<D>::kNt][4]) {
#pragma unroll
    for (int nt = 0; nt < Fa<D>::kNt; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int j = nt * 8 + 2 * tq + (e & 1);
            const int32_t kbt = kb ? kb[j * Fa<D>::kIdStride] : -1;
            if (!visible_kb(e < 2 ? ra : rb, t0 + j, kbt)) s[nt][e] = -INFINITY;
        }
}

// One tile of the online softmax (log2 domain) for the lane's two rows: new running max m (over
// the 4 lanes of a row), O and l rescaled by 2^(m_old − m_new), s replaced by P = 2^(s − m_new).
// l stays a per-lane partial sum until the end. A row with nothing visible yet keeps m = −∞ and
// uses 0 as its base, so P = 0 and no ∞ − ∞ appears.
template <int NT, int OT>
__device__ __forceinline__ void softmax_tile(float (&s)[NT][4], float (&m)[2], float (&l)[2],
                                             float (&o)[OT][4]) {
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]));
    }
    float base[2], alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], gemma_shfl_xor(mx[r], 1));
        mx[r] = fmaxf(mx[r], gemma_shfl_xor(mx[r], 2));
        base[r] = mx[r] == -INFINITY ? 0.0f : mx[r];
        alpha[r] = exp2f(m[r] - base[r]);
        m[r] = mx[r];
        l[r] *= alpha[r];
    }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            s[nt][e] = exp2f(s[nt][e] - base[e >> 1]);
            l[e >> 1] += s[nt][e];
        }
#pragma unroll
    for (int ot = 0; ot < OT; ++ot) {
        o[ot][0] *= alpha[0], o[ot][1] *= alpha[0];
        o[ot][2] *= alpha[1], o[ot][3] *= alpha[1];
    }
}

// O += P·V over the tile for this warp's D slice. P's A fragment for keys [16 kc, 16 kc + 16) is
// the S accumulators 2 kc (keys 2t, 2t + 1) and 2 kc + 1 (keys 8 + 2t, 9 + 2t), rows g and g + 8,
// packed to f16. V fragments by ldmatrix.trans from the row-major tile: lane addresses keys
// 8 (m & 1) + lane % 8, columns 8 (m >> 1) -> b[0], b[1] of columns [16 dp, +8), b[2], b[3] of +8.
template <int D>
__device__ __forceinline__ void accumulate_pv(const uint16_t * vs, const float (&s)[Fa<D>::kNt][4],
                                              int ds, int lane, float (&o)[Fa<D>::kOt][4]) {
    using L = Fa<D>;
    const int m = lane / 8, rr = lane % 8;
    const uint16_t * vrow = vs + ((m & 1) * 8 + rr) * L::kLd + ds * L::kDw + (m >> 1) * 8;
#pragma unroll
    for (int kc = 0; kc < L::kKeys / 16; ++kc) {
        const unsigned a[4] = {pack_f16x2(s[2 * kc][0], s[2 * kc][1]),
                               pack_f16x2(s[2 * kc][2], s[2 * kc][3]),
                               pack_f16x2(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                               pack_f16x2(s[2 * kc + 1][2], s[2 * kc + 1][3])};
#pragma unroll
        for (int dp = 0; dp < L::kDw / 16; ++dp) {
            unsigned b[4];
            gemma_ldmatrix_x4_trans(b, vrow + kc * 16 * L::kLd + dp * 16);
            gemma_mma_m16n8k16_f16(o[2 * dp], a, b[0], b[1]);
            gemma_mma_m16n8k16_f16(o[2 * dp + 1], a, b[2], b[3]);
        }
    }
}

// out rows ra and ra + 8 of the block (lane columns 8 ot + 2t, +1 of the D slice) = O / l; Df:
// values from one out row to the next (as load_q).
template <int D, int Df = D>
__device__ __forceinline__ void store_out(const AttentionParams & p, int64_t i0, int64_t kvh, int G,
                                          int ra, int ds, int tq, const float (&o)[Fa<D>::kOt][4],
                                          float (&l)[2]) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += gemma_shfl_xor(l[r], 1);
        l[r] += gemma_shfl_xor(l[r], 2);
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;  // nothing visible: zeros, as cpu-ref
        const int row = ra + 8 * r;
        const int64_t i = i0 + row / G, h = kvh * G + row % G;
        if (i >= p.n) continue;
        float * dst = p.out + (i * p.hq + h) * Df + ds * Fa<D>::kDw + 2 * tq;
#pragma unroll
        for (int ot = 0; ot < Fa<D>::kOt; ++ot)
            *reinterpret_cast<float2 *>(dst + ot * 8) =
                make_float2(o[ot][2 * r] * inv, o[ot][2 * r + 1] * inv);
    }
}

// Grid (hkv, row blocks): blocks start in order of x then y, so blockIdx.y counts row blocks from
// the chunk's end: those with the most keys start first and the short ones fill the tail of a
// causal prefill. Per key tile, two phases of two barriers:
//   K: wait for K(t0); sync; K(t0) -> f16 (+ block ids); sync; issue the next unit; S = Q·Kᵀ
//   V: wait for V(t0); sync; (D = 512: partials in) V(t0) -> f16; sync; issue; softmax, O += P·V
// The first barrier of a phase also tells that every warp is done with the f16 tile it rewrites.
// staged: f32 / bf16 tiles arrive through the staging buffers (shared memory up to kBytes);
// false, or q8_0 caches: through registers at conversion time (up to kS is enough).
template <int D>
__global__ void __launch_bounds__(Fa<D>::kThreads, Fa<D>::kMinBlocks)
    attention_fa_kernel(AttentionParams p, bool staged) {
    using L = Fa<D>;
    pdl_enter();
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t * qs = reinterpret_cast<uint16_t *>(smem + L::kQ);
    uint16_t * ks = reinterpret_cast<uint16_t *>(smem + L::kK);
    uint16_t * vs = reinterpret_cast<uint16_t *>(smem + L::kV);
    float * xs = reinterpret_cast<float *>(smem + L::kX);
    const int32_t * kb = p.block_ids ? reinterpret_cast<const int32_t *>(ks + D) : nullptr;
    const int G = int(p.hq / p.hkv);  // divides kRows (attention_fa_ok)
    const int64_t kvh = blockIdx.x, i0 = int64_t(gridDim.y - 1 - blockIdx.y) * (L::kRows / G);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    const int rg = warp % L::kRowGroups, ds = warp / L::kRowGroups, tq = lane % 4;
    const int ra = rg * 16 + lane / 4;  // the lane's block rows: ra and ra + 8

    // The block's key range: from the first row's lo to the last valid row's hi.
    const int64_t lo = row_keys(p, i0).lo, hi = row_keys(p, min(i0 + L::kRows / G, p.n) - 1).hi;
    KeyPipe<D> keys{p, kvh, lo, hi, smem + L::kS, staged && p.kv_type != KvType::q8_0};
    for (int u = 0; u < L::kBufs; ++u) keys.issue(u);
    load_q<D>(p, i0, kvh, G, qs);

    const RowKeys rka = row_keys(p, i0 + ra / G), rkb = row_keys(p, i0 + (ra + 8) / G);
    const WarpSpan span = warp_span(p, i0 + rg * 16 / G, i0 + (rg * 16 + 15) / G);
    float o[L::kOt][4];
#pragma unroll
    for (int ot = 0; ot < L::kOt; ++ot) o[ot][0] = o[ot][1] = o[ot][2] = o[ot][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    int u = 0;  // the tile's K unit
    for (int64_t t0 = lo; t0 <= hi; t0 += L::kKeys, u += 2) {
        keys.wait();
        __syncthreads();  // K(t0) staged, Q stored; every warp done with the last tile
        keys.convert(u, ks);
        __syncthreads();  // K(t0) f16 and its block ids stored; unit u's buffer free
        keys.issue(u + L::kBufs);
        float s[L::kNt][4];
        scores<D>(qs, ks, rg, ds, lane, s);
        if constexpr (L::kSplit > 1) partial_put<D>(xs, s, warp, lane);

        keys.wait();
        __syncthreads();  // V(t0) staged, partials stored; every warp done with K
        if constexpr (L::kSplit > 1) partial_add<D>(xs, s, rg, ds, lane);
        keys.convert(u + 1, vs);
        __syncthreads();  // V(t0) f16 stored; unit u + 1's buffer free
        keys.issue(u + 1 + L::kBufs);
        if (t0 < span.lo_max || t0 + L::kKeys - 1 > span.pos_min)
            mask_tile<D>(rka, rkb, t0, tq, kb, s);
        softmax_tile<L::kNt, L::kOt>(s, m, l, o);
        accumulate_pv<D>(vs, s, ds, lane, o);
    }
    store_out<D>(p, i0, kvh, G, ra, ds, tq, o, l);
}

// ---- D = 512 on a pair of blocks (sm_90 thread-block clusters of two) ----
// The D = 512 kernel above holds 64 rows a block (O of 64 rows × 512 is half the register file),
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
// pitch 512) and the partials added from the peer between the K and the V phase.
__global__ void __launch_bounds__(Fa<256>::kThreads, 1)
    attention_fa_pair_kernel(AttentionParams p) {
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
    KeyPipe<kHalf, 512> keys{ph, kvh, lo, hi, smem + L::kS, true};
    for (int u = 0; u < L::kBufs; ++u) keys.issue(u);
    load_q<kHalf, 512>(ph, i0, kvh, G, qs);

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
        scores<kHalf>(qs, ks, warp, 0, lane, s);
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
            mask_tile<kHalf>(rka, rkb, t0, tq, kb, s);
        softmax_tile<L::kNt, L::kOt>(s, m, l, o);
        accumulate_pv<kHalf>(vs, s, 0, lane, o);
    }
    gemma_cluster_sync();  // the peer has read this block's last partials: its shared memory may go
    store_out<kHalf, 512>(ph, i0, kvh, G, ra, 0, tq, o, l);
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

LaunchResult launch_fa_pair(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    const int64_t queries = Fa<256>::kRows / (p.hq / p.hkv);  // per cluster
    const dim3 grid(unsigned(2 * p.hkv), unsigned((p.n + queries - 1) / queries));
    return launch_result(gpu_launch_cluster(attention_fa_pair_kernel, grid, dim3(Fa<256>::kThreads),
                                            FaPair::kBytes, s, env.pdl, dim3(2, 1, 1), p));
}

// How head dim D runs on this GPU: with the staging (sm_90), without it (the layout up to kS,
// K and V through registers: sm_80, and sm_86/89 up to D = 256), or as attention_tc.
enum class FaMode { staged, unstaged, none };

template <int D>
FaMode fa_mode() {
    if (gpu_set_max_dynamic_smem(attention_fa_kernel<D>, int(Fa<D>::kBytes)) == gpuSuccess)
        return FaMode::staged;
    (void)gpuGetLastError();  // more than this GPU allows a block: not sticky, cleared
    if (gpu_set_max_dynamic_smem(attention_fa_kernel<D>, int(Fa<D>::kS)) == gpuSuccess)
        return FaMode::unstaged;
    (void)gpuGetLastError();
    return FaMode::none;
}

template <int D>
LaunchResult launch_fa(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    static const FaMode mode = fa_mode<D>();
    if (mode == FaMode::none) {
        if (attention_tc_ok(p)) return launch_attention_tc(p, s, env);
        return "attention_fa: this GPU has too little shared memory a block for this head_dim";
    }
    const bool staged = mode == FaMode::staged;
    if constexpr (D == 512) {  // the pair kernel unless GEMMA_FA512_V1=1 (LaunchEnv::fa512_v1)
        static const bool pair = staged && fa_pair_ok();
        if (pair && !env.fa512_v1 && p.kv_type != KvType::q8_0) return launch_fa_pair(p, s, env);
    }
    const size_t smem = staged ? Fa<D>::kBytes : Fa<D>::kS;
    const int64_t queries = Fa<D>::kRows / (p.hq / p.hkv);  // per block
    dim3 grid(unsigned(p.hkv), unsigned((p.n + queries - 1) / queries));
    return launch_kernel(attention_fa_kernel<D>, grid, Fa<D>::kThreads, smem, s, env, p, staged);
}

}  // namespace

bool attention_fa_ok(const AttentionParams & p) {
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
    if (p.n == 0) return nullptr;
    switch (p.d) {
        case 64:
            return launch_fa<64>(p, s, env);
        case 128:
            return launch_fa<128>(p, s, env);
        case 256:
            return launch_fa<256>(p, s, env);
        case 512:
            return launch_fa<512>(p, s, env);
        default:
            return "attention_fa: head_dim must be 64, 128, 256 or 512";
    }
}

#else  // no mma.sync m16n8k16 in this build (compat/hip.h): never chosen

bool attention_fa_ok(const AttentionParams &) { return false; }

LaunchResult launch_attention_fa(const AttentionParams &, gpuStream_t, const LaunchEnv &) {
    return "attention_fa: not built (no mma.sync m16n8k16 in this build); use attention_tc";
}

#endif

}  // namespace gemma::cuda
