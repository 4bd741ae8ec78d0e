// Prefill attention on tensor cores: the same op as attention.cu (core/ops.h Op::attention: ring
// slots, sliding window, bidirectional blocks, GQA) for chunks of many queries, where the SIMT
// kernel re-reads every key once per query. A block takes 64 rows: 64 / G queries × the G query
// heads of one KV head (GQA group of G = hq / hkv), so every staged key tile serves all G heads;
// key tiles of 64 are staged in shared memory as f16 and multiplied with 16×16×16 warp MMAs (f32
// accumulation).
// Two passes over the keys: the first finds each row's softmax max and sum from S = QKᵀ, the
// second forms P = exp(S − max) / sum exactly and accumulates O = P·V, so accumulators are never
// rescaled (the fragment layout stays opaque, as the portable WMMA API requires). Inputs are
// rounded to f16 (scores and softmax in f32): the bf16-compute class of accuracy, not f32.
// bf16 / q8_0 caches are widened value by value (ops/kv_quant.cuh) on their way into the tile.
#include <cfloat>

#include "backends/cuda/ops/attention_rows.cuh"

namespace gemma::cuda {

#if GEMMA_HAS_WMMA
namespace {

namespace wm = gemma_wmma;

constexpr int kRows = 64;  // rows (query, head of the GQA group) per block
constexpr int kKeys = 64;  // keys per tile
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / GEMMA_WARP;  // 8 on CUDA, 4 on HIP (wave64)
constexpr int kWarpsPerRowGroup = kWarps / 4;  // 4 row groups of 16 queries
constexpr int kPadH = 8;                       // f16 padding per shared row (bank spread)
constexpr int kPadF = 4;                       // f32 padding per score row
constexpr int kLdS = kKeys + kPadF, kLdP = kKeys + kPadH;
constexpr int kRowThreads = kThreads / kRows;  // threads sharing one query row in the softmax

using FragA = wm::fragment<wm::matrix_a, 16, 16, 16, gemma_half, wm::row_major>;
using FragKt = wm::fragment<wm::matrix_b, 16, 16, 16, gemma_half, wm::col_major>;
using FragV = wm::fragment<wm::matrix_b, 16, 16, 16, gemma_half, wm::row_major>;
using FragC = wm::fragment<wm::accumulator, 16, 16, 16, float>;

template <int D>
struct Layout {
    static constexpr int kLd = D + kPadH;  // halves per row of q and of the K/V tile
    static constexpr size_t kQ = 0;
    static constexpr size_t kKv = kQ + size_t(kRows) * kLd * 2;
    static constexpr size_t kS = kKv + size_t(kKeys) * kLd * 2;
    static constexpr size_t kP = kS + size_t(kRows) * kLdS * 4;
    static constexpr size_t kBytes = kP + size_t(kRows) * kLdP * 2;
};

// Rows [t0, t0 + kKeys) of a cache (key t in slot t mod S, KV head kvh) into shared f16 rows;
// keys past `hi` are zeros.
template <int D>
__device__ void load_tile(const AttentionParams & p, const void * cache, int64_t kvh, int64_t t0,
                          int64_t hi, uint16_t * dst) {
    constexpr int kVec = D / 4;
    for (int e = threadIdx.x; e < kKeys * kVec; e += kThreads) {
        int j = e / kVec, c = (e % kVec) * 4;
        int64_t t = t0 + j;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (t <= hi) v = load4(p.kv_type, cache, ((t % p.slots) * p.hkv + kvh) * D + c);
        uint2 packed = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w));
        *reinterpret_cast<uint2 *>(dst + j * Layout<D>::kLd + c) = packed;
    }
}

// S = Q·Kᵀ of the staged tile into shared scores (each warp: one row group, some key groups).
template <int D>
__device__ void scores(const uint16_t * qs, const uint16_t * ks, float * s, int warp) {
    constexpr int kGroups = kKeys / 16 / kWarpsPerRowGroup;
    const int rg = warp % 4, cg0 = warp / 4;
    FragC acc[kGroups];
#pragma unroll
    for (int g = 0; g < kGroups; ++g) wm::fill_fragment(acc[g], 0.0f);
    const gemma_half * q = reinterpret_cast<const gemma_half *>(qs) + rg * 16 * Layout<D>::kLd;
    const gemma_half * k = reinterpret_cast<const gemma_half *>(ks);
#pragma unroll 4
    for (int kk = 0; kk < D / 16; ++kk) {
        FragA a;
        wm::load_matrix_sync(a, q + kk * 16, Layout<D>::kLd);
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            FragKt b;
            int cg = cg0 + g * kWarpsPerRowGroup;
            wm::load_matrix_sync(b, k + cg * 16 * Layout<D>::kLd + kk * 16, Layout<D>::kLd);
            wm::mma_sync(acc[g], a, b, acc[g]);
        }
    }
#pragma unroll
    for (int g = 0; g < kGroups; ++g)
        wm::store_matrix_sync(s + rg * 16 * kLdS + (cg0 + g * kWarpsPerRowGroup) * 16, acc[g], kLdS,
                              wm::mem_row_major);
}

__device__ __forceinline__ float row_max(float v) {
#pragma unroll
    for (int m = kRowThreads / 2; m > 0; m >>= 1) v = fmaxf(v, gemma_shfl_xor(v, m));
    return v;
}
__device__ __forceinline__ float row_sum(float v) {
#pragma unroll
    for (int m = kRowThreads / 2; m > 0; m >>= 1) v += gemma_shfl_xor(v, m);
    return v;
}

template <int D>
__global__ void __launch_bounds__(kThreads) attention_tc_kernel(AttentionParams p) {
    pdl_enter();
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t * qs = reinterpret_cast<uint16_t *>(smem + Layout<D>::kQ);
    uint16_t * kv = reinterpret_cast<uint16_t *>(smem + Layout<D>::kKv);
    float * s = reinterpret_cast<float *>(smem + Layout<D>::kS);
    uint16_t * ps = reinterpret_cast<uint16_t *>(smem + Layout<D>::kP);
    // Row r: query i0 + r / G, head kvh · G + r % G.
    const int64_t G = p.hq / p.hkv, kvh = blockIdx.y;
    const int64_t i0 = int64_t(blockIdx.x) * (kRows / G);
    const int warp = threadIdx.x / GEMMA_WARP;

    // Q rows (scaled) as f16.
    for (int e = threadIdx.x; e < kRows * (D / 4); e += kThreads) {
        int r = e / (D / 4), c = (e % (D / 4)) * 4;
        const int64_t i = i0 + r / G, h = kvh * G + r % G;
        float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (i < p.n) v = *reinterpret_cast<const float4 *>(p.q + (i * p.hq + h) * D + c);
        uint2 packed = make_uint2(pack_f16x2(v.x * p.scale, v.y * p.scale),
                                  pack_f16x2(v.z * p.scale, v.w * p.scale));
        *reinterpret_cast<uint2 *>(qs + r * Layout<D>::kLd + c) = packed;
    }

    // This thread's share of the softmax: row r, key columns [c0, c0 + kKeys / kRowThreads).
    const int r = threadIdx.x / kRowThreads,
              c0 = (threadIdx.x % kRowThreads) * (kKeys / kRowThreads);
    const RowKeys rk = row_keys(p, i0 + r / G);
    const RowKeys first = row_keys(p, i0);
    const int64_t last_row = min(i0 + kRows / G, p.n) - 1;
    const int64_t lo = first.lo, hi = row_keys(p, last_row).hi;

    float m = -FLT_MAX, l = 0.0f;
    for (int64_t t0 = lo; t0 <= hi; t0 += kKeys) {  // pass 1: row max and sum
        __syncthreads();
        load_tile<D>(p, p.k_cache, kvh, t0, hi, kv);
        __syncthreads();
        scores<D>(qs, kv, s, warp);
        __syncthreads();
        float mt = -FLT_MAX;
        for (int c = c0; c < c0 + kKeys / kRowThreads; ++c)
            if (visible(p, rk, t0 + c)) mt = fmaxf(mt, s[r * kLdS + c]);
        mt = row_max(mt);
        float m_new = fmaxf(m, mt), sum = 0.0f;
        for (int c = c0; c < c0 + kKeys / kRowThreads; ++c)
            if (visible(p, rk, t0 + c)) sum += expf(s[r * kLdS + c] - m_new);
        l = l * expf(m - m_new) + row_sum(sum);
        m = m_new;
    }
    const float inv_l = l > 0.0f ? 1.0f / l : 0.0f;  // nothing visible: zeros, as cpu-ref

    constexpr int kFrags = D / 16 / kWarpsPerRowGroup;  // output column groups per warp
    const int rg = warp % 4, cf0 = warp / 4;
    FragC o[kFrags];
#pragma unroll
    for (int f = 0; f < kFrags; ++f) wm::fill_fragment(o[f], 0.0f);
    for (int64_t t0 = lo; t0 <= hi; t0 += kKeys) {  // pass 2: O += softmax · V
        __syncthreads();
        load_tile<D>(p, p.k_cache, kvh, t0, hi, kv);
        __syncthreads();
        scores<D>(qs, kv, s, warp);
        __syncthreads();
        for (int c = c0; c < c0 + kKeys / kRowThreads; ++c) {
            float v = visible(p, rk, t0 + c) ? expf(s[r * kLdS + c] - m) * inv_l : 0.0f;
            ps[r * kLdP + c] = gemma_f32_to_f16(v);
        }
        load_tile<D>(p, p.v_cache, kvh, t0, hi, kv);  // K is no longer read
        __syncthreads();
        const gemma_half * pp = reinterpret_cast<const gemma_half *>(ps) + rg * 16 * kLdP;
        const gemma_half * vp = reinterpret_cast<const gemma_half *>(kv);
#pragma unroll
        for (int kk = 0; kk < kKeys / 16; ++kk) {
            FragA a;
            wm::load_matrix_sync(a, pp + kk * 16, kLdP);
#pragma unroll
            for (int f = 0; f < kFrags; ++f) {
                FragV b;
                int cf = cf0 + f * kWarpsPerRowGroup;
                wm::load_matrix_sync(b, vp + kk * 16 * Layout<D>::kLd + cf * 16, Layout<D>::kLd);
                wm::mma_sync(o[f], a, b, o[f]);
            }
        }
    }

    // Out through a per-warp 16×16 staging tile (the score buffer), valid rows only.
    __syncthreads();
    float * stage = s + warp * 16 * 16;
    const int lane = threadIdx.x % GEMMA_WARP;
#pragma unroll
    for (int f = 0; f < kFrags; ++f) {
        int cf = cf0 + f * kWarpsPerRowGroup;
        wm::store_matrix_sync(stage, o[f], 16, wm::mem_row_major);
        gemma_syncwarp();
        for (int e = lane; e < 256; e += GEMMA_WARP) {
            const int64_t row = rg * 16 + e / 16, i = i0 + row / G, h = kvh * G + row % G;
            if (i < p.n) p.out[(i * p.hq + h) * D + cf * 16 + e % 16] = stage[e];
        }
        gemma_syncwarp();
    }
}

template <int D>
LaunchResult launch_tc(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    static const gpuError_t attr =
        gpu_set_max_dynamic_smem(attention_tc_kernel<D>, int(Layout<D>::kBytes));
    if (attr != gpuSuccess) return gpuGetErrorString(attr);
    const int64_t queries = kRows / (p.hq / p.hkv);  // per block
    dim3 grid(unsigned((p.n + queries - 1) / queries), unsigned(p.hkv));
    return launch_kernel(attention_tc_kernel<D>, grid, kThreads, Layout<D>::kBytes, s, env, p);
}

}  // namespace

bool attention_tc_ok(const AttentionParams & p) {
    bool d_ok = p.d == 64 || p.d == 128 || p.d == 256 || p.d == 512;
    // Whole GQA groups per block: G = hq / hkv divides the block's rows.
    bool gqa_ok = p.hkv > 0 && p.hq % p.hkv == 0 && kRows % (p.hq / p.hkv) == 0;
    auto aligned = [](const void * ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
    bool caches_ok = p.kv_type != KvType::f32 || (aligned(p.k_cache) && aligned(p.v_cache));
    return d_ok && gqa_ok && p.n >= kAttentionTcMinRows && aligned(p.q) && caches_ok;
}

LaunchResult launch_attention_tc(const AttentionParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    switch (p.d) {
        case 64:
            return launch_tc<64>(p, s, env);
        case 128:
            return launch_tc<128>(p, s, env);
        case 256:
            return launch_tc<256>(p, s, env);
        case 512:
            return launch_tc<512>(p, s, env);
        default:
            return "attention_tc: head_dim must be 64, 128, 256 or 512";
    }
}

#else  // no warp matrix API in this build (compat/hip.h without rocWMMA): never chosen

bool attention_tc_ok(const AttentionParams &) { return false; }

LaunchResult launch_attention_tc(const AttentionParams &, gpuStream_t, const LaunchEnv &) {
    return "attention_tc: not built (this HIP build has no rocWMMA); use the attention kernel";
}

#endif

}  // namespace gemma::cuda
