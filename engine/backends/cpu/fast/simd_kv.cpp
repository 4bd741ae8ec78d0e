// Highway kernel behind simd_kv.h: q8_0 blocks to f32 (int8 -> int32 -> f32 lanes, times the
// block's scale). Compiled once per SIMD target by foreach_target.h, which re-includes this file;
// per-target headers (-inl.h) must follow highway.h.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/fast/simd_kv.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include "backends/cpu/fast/simd_kv.h"

#include <cstring>

#include "core/dtype.h"

HWY_BEFORE_NAMESPACE();
namespace gemma::cpu::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

HWY_NOINLINE void Q8ToF32(const uint8_t * blocks, int64_t n_blocks, float * dst) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<int32_t, decltype(df)> di32;
    const hn::Rebind<int8_t, decltype(df)> di8;
    const int64_t N = int64_t(hn::Lanes(df));
    for (int64_t b = 0; b < n_blocks; ++b) {
        const uint8_t * blk = blocks + b * 34;
        uint16_t h;
        std::memcpy(&h, blk, 2);
        const float d = gemma::f16_to_f32(h);
        const auto dv = hn::Set(df, d);
        const int8_t * q = reinterpret_cast<const int8_t *>(blk + 2);
        float * y = dst + b * 32;
        int64_t j = 0;
        for (; j + N <= 32; j += N) {
            auto qi = hn::PromoteTo(di32, hn::LoadU(di8, q + j));
            hn::StoreU(hn::Mul(hn::ConvertTo(df, qi), dv), df, y + j);
        }
        for (; j < 32; ++j) y[j] = float(q[j]) * d;
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace gemma::cpu::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gemma::cpu::simd {

HWY_EXPORT(Q8ToF32);

void q8_0_to_f32(const uint8_t * blocks, int64_t n_blocks, float * dst) {
    HWY_DYNAMIC_DISPATCH(Q8ToF32)(blocks, n_blocks, dst);
}

}  // namespace gemma::cpu::simd
#endif  // HWY_ONCE
