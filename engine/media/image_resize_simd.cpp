// Highway tap loops of the bicubic resize (image_resize_simd.h): int32 lanes, the same products and
// sums as the scalar loops (integer addition in any order gives the same int32), so byte-identical.
// foreach_target.h re-includes this file once per SIMD target; HWY_DYNAMIC_DISPATCH picks one.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "media/image_resize_simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include <algorithm>
#include <cstring>

#include "media/image_resize_simd.h"

HWY_BEFORE_NAMESPACE();
namespace gemma::media::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// No 4-lane vectors on this target: the plain loop over the padded taps.
HWY_ATTR void ResizeRowX(const uint8_t * HWY_RESTRICT src, int out_w, const Taps & t,
                         uint8_t * HWY_RESTRICT dst) {
    for (int o = 0; o < out_w; ++o) {
        const int32_t * k = t.w + size_t(o) * size_t(t.ksize);
        const uint8_t * s = src + size_t(t.start[o]) * 3;
        for (int c = 0; c < 3; ++c) {
            int32_t acc = int32_t(1) << (t.bits - 1);
            for (int j = 0; j < t.ksize; ++j) acc += int32_t(s[3 * j + c]) * k[j];
            dst[3 * o + c] = uint8_t(std::clamp<int32_t>(acc >> t.bits, 0, 255));
        }
    }
}
#else
// One RGB pixel per 4 int32 lanes (r, g, b, next pixel's r: its sum is thrown away).
using D4 = hn::FixedTag<int32_t, 4>;
using D4u8 = hn::FixedTag<uint8_t, 4>;

HWY_ATTR void ResizeRowX(const uint8_t * HWY_RESTRICT src, int out_w, const Taps & t,
                         uint8_t * HWY_RESTRICT dst) {
    const D4 d;
    const D4u8 d8;
    const auto half = hn::Set(d, int32_t(1) << (t.bits - 1));
    for (int o = 0; o < out_w; ++o) {
        const int32_t * k = t.w + size_t(o) * size_t(t.ksize);
        const uint8_t * s = src + size_t(t.start[o]) * 3;
        auto acc0 = half;
        auto acc1 = hn::Zero(d);
        int j = 0;
        for (; j + 2 <= t.ksize; j += 2) {  // two chains: the int32 Mul has a long latency
            acc0 = hn::Add(acc0, hn::Mul(hn::PromoteTo(d, hn::LoadU(d8, s + 3 * j)),
                                         hn::Set(d, k[j])));
            acc1 = hn::Add(acc1, hn::Mul(hn::PromoteTo(d, hn::LoadU(d8, s + 3 * j + 3)),
                                         hn::Set(d, k[j + 1])));
        }
        if (j < t.ksize)
            acc0 = hn::Add(acc0, hn::Mul(hn::PromoteTo(d, hn::LoadU(d8, s + 3 * j)),
                                         hn::Set(d, k[j])));
        const auto px = hn::DemoteTo(d8, hn::ShiftRightSame(hn::Add(acc0, acc1), t.bits));
        uint8_t rgbx[4];
        hn::StoreU(px, d8, rgbx);
        std::memcpy(dst + 3 * size_t(o), rgbx, 3);  // 3 bytes: the next pixel may be another row
    }
}
#endif  // HWY_TARGET == HWY_SCALAR

HWY_ATTR void ResizeRowY(const uint8_t * const * rows, const int32_t * w, int count, int bits,
                         int64_t n, uint8_t * HWY_RESTRICT dst) {
    const hn::ScalableTag<int32_t> d;
    const hn::Rebind<uint8_t, decltype(d)> d8;
    const int64_t lanes = int64_t(hn::Lanes(d));
    const auto half = hn::Set(d, int32_t(1) << (bits - 1));
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
        auto acc = half;
        for (int j = 0; j < count; ++j)
            acc = hn::Add(acc, hn::Mul(hn::PromoteTo(d, hn::LoadU(d8, rows[j] + i)),
                                       hn::Set(d, w[j])));
        hn::StoreU(hn::DemoteTo(d8, hn::ShiftRightSame(acc, bits)), d8, dst + i);
    }
    for (; i < n; ++i) {
        int32_t acc = int32_t(1) << (bits - 1);
        for (int j = 0; j < count; ++j) acc += int32_t(rows[j][i]) * w[j];
        dst[i] = uint8_t(std::clamp<int32_t>(acc >> bits, 0, 255));
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace gemma::media::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gemma::media::simd {

HWY_EXPORT(ResizeRowX);
HWY_EXPORT(ResizeRowY);

void resize_row_x(const uint8_t * src, int out_w, const Taps & t, uint8_t * dst) {
    HWY_DYNAMIC_DISPATCH(ResizeRowX)(src, out_w, t, dst);
}

void resize_row_y(const uint8_t * const * rows, const int32_t * w, int count, int bits, int64_t n,
                  uint8_t * dst) {
    HWY_DYNAMIC_DISPATCH(ResizeRowY)(rows, w, count, bits, n, dst);
}

}  // namespace gemma::media::simd
#endif  // HWY_ONCE
