// Highway kernels for rows and elements: RMS sums, scaling, add/mul, softcap and gelu (tanh from
// hwy/contrib/math, max error a few ulp), softmax pieces (Exp, 2 ulp) and the RoPE rotation.
// Compiled once per SIMD target by foreach_target.h; tails fall back to the scalar formula.
// foreach_target.h re-includes this file once per target, and per-target
// headers (-inl.h) must follow highway.h.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/fast/simd_math.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
// clang-format on

#include <cmath>
#include <limits>

#include "backends/cpu/fast/simd.h"

HWY_BEFORE_NAMESPACE();
namespace gemma::cpu::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

// y[j] = op(a[j], b[j]) over full vectors, then op_scalar on the tail.
template <class VecOp, class ScalarOp>
HWY_INLINE void binary_loop(const float * a, const float * b, float * y, int64_t n, VecOp vop,
                            ScalarOp sop) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    int64_t j = 0;
    for (; j + N <= n; j += N)
        hn::StoreU(vop(df, hn::LoadU(df, a + j), hn::LoadU(df, b + j)), df, y + j);
    for (; j < n; ++j) y[j] = sop(a[j], b[j]);
}

template <class VecOp, class ScalarOp>
HWY_INLINE void unary_loop(const float * x, float * y, int64_t n, VecOp vop, ScalarOp sop) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    int64_t j = 0;
    for (; j + N <= n; j += N) hn::StoreU(vop(df, hn::LoadU(df, x + j)), df, y + j);
    for (; j < n; ++j) y[j] = sop(x[j]);
}

HWY_NOINLINE float SumSquares(const float * x, int64_t n) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    VF a0 = hn::Zero(df), a1 = hn::Zero(df);
    int64_t j = 0;
    for (; j + 2 * N <= n; j += 2 * N) {
        const VF v0 = hn::LoadU(df, x + j), v1 = hn::LoadU(df, x + j + N);
        a0 = hn::MulAdd(v0, v0, a0);
        a1 = hn::MulAdd(v1, v1, a1);
    }
    for (; j + N <= n; j += N) {
        const VF v = hn::LoadU(df, x + j);
        a0 = hn::MulAdd(v, v, a0);
    }
    float tail = 0.0f;
    for (; j < n; ++j) tail += x[j] * x[j];
    return hn::GetLane(hn::SumOfLanes(df, hn::Add(a0, a1))) + tail;
}

HWY_NOINLINE void ScaleMul(const float * x, float s, const float * w, float * y, int64_t n) {
    if (w == nullptr) {
        unary_loop(
            x, y, n, [s](DF d, VF v) { return hn::Mul(v, hn::Set(d, s)); },
            [s](float v) { return v * s; });
        return;
    }
    binary_loop(
        x, w, y, n, [s](DF d, VF v, VF wv) { return hn::Mul(hn::Mul(v, hn::Set(d, s)), wv); },
        [s](float v, float wv) { return v * s * wv; });
}

HWY_NOINLINE void Add(const float * a, const float * b, float * y, int64_t n) {
    binary_loop(
        a, b, y, n, [](DF, VF u, VF v) { return hn::Add(u, v); },
        [](float u, float v) { return u + v; });
}

HWY_NOINLINE void Mul(const float * a, const float * b, float * y, int64_t n) {
    binary_loop(
        a, b, y, n, [](DF, VF u, VF v) { return hn::Mul(u, v); },
        [](float u, float v) { return u * v; });
}

HWY_NOINLINE void AddScalar(const float * a, float b, float * y, int64_t n) {
    unary_loop(
        a, y, n, [b](DF d, VF u) { return hn::Add(u, hn::Set(d, b)); },
        [b](float u) { return u + b; });
}

HWY_NOINLINE void MulScalar(const float * a, float b, float * y, int64_t n) {
    unary_loop(
        a, y, n, [b](DF d, VF u) { return hn::Mul(u, hn::Set(d, b)); },
        [b](float u) { return u * b; });
}

HWY_NOINLINE void Softcap(const float * x, float cap, float * y, int64_t n) {
    unary_loop(
        x, y, n,
        [cap](DF d, VF v) {
            const VF c = hn::Set(d, cap);
            return hn::Mul(c, hn::Tanh(d, hn::Div(v, c)));
        },
        [cap](float v) { return cap * std::tanh(v / cap); });
}

HWY_NOINLINE void GeluTanhMul(const float * gate, const float * up, float * y, int64_t n) {
    binary_loop(
        gate, up, y, n,
        [](DF d, VF z, VF u) {
            const VF inner = hn::Mul(hn::Set(d, kGeluK),
                                     hn::MulAdd(hn::Mul(hn::Set(d, kGeluC), z), hn::Mul(z, z), z));
            const VF g = hn::Mul(hn::Mul(hn::Set(d, 0.5f), z),
                                 hn::Add(hn::Set(d, 1.0f), hn::Tanh(d, inner)));
            return hn::Mul(g, u);
        },
        [](float z, float u) {
            float g = 0.5f * z * (1.0f + std::tanh(kGeluK * (z + kGeluC * z * z * z)));
            return g * u;
        });
}

HWY_NOINLINE float MaxValue(const float * x, int64_t n) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    float mx = -std::numeric_limits<float>::infinity();
    VF m = hn::Set(df, mx);
    int64_t j = 0;
    for (; j + N <= n; j += N) m = hn::Max(m, hn::LoadU(df, x + j));
    if (j > 0) mx = hn::GetLane(hn::MaxOfLanes(df, m));
    for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

// Exp returns 0 below −104, so masked (−inf) scores vanish without a branch.
HWY_NOINLINE float ExpSubSum(float * x, int64_t n, float mx) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const VF m = hn::Set(df, mx);
    VF acc = hn::Zero(df);
    int64_t j = 0;
    for (; j + N <= n; j += N) {
        const VF e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + j), m));
        hn::StoreU(e, df, x + j);
        acc = hn::Add(acc, e);
    }
    float tail = 0.0f;
    for (; j < n; ++j) {
        x[j] = std::exp(x[j] - mx);
        tail += x[j];
    }
    return hn::GetLane(hn::SumOfLanes(df, acc)) + tail;
}

HWY_NOINLINE void RopeRotate(const float * x, const float * c, const float * s, int64_t h,
                             float * y) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    int64_t i = 0;
    for (; i + N <= h; i += N) {
        const VF a = hn::LoadU(df, x + i), b = hn::LoadU(df, x + h + i);
        const VF cv = hn::LoadU(df, c + i), sv = hn::LoadU(df, s + i);
        hn::StoreU(hn::Sub(hn::Mul(a, cv), hn::Mul(b, sv)), df, y + i);
        hn::StoreU(hn::Add(hn::Mul(b, cv), hn::Mul(a, sv)), df, y + h + i);
    }
    for (; i < h; ++i) {
        float a = x[i], b = x[h + i];
        y[i] = a * c[i] - b * s[i];
        y[h + i] = b * c[i] + a * s[i];
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace gemma::cpu::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gemma::cpu::simd {

HWY_EXPORT(SumSquares);
HWY_EXPORT(ScaleMul);
HWY_EXPORT(Add);
HWY_EXPORT(Mul);
HWY_EXPORT(AddScalar);
HWY_EXPORT(MulScalar);
HWY_EXPORT(Softcap);
HWY_EXPORT(GeluTanhMul);
HWY_EXPORT(MaxValue);
HWY_EXPORT(ExpSubSum);
HWY_EXPORT(RopeRotate);

float sum_squares(const float * x, int64_t n) { return HWY_DYNAMIC_DISPATCH(SumSquares)(x, n); }
void scale_mul(const float * x, float s, const float * w, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(ScaleMul)(x, s, w, y, n);
}
void add(const float * a, const float * b, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(Add)(a, b, y, n);
}
void mul(const float * a, const float * b, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(Mul)(a, b, y, n);
}
void add_scalar(const float * a, float b, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(AddScalar)(a, b, y, n);
}
void mul_scalar(const float * a, float b, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(MulScalar)(a, b, y, n);
}
void softcap(const float * x, float cap, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(Softcap)(x, cap, y, n);
}
void gelu_tanh_mul(const float * gate, const float * up, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(GeluTanhMul)(gate, up, y, n);
}
float max_value(const float * x, int64_t n) { return HWY_DYNAMIC_DISPATCH(MaxValue)(x, n); }
float exp_sub_sum(float * x, int64_t n, float mx) {
    return HWY_DYNAMIC_DISPATCH(ExpSubSum)(x, n, mx);
}
void rope_rotate(const float * x, const float * c, const float * s, int64_t h, float * y) {
    HWY_DYNAMIC_DISPATCH(RopeRotate)(x, c, s, h, y);
}

}  // namespace gemma::cpu::simd
#endif  // HWY_ONCE
