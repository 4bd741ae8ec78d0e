// Highway kernels for q8_0 / q4_0 weights: activations quantized per 32-value block to int16
// (scale max|x| / 32767, so the activation error is ~2^-16 relative, far below the weights'),
// then integer block dots: int8 weights (q4_0: nibbles − 8) widened to int16 and multiplied
// pairwise into int32 lanes (x86 madd), one f32 multiply-add per block with d_w · d_x.
// |q| ≤ 128 and |x| ≤ 32767 keep a block's sum below 2^28: no int32 overflow.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/fast/simd_quant.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <cmath>
#include <vector>

#include "backends/cpu/fast/simd.h"
#include "core/dtype.h"
#include "core/quant.h"

HWY_BEFORE_NAMESPACE();
namespace gemma::cpu::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 32 int16 lanes: a block is 1 step (AVX3), 2 (AVX2) or 4 (128-bit targets).
using D16 = hn::CappedTag<int16_t, 32>;
using D32 = hn::Repartition<int32_t, D16>;
using DF = hn::Repartition<float, D16>;
using D8 = hn::Rebind<int8_t, D16>;
using DU8 = hn::Rebind<uint8_t, D16>;
using V16 = hn::Vec<D16>;
using V32 = hn::Vec<D32>;
using VF = hn::Vec<DF>;

// Weight block b of one row, widened to int16, as the lanes [j, j + N16) of the 32 values.
struct Q8Row {
    const BlockQ8_0 * b;
    // Calls f(w16, offset) for every N16-lane piece of block i.
    template <class F>
    HWY_INLINE void pieces(int64_t i, F && f) const {
        const D16 d16;
        const D8 d8;
        const int N = int(hn::Lanes(d16));
        for (int j = 0; j < 32; j += N) f(hn::PromoteTo(d16, hn::LoadU(d8, b[i].qs + j)), j);
    }
};

struct Q4Row {
    const BlockQ4_0 * b;
    template <class F>
    HWY_INLINE void pieces(int64_t i, F && f) const {
        const D16 d16;
        const DU8 du8;
        const int N = int(hn::Lanes(d16));
#if HWY_TARGET != HWY_SCALAR
        if constexpr (hn::MaxLanes(D16()) >= 32) {  // one vector: low nibbles, then high ones
            const hn::Half<D16> dh;
            const hn::Rebind<uint8_t, decltype(dh)> du8h;
            const auto v = hn::PromoteTo(dh, hn::LoadU(du8h, b[i].qs));
            const auto lo = hn::And(v, hn::Set(dh, 15)), hi = hn::ShiftRight<4>(v);
            f(hn::Sub(hn::Combine(d16, hi, lo), hn::Set(d16, 8)), 0);
            return;
        }
#endif
        const V16 mask = hn::Set(d16, 15), eight = hn::Set(d16, 8);
        for (int j = 0; j < 16; j += N) {
            const V16 v = hn::PromoteTo(d16, hn::LoadU(du8, b[i].qs + j));
            f(hn::Sub(hn::And(v, mask), eight), j);           // values j .. (low nibbles)
            f(hn::Sub(hn::ShiftRight<4>(v), eight), j + 16);  // values j + 16 .. (high)
        }
    }
};

// The f16 scales of one weight row's nb blocks as f32 (vector conversion: a scalar software
// f16 -> f32 per block costs more than the block's dot).
template <class Blk>
HWY_INLINE void row_scales(const Blk * b, int64_t nb, uint16_t * bits, float * out) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<hwy::float16_t, decltype(df)> dh;
    const int64_t N = int64_t(hn::Lanes(df));
    for (int64_t i = 0; i < nb; ++i) bits[i] = b[i].d;
    int64_t i = 0;
    for (; i + N <= nb; i += N)
        hn::StoreU(
            hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t *>(bits + i))),
            df, out + i);
    for (; i < nb; ++i) out[i] = gemma::f16_to_f32(bits[i]);
}

// NR x rows (int16 values xq, block scales xd; row stride k / k/32) against one weight row whose
// block scales are dw.
template <int NR, class Row>
HWY_INLINE void dot_rows(const Row & w, const float * dw, const int16_t * xq, const float * xd,
                         int64_t k, float * out) {
    const D16 d16;
    const D32 d32;
    const DF df;
    VF acc[NR];
    for (int r = 0; r < NR; ++r) acc[r] = hn::Zero(df);
    const int64_t nb = k / 32;
    for (int64_t i = 0; i < nb; ++i) {
        V32 s0[NR], s1[NR];
        for (int r = 0; r < NR; ++r) s0[r] = s1[r] = hn::Zero(d32);
        w.pieces(i, [&](const V16 & wv, int j) {
            for (int r = 0; r < NR; ++r)
                s0[r] = hn::ReorderWidenMulAccumulate(
                    d32, wv, hn::LoadU(d16, xq + r * k + i * 32 + j), s0[r], s1[r]);
        });
        for (int r = 0; r < NR; ++r)
            acc[r] = hn::MulAdd(hn::ConvertTo(df, hn::Add(s0[r], s1[r])),
                                hn::Set(df, dw[i] * xd[r * nb + i]), acc[r]);
    }
    for (int r = 0; r < NR; ++r) out[r] = hn::GetLane(hn::SumOfLanes(df, acc[r]));
}

template <class Row, class Blk>
HWY_INLINE void gemv_quant(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd,
                           int64_t nx, int64_t k, float * y, int64_t ldy) {
    const size_t row_bytes = size_t(k / 32) * sizeof(Blk);
    const int64_t nb = k / 32;
    thread_local std::vector<float> dw;
    thread_local std::vector<uint16_t> bits;
    dw.resize(size_t(nb));
    bits.resize(size_t(nb));
    for (int64_t r = 0; r < rows; ++r) {
        const Row wr{reinterpret_cast<const Blk *>(w + size_t(r) * row_bytes)};
        row_scales(wr.b, nb, bits.data(), dw.data());
        for (int64_t i = 0; i < nx; ++i) {  // decode: 1-3 rows, the weight row stays in L1
            float o;
            dot_rows<1>(wr, dw.data(), xq + i * k, xd + i * nb, k, &o);
            y[i * ldy + r] = o;
        }
    }
}

HWY_NOINLINE void GemvQ8_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd,
                           int64_t nx, int64_t k, float * y, int64_t ldy) {
    gemv_quant<Q8Row, BlockQ8_0>(w, rows, xq, xd, nx, k, y, ldy);
}

HWY_NOINLINE void GemvQ4_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd,
                           int64_t nx, int64_t k, float * y, int64_t ldy) {
    gemv_quant<Q4Row, BlockQ4_0>(w, rows, xq, xd, nx, k, y, ldy);
}

// Weight rows to f32 (exact: q · d): the prefill tiles and get_rows.
HWY_NOINLINE void DequantRow(const uint8_t * src, int is_q8, int64_t k, float * y) {
    const hn::CappedTag<float, 16> df;
    const hn::Rebind<int32_t, decltype(df)> di;
    const hn::Rebind<int8_t, decltype(df)> d8;
    const hn::Rebind<uint8_t, decltype(df)> du8;
    const int N = int(hn::Lanes(df));
    for (int64_t b = 0; b < k / 32; ++b, y += 32) {
        if (is_q8) {
            const BlockQ8_0 & blk = reinterpret_cast<const BlockQ8_0 *>(src)[b];
            const auto d = hn::Set(df, gemma::f16_to_f32(blk.d));
            for (int j = 0; j < 32; j += N)
                hn::StoreU(
                    hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, blk.qs + j))), d), df,
                    y + j);
        } else {
            const BlockQ4_0 & blk = reinterpret_cast<const BlockQ4_0 *>(src)[b];
            const auto d = hn::Set(df, gemma::f16_to_f32(blk.d));
            const auto mask = hn::Set(di, 15), eight = hn::Set(di, 8);
            for (int j = 0; j < 16; j += N) {
                const auto v = hn::PromoteTo(di, hn::LoadU(du8, blk.qs + j));
                const auto lo = hn::Sub(hn::And(v, mask), eight);
                const auto hi = hn::Sub(hn::ShiftRight<4>(v), eight);
                hn::StoreU(hn::Mul(hn::ConvertTo(df, lo), d), df, y + j);
                hn::StoreU(hn::Mul(hn::ConvertTo(df, hi), d), df, y + 16 + j);
            }
        }
    }
}

// Per 32-value block: d = max|x| / 32767, q = round(x / d) (exact zero block: d = 0, q = 0).
HWY_NOINLINE void QuantizeActs(const float * x, int64_t k, int16_t * q, float * d) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<int16_t, decltype(df)> dh;
    const int64_t N = int64_t(hn::Lanes(df));
    for (int64_t b = 0; b < k / 32; ++b) {
        const float * xb = x + b * 32;
        float amax = 0.0f;
        if (N <= 32) {
            auto m = hn::Zero(df);
            for (int64_t j = 0; j < 32; j += N) m = hn::Max(m, hn::Abs(hn::LoadU(df, xb + j)));
            amax = hn::GetLane(hn::MaxOfLanes(df, m));
        } else {
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
        }
        const float scale = amax / 32767.0f, inv = amax > 0.0f ? 32767.0f / amax : 0.0f;
        d[b] = scale;
        if (N <= 32) {
            const auto iv = hn::Set(df, inv);
            for (int64_t j = 0; j < 32; j += N)
                hn::StoreU(hn::DemoteTo(dh, hn::NearestInt(hn::Mul(hn::LoadU(df, xb + j), iv))), dh,
                           q + b * 32 + j);
        } else {
            for (int j = 0; j < 32; ++j) q[b * 32 + j] = int16_t(std::lrint(xb[j] * inv));
        }
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace gemma::cpu::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gemma::cpu::simd {

HWY_EXPORT(GemvQ8_0);
HWY_EXPORT(GemvQ4_0);
HWY_EXPORT(QuantizeActs);
HWY_EXPORT(DequantRow);

void dequantize_row(const uint8_t * src, bool q8, int64_t k, float * y) {
    HWY_DYNAMIC_DISPATCH(DequantRow)(src, q8 ? 1 : 0, k, y);
}

void gemv_q8_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd, int64_t nx,
               int64_t k, float * y, int64_t ldy) {
    HWY_DYNAMIC_DISPATCH(GemvQ8_0)(w, rows, xq, xd, nx, k, y, ldy);
}
void gemv_q4_0(const uint8_t * w, int64_t rows, const int16_t * xq, const float * xd, int64_t nx,
               int64_t k, float * y, int64_t ldy) {
    HWY_DYNAMIC_DISPATCH(GemvQ4_0)(w, rows, xq, xd, nx, k, y, ldy);
}
void quantize_acts_i16(const float * x, int64_t k, int16_t * q, float * d) {
    HWY_DYNAMIC_DISPATCH(QuantizeActs)(x, k, q, d);
}

}  // namespace gemma::cpu::simd
#endif  // HWY_ONCE
