// rope: NeoX (rotate-half) rotation of each head, element i paired with i + D/2, angle
// pos·freqs[i] in f32 (spec gemma4-text §6.3). x: [n, h, D], positions: [n], freqs: [D/2].
#include <cmath>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void rope(const Tensor & x, const Tensor & positions, const Tensor & freqs, const Tensor & out) {
    int64_t n = x.dim(0), h = x.dim(1), d = x.dim(2), half = d / 2;
    const float * xp = static_cast<const float *>(x.data);
    const float * f = static_cast<const float *>(freqs.data);
    float * y = static_cast<float *>(out.data);
    for (int64_t t = 0; t < n; ++t) {
        float p = float(positions.ptr<int32_t>()[t]);
        for (int64_t i = 0; i < half; ++i) {
            float theta = p * f[i];
            float c = std::cos(theta), s = std::sin(theta);
            for (int64_t hh = 0; hh < h; ++hh) {
                int64_t base = (t * h + hh) * d;
                float a = xp[base + i], b = xp[base + i + half];
                y[base + i] = a * c - b * s;
                y[base + i + half] = b * c + a * s;
            }
        }
    }
}

}  // namespace gemma::cpu::ref
