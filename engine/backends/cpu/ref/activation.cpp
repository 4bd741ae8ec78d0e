// activation (silu, relu) and glu: x [r, 2d] -> x[:, :d] ⊙ σ(x[:, d:]). Plain loops; silu and σ in
// the form the CPU audio tower uses (x / (1 + e^−x), 1 / (1 + e^−x)).
#include <algorithm>
#include <cmath>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void activation(const Tensor & x, Activation act, const Tensor & out) {
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    for (int64_t i = 0; i < x.numel(); ++i) {
        const float v = xp[i];
        y[i] = act == Activation::silu ? v / (1.0f + std::exp(-v)) : std::max(v, 0.0f);
    }
}

void glu(const Tensor & x, const Tensor & out) {
    const int64_t r = out.dim(0), d = out.dim(1);
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out);
    for (int64_t i = 0; i < r; ++i) {
        const float * row = xp + i * 2 * d;
        for (int64_t c = 0; c < d; ++c)
            y[i * d + c] = row[c] * (1.0f / (1.0f + std::exp(-row[d + c])));
    }
}

}  // namespace gemma::cpu::ref
