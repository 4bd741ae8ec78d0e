// layer_norm: x [r, d] -> (x − μ) / sqrt(σ² + eps) ⊙ w per row; mean first, then the biased
// variance of the centred values (two passes, f32 sums in index order).
#include <cmath>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void layer_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) {
    const int64_t r = x.dim(0), d = x.dim(1);
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    for (int64_t i = 0; i < r; ++i) {
        const float * xi = xp + i * d;
        float sum = 0.0f;
        for (int64_t j = 0; j < d; ++j) sum += xi[j];
        const float mean = sum / float(d);
        float var = 0.0f;
        for (int64_t j = 0; j < d; ++j) var += (xi[j] - mean) * (xi[j] - mean);
        const float inv = 1.0f / std::sqrt(var / float(d) + eps);
        for (int64_t j = 0; j < d; ++j) {
            const float v = (xi[j] - mean) * inv;
            y[i * d + j] = w.empty() ? v : v * load_f32(w, j);
        }
    }
}

}  // namespace gemma::cpu::ref
