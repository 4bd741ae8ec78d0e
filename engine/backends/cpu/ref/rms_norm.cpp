// rms_norm: x [r, d] -> x / sqrt(mean(x²) + eps) ⊙ w (w optional, used as stored). The mean is
// summed in f32 like the reference (torch mean over f32).
#include <cmath>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) {
    int64_t r = x.dim(0), d = x.dim(1);
    const float * xp = static_cast<const float *>(x.data);
    float * y = static_cast<float *>(out.data);
    for (int64_t i = 0; i < r; ++i) {
        const float * xi = xp + i * d;
        float ss = 0.0f;
        for (int64_t j = 0; j < d; ++j) ss += xi[j] * xi[j];
        float inv = 1.0f / std::sqrt(ss / float(d) + eps);
        for (int64_t j = 0; j < d; ++j) {
            float v = xi[j] * inv;
            y[i * d + j] = w.empty() ? v : v * load_f32(w, j);
        }
    }
}

}  // namespace gemma::cpu::ref
