// attention_fa's block shapes, device steps and kernel body (ops/attention_fa.cu describes the
// op and holds the shapes in use and the D = 512 pair kernel): one kernel template, instantiated
// once per block shape (FaShape).
#pragma once

#include <cfloat>

#include "backends/cuda/ops/attention_rows.cuh"
#include "backends/cuda/ops/x16.cuh"

namespace gemma::cuda::fa {

#if GEMMA_HAS_MMA_M16N8K16

static_assert(GEMMA_WARP == 32, "mma.sync fragments are laid out over 32 lanes");

constexpr int kPad = 8;  // f16 padding per shared row: the 8 rows of an ldmatrix hit 32 banks
constexpr float kLog2e = 1.4426950408889634f;
constexpr size_t kMaxSmem = 232448;  // sm_90 opt-in shared memory per block (227 KiB)

// A block shape for head dim D: Rows rows (16-row groups), D split over Split warps per row
// group, Keys keys a tile, Bufs staging buffers, MinBlocks blocks an SM the registers must allow
// (launch bounds), SharedTile: the f16 K and V tiles in one buffer (K's last reader, S = Q·Kᵀ,
// is done at the barrier before V is converted, and V's, P·V, at the barrier before the next K;
// the block ids in K's row padding survive, V fills columns [0, D) only).
// O is 16 × Dw f32 per warp = Dw / 2 registers a lane (Dw = D / Split). With Split > 1 each warp
// multiplies its D slice of Q·Kᵀ (a partial S), the partials are summed through shared memory
// in a fixed order (every warp of the group then holds the same full S) and each warp
// accumulates P·V for its D slice of O.
// The key pipeline moves "units": unit u is matrix u % 2 (0 K, 1 V) of key tile u / 2, staged raw
// (f32: 4 bytes a value, bf16: 2) in staging buffer u % Bufs and converted to the f16 tile when
// its turn comes; converting unit u frees its buffer for unit u + Bufs. Shared layout (bytes;
// kLd = D + 8 halves a f16 row): Q [Rows][kLd], K16 and V16 [Keys][kLd], the S partials
// (Split > 1), then the staging; GPUs with less shared memory a block run the same kernel
// without the staging (up to kS), loading K and V through registers as q8_0 caches always do.
template <int D, int Rows, int Split, int Keys, int Bufs, int MinBlocks, bool SharedTile>
struct FaShape {
    static constexpr int kD = D;
    static constexpr int kRows = Rows;
    static constexpr int kRowGroups = Rows / 16;  // 16-row groups of kSplit warps each
    static constexpr int kSplit = Split;
    static constexpr int kDw = D / Split;  // the warp's slice of D
    static constexpr int kKeys = Keys;     // keys per tile
    static constexpr int kBufs = Bufs;     // staging buffers (units in flight)
    static constexpr int kThreads = kRowGroups * kSplit * GEMMA_WARP;
    static constexpr int kMinBlocks = MinBlocks;
    static constexpr int kNt = kKeys / 8;                    // 16×8 S accumulators per warp
    static constexpr int kOt = kDw / 8;                      // 16×8 O accumulators per warp
    static constexpr int kLd = D + kPad;                     // halves per shared row of Q, K and V
    static constexpr size_t kStage = size_t(kKeys) * D * 4;  // bytes of one staging buffer
    static constexpr size_t kTile = size_t(kKeys) * kLd * 2;  // bytes of one f16 K or V tile
    static constexpr size_t kQ = 0;  // Q [kRows][kLd] f16, scaled by scale · log2(e)
    static constexpr size_t kK = kQ + size_t(kRows) * kLd * 2;      // K tile [kKeys][kLd] f16
    static constexpr size_t kV = SharedTile ? kK : kK + kTile;      // V tile [kKeys][kLd] f16
    static constexpr size_t kX = kV + kTile;                        // S partials, lane-major
    static constexpr size_t kS = kX + (kSplit > 1 ? size_t(kThreads) * kNt * 4 * 4 : 0);
    static constexpr size_t kBytes = kS + kBufs * kStage;  // staging [kBufs][kStage] bytes at kS
    // Key j's bidirectional block id (int32) rides in the K tile's row padding: halves D, D + 1
    // of row j, which ldmatrix never reads, so the ids take no shared memory of their own.
    static constexpr int kIdStride = kLd / 2;  // int32 from one key's id to the next
    // Lean: O of 16 × 128 or more (64+ registers a lane) on a budget of 128 registers a thread
    // (512 threads an SM's blocks need them all). Such shapes keep fewer values through the key
    // loop (the lanes' row key ranges are looked up again on the tiles that need masking: held
    // through the loop they spill) and keep 4 D steps of Q·Kᵀ in flight (16-key tiles leave
    // the registers for it).
    static constexpr bool kLean = kThreads * kMinBlocks >= 512 && kOt >= 16;
    static constexpr int kScoresUnroll = kLean ? 4 : 2;  // D steps of S = Q·Kᵀ in flight
    static_assert(Rows % 16 == 0 && kDw % 16 == 0 && kKeys % 16 == 0, "whole mma tiles");
    static_assert(kThreads <= 1024 && kThreads >= kKeys, "block size (block ids: a thread a key)");
    static_assert(kS % 16 == 0, "cp.async needs 16-byte aligned staging");
    static_assert(kBytes <= kMaxSmem, "shared layout over the per-block limit");
};

// Block rows r = [0, kRows): query i0 + r / G, head kvh · G + r % G; scaled q as f16 rows. Unrolled
// so that each thread has 8 loads in flight (the rows of a block are 32 to 128 KiB of f32).
// Df: values from one q row to the next (D, or 512 for the half rows of the pair kernel).
template <class L, int Df = L::kD>
__device__ void load_q(const AttentionParams & p, int64_t i0, int64_t kvh, int G, uint16_t * qs) {
    constexpr int D = L::kD;
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
template <class L, int Df = L::kD>
__device__ void load_tile(const AttentionParams & p, const void * cache, int64_t kvh, int64_t t0,
                          int64_t hi, uint16_t * dst) {
    constexpr int D = L::kD;
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
template <class L, int Bpv, int Df = L::kD>
__device__ __forceinline__ void stage_rows(const AttentionParams & p, const void * cache,
                                           int64_t kvh, int64_t t0, int64_t hi,
                                           unsigned char * stage) {
    constexpr int D = L::kD;
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
template <class L, int Bpv>
__device__ __forceinline__ void convert_rows(const unsigned char * stage, uint16_t * dst) {
    constexpr int D = L::kD;
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

// The key pipeline of one block (see FaShape): cache rows for keys [lo, hi] of KV head kvh (row
// pitch Df values, as load_q).
template <class L, int Df = L::kD>
struct KeyPipe {
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
                stage_rows<L, 4, Df>(p, cache, kvh, t0, hi, buffer(u));
            if (staged && p.kv_type == KvType::bf16)
                stage_rows<L, 2, Df>(p, cache, kvh, t0, hi, buffer(u));
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
            load_tile<L, Df>(p, u % 2 ? p.v_cache : p.k_cache, kvh, tile(u), hi, dst);
        else if (p.kv_type == KvType::bf16)
            convert_rows<L, 2>(buffer(u), dst);
        else
            convert_rows<L, 4>(buffer(u), dst);
        if (u % 2 == 0 && p.block_ids && threadIdx.x < L::kKeys)
            reinterpret_cast<int32_t *>(dst + L::kD)[threadIdx.x * L::kIdStride] = kb_next;
    }
};

// s = this warp's D slice of Q·Kᵀ for row group rg: s[nt] is keys [8 nt, 8 nt + 8) as a 16×8
// accumulator (lane: rows g, g + 8, keys 2t, 2t + 1). ldmatrix lane addresses, m = lane / 8:
// Q rows 8 (m & 1) + lane % 8, columns + 8 (m >> 1) -> a[0..3] of the A fragment;
// K keys 8 (m >> 1) + lane % 8, columns + 8 (m & 1) -> b[0], b[1] of key tiles 2 np, 2 np + 1.
template <class L>
__device__ __forceinline__ void scores(const uint16_t * qs, const uint16_t * ks, int rg, int ds,
                                       int lane, float (&s)[L::kNt][4]) {
#pragma unroll
    for (int nt = 0; nt < L::kNt; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    const int m = lane / 8, rr = lane % 8;
    const uint16_t * qrow = qs + (rg * 16 + (m & 1) * 8 + rr) * L::kLd + ds * L::kDw + (m >> 1) * 8;
    const uint16_t * krow = ks + ((m >> 1) * 8 + rr) * L::kLd + ds * L::kDw + (m & 1) * 8;
#pragma unroll L::kScoresUnroll
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

// kSplit > 1: the warps of a row group add their partial S in a fixed order (identical sums in
// each). xs holds each warp's accumulators lane-major; call put, __syncthreads, then add.
template <class L>
__device__ __forceinline__ void partial_put(float * xs, const float (&s)[L::kNt][4], int warp,
                                            int lane) {
    float * w = xs + warp * L::kNt * 4 * GEMMA_WARP + lane;
#pragma unroll
    for (int nt = 0; nt < L::kNt; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) w[(nt * 4 + e) * GEMMA_WARP] = s[nt][e];
}

template <class L>
__device__ __forceinline__ void partial_add(const float * xs, float (&s)[L::kNt][4], int rg,
                                            int ds, int lane) {
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
template <class L>
__device__ __forceinline__ void mask_tile(const RowKeys & ra, const RowKeys & rb, int64_t t0,
                                          int tq, const int32_t * kb, float (&s)[L::kNt][4]) {
#pragma unroll
    for (int nt = 0; nt < L::kNt; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int j = nt * 8 + 2 * tq + (e & 1);
            const int32_t kbt = kb ? kb[j * L::kIdStride] : -1;
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
template <class L>
__device__ __forceinline__ void accumulate_pv(const uint16_t * vs, const float (&s)[L::kNt][4],
                                              int ds, int lane, float (&o)[L::kOt][4]) {
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
// values from one out row to the next (as load_q). With r.hi (fusion.h (round)) also the 16-bit
// terms of every value written, at the same flat index + off in r's arrays of n·hq·d values
// (off: where p.out starts in the whole output, for the pair kernel's halves), with the matmul's
// own rounding (ops/x16.cuh), so the o projection reads the bytes its rounding kernel would write.
template <class L, int Df = L::kD>
__device__ __forceinline__ void store_out(const AttentionParams & p, const Round16Out & r,
                                          int64_t off, int64_t i0, int64_t kvh, int G, int ra,
                                          int ds, int tq, const float (&o)[L::kOt][4],
                                          float (&l)[2]) {
    uint16_t * hi = r.hi ? static_cast<uint16_t *>(r.hi) + off : nullptr;
    uint16_t * lo = r.hi && r.split ? x16_lo(r, p.n * p.hq * p.d) + off : nullptr;
#pragma unroll
    for (int rr = 0; rr < 2; ++rr) {
        l[rr] += gemma_shfl_xor(l[rr], 1);
        l[rr] += gemma_shfl_xor(l[rr], 2);
        const float inv = l[rr] > 0.0f ? 1.0f / l[rr] : 0.0f;  // nothing visible: zeros, as cpu-ref
        const int row = ra + 8 * rr;
        const int64_t i = i0 + row / G, h = kvh * G + row % G;
        if (i >= p.n) continue;
        const int64_t e = (i * p.hq + h) * Df + ds * L::kDw + 2 * tq;
#pragma unroll
        for (int ot = 0; ot < L::kOt; ++ot) {
            const float v0 = o[ot][2 * rr] * inv, v1 = o[ot][2 * rr + 1] * inv;
            *reinterpret_cast<float2 *>(p.out + e + ot * 8) = make_float2(v0, v1);
            if (hi) {
                x16_store(hi, lo, e + ot * 8, v0, r.type);
                x16_store(hi, lo, e + ot * 8 + 1, v1, r.type);
            }
        }
    }
}

// Grid (hkv, row blocks): blocks start in order of x then y, so blockIdx.y counts row blocks from
// the chunk's end: those with the most keys start first and the short ones fill the tail of a
// causal prefill. Per key tile, two phases of two barriers:
//   K: wait for K(t0); sync; K(t0) -> f16 (+ block ids); sync; issue the next unit; S = Q·Kᵀ
//   V: wait for V(t0); sync; (kSplit > 1: partials in) V(t0) -> f16; sync; issue; softmax, O += P·V
// The first barrier of a phase also tells that every warp is done with the f16 tile it rewrites
// (for a shared K/V tile: K's readers before V, V's before the next K).
// staged: f32 / bf16 tiles arrive through the staging buffers (shared memory up to kBytes);
// false, or q8_0 caches: through registers at conversion time (up to kS is enough).
// r: the 16-bit terms of out as well when r.hi (store_out).
template <class L>
__global__ void __launch_bounds__(L::kThreads, L::kMinBlocks)
    attention_fa_kernel(AttentionParams p, Round16Out r, bool staged) {
    constexpr int D = L::kD;
    pdl_enter();
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t * qs = reinterpret_cast<uint16_t *>(smem + L::kQ);
    uint16_t * ks = reinterpret_cast<uint16_t *>(smem + L::kK);
    uint16_t * vs = reinterpret_cast<uint16_t *>(smem + L::kV);
    float * xs = reinterpret_cast<float *>(smem + L::kX);
    const int32_t * kb = p.block_ids ? reinterpret_cast<const int32_t *>(ks + D) : nullptr;
    const int G = int(p.hq / p.hkv);  // divides kRows (attention_fa_ok, the variant's launch)
    const int64_t kvh = blockIdx.x, i0 = int64_t(gridDim.y - 1 - blockIdx.y) * (L::kRows / G);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    const int rg = warp % L::kRowGroups, ds = warp / L::kRowGroups, tq = lane % 4;
    const int ra = rg * 16 + lane / 4;  // the lane's block rows: ra and ra + 8

    // The block's key range: from the first row's lo to the last valid row's hi.
    const int64_t lo = row_keys(p, i0).lo, hi = row_keys(p, min(i0 + L::kRows / G, p.n) - 1).hi;
    KeyPipe<L> keys{p, kvh, lo, hi, smem + L::kS, staged && p.kv_type != KvType::q8_0};
    for (int u = 0; u < L::kBufs; ++u) keys.issue(u);
    load_q<L>(p, i0, kvh, G, qs);

    // The lane's rows' key ranges (lean shapes: looked up where a tile needs masking).
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
        scores<L>(qs, ks, rg, ds, lane, s);
        if constexpr (L::kSplit > 1) partial_put<L>(xs, s, warp, lane);

        keys.wait();
        __syncthreads();  // V(t0) staged, partials stored; every warp done with K
        if constexpr (L::kSplit > 1) partial_add<L>(xs, s, rg, ds, lane);
        keys.convert(u + 1, vs);
        __syncthreads();  // V(t0) f16 stored; unit u + 1's buffer free
        keys.issue(u + 1 + L::kBufs);
        if (t0 < span.lo_max || t0 + L::kKeys - 1 > span.pos_min) {
            if constexpr (L::kLean)
                mask_tile<L>(row_keys(p, i0 + ra / G), row_keys(p, i0 + (ra + 8) / G), t0, tq, kb,
                             s);
            else
                mask_tile<L>(rka, rkb, t0, tq, kb, s);
        }
        softmax_tile<L::kNt, L::kOt>(s, m, l, o);
        accumulate_pv<L>(vs, s, ds, lane, o);
    }
    store_out<L>(p, r, 0, i0, kvh, G, ra, ds, tq, o, l);
}

// How a block shape runs on this GPU: with the staging (sm_90), without it (the layout up to kS,
// K and V through registers: sm_80, and sm_86/89 up to D = 256), or not at all.
enum class FaMode { staged, unstaged, none };

template <class L>
FaMode fa_mode() {
    if (gpu_set_max_dynamic_smem(attention_fa_kernel<L>, int(L::kBytes)) == gpuSuccess)
        return FaMode::staged;
    (void)gpuGetLastError();  // more than this GPU allows a block: not sticky, cleared
    if (gpu_set_max_dynamic_smem(attention_fa_kernel<L>, int(L::kS)) == gpuSuccess)
        return FaMode::unstaged;
    (void)gpuGetLastError();
    return FaMode::none;
}

// Queries per block of shape L for GQA groups of G; 0 when G does not divide its rows.
template <class L>
int64_t fa_queries(const AttentionParams & p) {
    const int64_t G = p.hq / p.hkv;
    return L::kRows % G == 0 ? L::kRows / G : 0;
}

// attention_fa_kernel<L> over the chunk in `mode` (not none): grid (hkv, row blocks).
template <class L>
LaunchResult launch_fa_shape(const AttentionParams & p, const Round16Out & r, FaMode mode,
                             gpuStream_t s, const LaunchEnv & env) {
    const bool staged = mode == FaMode::staged;
    const size_t smem = staged ? L::kBytes : L::kS;
    const int64_t queries = fa_queries<L>(p);  // per block
    dim3 grid(unsigned(p.hkv), unsigned((p.n + queries - 1) / queries));
    return launch_kernel(attention_fa_kernel<L>, grid, L::kThreads, smem, s, env, p, r, staged);
}

#endif  // GEMMA_HAS_MMA_M16N8K16

}  // namespace gemma::cuda::fa
