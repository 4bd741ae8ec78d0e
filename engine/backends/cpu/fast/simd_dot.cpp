// Highway kernels for products: the bf16/f32 GEMV that decode spends its time in (weights
// streamed once, widened bf16 -> f32 in registers: a bf16 is the top half of an f32), bf16
// widening, dot and axpy. Compiled once per SIMD target by foreach_target.h.
// foreach_target.h re-includes this file once per target, and per-target
// headers (-inl.h) must follow highway.h.
// clang-format off
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/fast/simd_dot.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// clang-format on

#include "backends/cpu/fast/simd.h"
#include "core/dtype.h"

HWY_BEFORE_NAMESPACE();
namespace gemma::cpu::simd {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// N bf16 values -> N f32 lanes (zero-extend to 32 bits, shift into the high half).
HWY_INLINE VF load_w(DF df, const uint16_t * p) {
    const hn::RebindToUnsigned<DF> du32;
    const hn::Rebind<uint16_t, DF> du16;
    return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
}
HWY_INLINE VF load_w(DF df, const float * p) { return hn::LoadU(df, p); }

HWY_INLINE float widen(uint16_t v) { return gemma::bf16_to_f32(v); }
HWY_INLINE float widen(float v) { return v; }

HWY_INLINE float sum_lanes(DF df, VF v) { return hn::GetLane(hn::SumOfLanes(df, v)); }

// One weight row against one x row, two accumulators to hide FMA latency.
template <class W>
HWY_INLINE float dot_row1(const W * w, const float * x, int64_t k) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    VF a0 = hn::Zero(df), a1 = hn::Zero(df);
    int64_t j = 0;
    for (; j + 2 * N <= k; j += 2 * N) {
        a0 = hn::MulAdd(load_w(df, w + j), hn::LoadU(df, x + j), a0);
        a1 = hn::MulAdd(load_w(df, w + j + N), hn::LoadU(df, x + j + N), a1);
    }
    for (; j + N <= k; j += N) a0 = hn::MulAdd(load_w(df, w + j), hn::LoadU(df, x + j), a0);
    float tail = 0.0f;
    for (; j < k; ++j) tail += widen(w[j]) * x[j];
    return sum_lanes(df, hn::Add(a0, a1)) + tail;
}

// One weight row against four x rows: each weight vector is loaded once for four FMAs.
template <class W>
HWY_INLINE void dot_row4(const W * w, const float * x, int64_t ldx, int64_t k, float * out) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
    VF a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
    int64_t j = 0;
    for (; j + N <= k; j += N) {
        const VF wv = load_w(df, w + j);
        a0 = hn::MulAdd(wv, hn::LoadU(df, x0 + j), a0);
        a1 = hn::MulAdd(wv, hn::LoadU(df, x1 + j), a1);
        a2 = hn::MulAdd(wv, hn::LoadU(df, x2 + j), a2);
        a3 = hn::MulAdd(wv, hn::LoadU(df, x3 + j), a3);
    }
    float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
    for (; j < k; ++j) {
        float wj = widen(w[j]);
        t0 += wj * x0[j];
        t1 += wj * x1[j];
        t2 += wj * x2[j];
        t3 += wj * x3[j];
    }
    out[0] = sum_lanes(df, a0) + t0;
    out[1] = sum_lanes(df, a1) + t1;
    out[2] = sum_lanes(df, a2) + t2;
    out[3] = sum_lanes(df, a3) + t3;
}

// Four weight rows against four x rows: 8 vector loads feed 16 FMAs (16 accumulators), so the
// prefill GEMM runs from registers rather than from load ports.
#define GEMMA_FMA_ROW(xp, c0, c1, c2, c3)   \
    do {                                    \
        const VF u = hn::LoadU(df, xp + j); \
        c0 = hn::MulAdd(v0, u, c0);         \
        c1 = hn::MulAdd(v1, u, c1);         \
        c2 = hn::MulAdd(v2, u, c2);         \
        c3 = hn::MulAdd(v3, u, c3);         \
    } while (0)

template <class W>
HWY_INLINE void tile4x4(const W * w, int64_t ldw, const float * x, int64_t ldx, int64_t k,
                        float * y, int64_t ldy) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const W *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
    const float *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
    VF c00 = hn::Zero(df), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00,
       c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00,
       c33 = c00;
    int64_t j = 0;
    for (; j + N <= k; j += N) {
        const VF v0 = load_w(df, w0 + j), v1 = load_w(df, w1 + j), v2 = load_w(df, w2 + j),
                 v3 = load_w(df, w3 + j);
        GEMMA_FMA_ROW(x0, c00, c01, c02, c03);
        GEMMA_FMA_ROW(x1, c10, c11, c12, c13);
        GEMMA_FMA_ROW(x2, c20, c21, c22, c23);
        GEMMA_FMA_ROW(x3, c30, c31, c32, c33);
    }
    const VF c[4][4] = {
        {c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
    const W * wr[4] = {w0, w1, w2, w3};
    const float * xr[4] = {x0, x1, x2, x3};
    for (int q = 0; q < 4; ++q) {
        for (int r = 0; r < 4; ++r) {
            float tail = 0.0f;
            for (int64_t t = j; t < k; ++t) tail += widen(wr[r][t]) * xr[q][t];
            y[q * ldy + r] = sum_lanes(df, c[q][r]) + tail;
        }
    }
}
#undef GEMMA_FMA_ROW

// x rows are taken in blocks that stay in L2 while the weight rows stream past them.
constexpr int64_t kXBlockRows = 32;

template <class W>
HWY_INLINE void gemv(const W * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx,
                     int64_t nx, int64_t k, float * y, int64_t ldy) {
    for (int64_t ib = 0; ib < nx; ib += kXBlockRows) {
        int64_t ie = ib + kXBlockRows < nx ? ib + kXBlockRows : nx;
        int64_t r = 0;
        for (; r + 4 <= rows; r += 4) {
            int64_t i = ib;
            for (; i + 4 <= ie; i += 4)
                tile4x4(w + r * ldw, ldw, x + i * ldx, ldx, k, y + i * ldy + r, ldy);
            for (; i < ie; ++i)
                for (int q = 0; q < 4; ++q)
                    y[i * ldy + r + q] = dot_row1(w + (r + q) * ldw, x + i * ldx, k);
        }
        for (; r < rows; ++r) {
            const W * wr = w + r * ldw;
            int64_t i = ib;
            for (; i + 4 <= ie; i += 4) {
                float o[4];
                dot_row4(wr, x + i * ldx, ldx, k, o);
                for (int q = 0; q < 4; ++q) y[(i + q) * ldy + r] = o[q];
            }
            for (; i < ie; ++i) y[i * ldy + r] = dot_row1(wr, x + i * ldx, k);
        }
    }
}

HWY_NOINLINE void GemvBf16(const uint16_t * w, int64_t ldw, int64_t rows, const float * x,
                           int64_t ldx, int64_t nx, int64_t k, float * y, int64_t ldy) {
    gemv(w, ldw, rows, x, ldx, nx, k, y, ldy);
}

HWY_NOINLINE void GemvF32(const float * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx,
                          int64_t nx, int64_t k, float * y, int64_t ldy) {
    gemv(w, ldw, rows, x, ldx, nx, k, y, ldy);
}

HWY_NOINLINE void Bf16ToF32(const uint16_t * src, int64_t n, float scale, float * dst) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const VF s = hn::Set(df, scale);
    int64_t j = 0;
    for (; j + N <= n; j += N) hn::StoreU(hn::Mul(load_w(df, src + j), s), df, dst + j);
    for (; j < n; ++j) dst[j] = gemma::bf16_to_f32(src[j]) * scale;
}

HWY_NOINLINE float Dot(const float * a, const float * b, int64_t n) { return dot_row1(a, b, n); }

HWY_NOINLINE void Axpy(float a, const float * x, float * y, int64_t n) {
    const DF df;
    const int64_t N = int64_t(hn::Lanes(df));
    const VF av = hn::Set(df, a);
    int64_t j = 0;
    for (; j + N <= n; j += N)
        hn::StoreU(hn::MulAdd(av, hn::LoadU(df, x + j), hn::LoadU(df, y + j)), df, y + j);
    for (; j < n; ++j) y[j] += a * x[j];
}

}  // namespace HWY_NAMESPACE
}  // namespace gemma::cpu::simd
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace gemma::cpu::simd {

const char * target_name() {
    // Highway numbers better targets with lower bits: the lowest compiled-and-supported one runs.
    int64_t usable = hwy::SupportedTargets() & HWY_TARGETS;
    return usable == 0 ? "none" : hwy::TargetName(usable & -usable);
}

HWY_EXPORT(GemvBf16);
HWY_EXPORT(GemvF32);
HWY_EXPORT(Bf16ToF32);
HWY_EXPORT(Dot);
HWY_EXPORT(Axpy);

void gemv_bf16(const uint16_t * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx,
               int64_t nx, int64_t k, float * y, int64_t ldy) {
    HWY_DYNAMIC_DISPATCH(GemvBf16)(w, ldw, rows, x, ldx, nx, k, y, ldy);
}
void gemv_f32(const float * w, int64_t ldw, int64_t rows, const float * x, int64_t ldx, int64_t nx,
              int64_t k, float * y, int64_t ldy) {
    HWY_DYNAMIC_DISPATCH(GemvF32)(w, ldw, rows, x, ldx, nx, k, y, ldy);
}
void bf16_to_f32(const uint16_t * src, int64_t n, float scale, float * dst) {
    HWY_DYNAMIC_DISPATCH(Bf16ToF32)(src, n, scale, dst);
}
float dot(const float * a, const float * b, int64_t n) {
    return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n);
}
void axpy(float a, const float * x, float * y, int64_t n) {
    HWY_DYNAMIC_DISPATCH(Axpy)(a, x, y, n);
}

}  // namespace gemma::cpu::simd
#endif  // HWY_ONCE
