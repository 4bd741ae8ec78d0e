// Prefill attention in one pass over the keys, FlashAttention-2 style: the op of attention.cu /
// attention_tc.cu (core/ops.h Op::attention: ring slots, sliding window, bidirectional blocks,
// GQA, scale; rows that see nothing give zeros) for chunks of many queries, on sm_80+ tensor cores.
// A block takes 64 rows = 64 / G queries × the G query heads of one KV head (as attention_tc), so
// every staged key tile serves the whole GQA group. Each warp owns 16 rows: S = Q·Kᵀ and O += P·V
// are mma.sync m16n8k16 (f16 inputs, f32 accumulation) whose documented fragment layout
// (compat/cuda.h) lets the softmax run on the S accumulators and P feed the P·V mma straight
// from registers, with a running max m and sum l per row and O rescaled when m grows.
// Inputs are rounded to f16 like attention_tc (q scaled first; P in [0, 1] before the final 1 / l),
// scores, softmax and accumulation in f32; exp2 with log2(e) folded into the q scale.
#include <cfloat>

#include "backends/cuda/ops/attention_rows.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_MMA_M16N8K16
namespace {

static_assert(GEMMA_WARP == 32, "mma.sync fragments are laid out over 32 lanes");

constexpr int kRows = 64;               // rows (query, head of the GQA group) per block
constexpr int kRowGroups = kRows / 16;  // 16-row groups: one warp each (kSplit warps for D = 512)
constexpr int kPad = 8;  // f16 padding per shared row: the 8 rows of an ldmatrix hit 32 banks
constexpr float kLog2e = 1.4426950408889634f;

// Shapes and shared layout for head dim D. O is 16 × Dw f32 per warp = Dw / 2 registers a lane,
// so D = 512 splits D over kSplit = 2 warps per row group: each warp multiplies its D slice of
// Q·Kᵀ (a partial S), the partials are summed through shared memory (every warp of the group
// then holds the same full S) and each warp accumulates P·V for its D slice of O. The S tile
// shrinks to 32 keys there to fit Q, K, V and the partials in shared memory (146 KiB).
template <int D>
struct Fa {
    static constexpr int kSplit = D > 256 ? 2 : 1;
    static constexpr int kDw = D / kSplit;           // the warp's slice of D
    static constexpr int kKeys = D > 256 ? 32 : 64;  // keys per tile
    static constexpr int kThreads = kRowGroups * kSplit * GEMMA_WARP;
    static constexpr int kNt = kKeys / 8;  // 16×8 S accumulators per warp
    static constexpr int kOt = kDw / 8;    // 16×8 O accumulators per warp
    static constexpr int kLd = D + kPad;   // halves per shared row of Q, K and V
    static constexpr size_t kQ = 0;        // Q [kRows][kLd] f16, scaled by scale · log2(e)
    static constexpr size_t kK = kQ + size_t(kRows) * kLd * 2;  // K tile [kKeys][kLd] f16
    static constexpr size_t kV = kK + size_t(kKeys) * kLd * 2;  // V tile [kKeys][kLd] f16
    static constexpr size_t kX = kV + size_t(kKeys) * kLd * 2;  // S partials, lane-major
    // The tile's bidirectional block ids [kKeys] int32 (only with p.block_ids).
    static constexpr size_t kB = kX + (kSplit > 1 ? size_t(kThreads) * kNt * 4 * 4 : 0);
    static constexpr size_t kBytes = kB + size_t(kKeys) * 4;
};

// Block rows r = [0, kRows): query i0 + r / G, head kvh · G + r % G; scaled q as f16 rows.
template <int D>
__device__ void load_q(const AttentionParams & p, int64_t i0, int64_t kvh, int64_t G,
                       uint16_t * qs) {
    const float sc = p.scale * kLog2e;
    for (int e = threadIdx.x; e < kRows * (D / 4); e += Fa<D>::kThreads) {
        const int r = e / (D / 4), c = (e % (D / 4)) * 4;
        const int64_t i = i0 + r / G, h = kvh * G + r % G;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (i < p.n) v = *reinterpret_cast<const float4 *>(p.q + (i * p.hq + h) * D + c);
        *reinterpret_cast<uint2 *>(qs + r * Fa<D>::kLd + c) =
            make_uint2(pack_f16x2(v.x * sc, v.y * sc), pack_f16x2(v.z * sc, v.w * sc));
    }
}

// Keys [t0, t0 + kKeys) of a cache (key t in slot t mod slots, KV head kvh) into shared f16 rows;
// keys past `hi` are zeros. Each thread keeps one 4-column group (kThreads is a multiple of D / 4).
template <int D>
__device__ void load_tile(const AttentionParams & p, const void * cache, int64_t kvh, int64_t t0,
                          int64_t hi, uint16_t * dst) {
    using L = Fa<D>;
    constexpr int kVec = D / 4, kRowsPerPass = L::kThreads / kVec;
    static_assert(L::kThreads % kVec == 0 && L::kKeys % kRowsPerPass == 0, "tile passes");
    const int c = (threadIdx.x % kVec) * 4, j0 = threadIdx.x / kVec;
    const int64_t slot0 = t0 % p.slots;
#pragma unroll 4
    for (int j = j0; j < L::kKeys; j += kRowsPerPass) {
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (t0 + j <= hi) {
            int64_t slot = slot0 + j;
            if (slot >= p.slots) slot %= p.slots;
            v = load4(p.kv_type, cache, (slot * p.hkv + kvh) * D + c);
        }
        *reinterpret_cast<uint2 *>(dst + j * L::kLd + c) =
            make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
    }
}

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
                const float * w = xs + (d * kRowGroups + rg) * L::kNt * 4 * GEMMA_WARP + lane;
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

// Block ids of keys [t0, t0 + n) into shared memory (-1 outside the chunk or past hi), so that
// masking reads them there instead of one global load per score (attention_rows.cuh visible).
__device__ __forceinline__ void stage_block_ids(const AttentionParams & p, int64_t t0, int64_t hi,
                                                int n, int32_t * kb) {
    const int64_t first = p.positions[0];
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const int64_t t = t0 + j;
        kb[j] = t >= first && t <= hi ? p.block_ids[t - first] : -1;
    }
}

// visible() with key t's block id kbt from shared memory (same rule).
__device__ __forceinline__ bool visible_kb(const RowKeys & r, int64_t t, int32_t kbt) {
    if (t < r.lo || t > r.hi) return false;
    return t <= r.pos || (r.block >= 0 && kbt == r.block);
}

// Invisible keys of tile t0 to −∞ (lane rows: ra for s[.][0..1], rb for s[.][2..3]); kb: the
// tile's block ids in shared memory when the chunk has bidirectional blocks, else null.
template <int NT>
__device__ __forceinline__ void mask_tile(const RowKeys & ra, const RowKeys & rb, int64_t t0,
                                          int tq, const int32_t * kb, float (&s)[NT][4]) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int j = nt * 8 + 2 * tq + (e & 1);
            if (!visible_kb(e < 2 ? ra : rb, t0 + j, kb ? kb[j] : -1)) s[nt][e] = -INFINITY;
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

// out rows ra and ra + 8 of the block (lane columns 8 ot + 2t, +1 of the D slice) = O / l.
template <int D>
__device__ __forceinline__ void store_out(const AttentionParams & p, int64_t i0, int64_t kvh,
                                          int64_t G, int ra, int ds, int tq,
                                          const float (&o)[Fa<D>::kOt][4], float (&l)[2]) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += gemma_shfl_xor(l[r], 1);
        l[r] += gemma_shfl_xor(l[r], 2);
        const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;  // nothing visible: zeros, as cpu-ref
        const int row = ra + 8 * r;
        const int64_t i = i0 + row / G, h = kvh * G + row % G;
        if (i >= p.n) continue;
        float * dst = p.out + (i * p.hq + h) * D + ds * Fa<D>::kDw + 2 * tq;
#pragma unroll
        for (int ot = 0; ot < Fa<D>::kOt; ++ot)
            *reinterpret_cast<float2 *>(dst + ot * 8) =
                make_float2(o[ot][2 * r] * inv, o[ot][2 * r + 1] * inv);
    }
}

// Grid (row blocks, hkv). Per key tile: sync; stage V (and the keys' block ids); S = Q·Kᵀ
// (partials out); sync; partials in; stage the next K; mask, softmax, O += P·V. Two barriers a
// tile, one pass over the keys.
template <int D>
__global__ void __launch_bounds__(Fa<D>::kThreads) attention_fa_kernel(AttentionParams p) {
    using L = Fa<D>;
    pdl_enter();
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t * qs = reinterpret_cast<uint16_t *>(smem + L::kQ);
    uint16_t * ks = reinterpret_cast<uint16_t *>(smem + L::kK);
    uint16_t * vs = reinterpret_cast<uint16_t *>(smem + L::kV);
    float * xs = reinterpret_cast<float *>(smem + L::kX);
    int32_t * kb = p.block_ids ? reinterpret_cast<int32_t *>(smem + L::kB) : nullptr;
    const int64_t G = p.hq / p.hkv, kvh = blockIdx.y;
    const int64_t i0 = int64_t(blockIdx.x) * (kRows / G);
    const int warp = threadIdx.x / GEMMA_WARP, lane = threadIdx.x % GEMMA_WARP;
    const int rg = warp % kRowGroups, ds = warp / kRowGroups, tq = lane % 4;
    const int ra = rg * 16 + lane / 4;  // the lane's block rows: ra and ra + 8

    // The block's key range: from the first row's lo to the last valid row's hi.
    const int64_t lo = row_keys(p, i0).lo, hi = row_keys(p, min(i0 + kRows / G, p.n) - 1).hi;
    load_q<D>(p, i0, kvh, G, qs);
    if (lo <= hi) load_tile<D>(p, p.k_cache, kvh, lo, hi, ks);

    const RowKeys rka = row_keys(p, i0 + ra / G), rkb = row_keys(p, i0 + (ra + 8) / G);
    const WarpSpan span = warp_span(p, i0 + rg * 16 / G, i0 + (rg * 16 + 15) / G);
    float o[L::kOt][4];
#pragma unroll
    for (int ot = 0; ot < L::kOt; ++ot) o[ot][0] = o[ot][1] = o[ot][2] = o[ot][3] = 0.0f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

    for (int64_t t0 = lo; t0 <= hi; t0 += L::kKeys) {
        __syncthreads();  // K(t0) and Q stored; every warp done with V and the partials
        load_tile<D>(p, p.v_cache, kvh, t0, hi, vs);
        if (kb) stage_block_ids(p, t0, hi, L::kKeys, kb);
        float s[L::kNt][4];
        scores<D>(qs, ks, rg, ds, lane, s);
        if constexpr (L::kSplit > 1) partial_put<D>(xs, s, warp, lane);
        __syncthreads();  // V(t0) and partials stored; every warp done with K
        if constexpr (L::kSplit > 1) partial_add<D>(xs, s, rg, ds, lane);
        if (t0 + L::kKeys <= hi) load_tile<D>(p, p.k_cache, kvh, t0 + L::kKeys, hi, ks);
        if (t0 < span.lo_max || t0 + L::kKeys - 1 > span.pos_min)
            mask_tile<L::kNt>(rka, rkb, t0, tq, kb, s);
        softmax_tile<L::kNt, L::kOt>(s, m, l, o);
        accumulate_pv<D>(vs, s, ds, lane, o);
    }
    store_out<D>(p, i0, kvh, G, ra, ds, tq, o, l);
}

template <int D>
LaunchResult launch_fa(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    static const gpuError_t attr =
        gpu_set_max_dynamic_smem(attention_fa_kernel<D>, int(Fa<D>::kBytes));
    if (attr != gpuSuccess) return gpuGetErrorString(attr);
    const int64_t queries = kRows / (p.hq / p.hkv);  // per block
    dim3 grid(unsigned((p.n + queries - 1) / queries), unsigned(p.hkv));
    return launch_kernel(attention_fa_kernel<D>, grid, Fa<D>::kThreads, Fa<D>::kBytes, s, env, p);
}

}  // namespace

bool attention_fa_ok(const AttentionParams & p) {
    bool d_ok = p.d == 64 || p.d == 128 || p.d == 256 || p.d == 512;
    // Whole GQA groups per block: G = hq / hkv divides the block's rows.
    bool gqa_ok = p.hkv > 0 && p.hq % p.hkv == 0 && kRows % (p.hq / p.hkv) == 0;
    auto aligned = [](const void * ptr, uintptr_t a) {
        return reinterpret_cast<uintptr_t>(ptr) % a == 0;
    };
    bool caches_ok = p.kv_type != KvType::f32 || (aligned(p.k_cache, 16) && aligned(p.v_cache, 16));
    return d_ok && gqa_ok && p.n >= kAttentionTcMinRows && aligned(p.q, 16) && aligned(p.out, 8) &&
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
