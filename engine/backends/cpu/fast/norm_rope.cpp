// rms_norm and rope, row-parallel. rms_norm: x [r, d] -> x / sqrt(mean(x²) + eps) ⊙ w, the sum of
// squares in f32 lanes. rope: NeoX rotation with cos/sin computed once per token (std::cos/sin
// of the f32 angle pos·freqs[i], as the reference) and applied to every head with SIMD.
#include <cmath>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"

namespace gemma::cpu::fast {
namespace {

// Rows per task so that a task touches at least ~16K floats (smaller ops stay on one thread).
int64_t row_grain(int64_t width) {
    return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width));
}

}  // namespace

void rms_norm(ThreadPool & pool, const Tensor & x, const Tensor & w, float eps,
              const Tensor & out) {
    int64_t r = x.dim(0), d = x.dim(1);
    std::vector<float> wf;
    if (!w.empty()) {
        wf.resize(size_t(d));
        load_row_f32(tensor_view(w.dtype, {1, d}, w.data), 0, wf.data());
    }
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    const float * wp = wf.empty() ? nullptr : wf.data();
    pool.parallel_for(r, row_grain(d), [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float ss = simd::sum_squares(xp + i * d, d);
            float inv = 1.0f / std::sqrt(ss / float(d) + eps);
            simd::scale_mul(xp + i * d, inv, wp, y + i * d, d);
        }
    });
}

void rope(ThreadPool & pool, const Tensor & x, const Tensor & positions, const Tensor & freqs,
          const Tensor & out) {
    int64_t n = x.dim(0), h = x.dim(1), d = x.dim(2), half = d / 2;
    const float * xp = static_cast<const float *>(x.data);
    const float * f = static_cast<const float *>(freqs.data);
    float * y = f32_data(out);
    pool.parallel_for(n, row_grain(h * d), [&](int64_t t0, int64_t t1) {
        thread_local std::vector<float> cs;
        cs.resize(size_t(2 * half));
        float * c = cs.data();
        float * s = cs.data() + half;
        for (int64_t t = t0; t < t1; ++t) {
            float p = float(positions.ptr<int32_t>()[t]);
            for (int64_t i = 0; i < half; ++i) {
                float theta = p * f[i];
                c[i] = std::cos(theta);
                s[i] = std::sin(theta);
            }
            for (int64_t hh = 0; hh < h; ++hh) {
                int64_t base = (t * h + hh) * d;
                simd::rope_rotate(xp + base, c, s, half, y + base);
            }
        }
    });
}

}  // namespace gemma::cpu::fast
