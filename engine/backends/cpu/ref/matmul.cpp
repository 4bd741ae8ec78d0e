// matmul: x [n, k] f32 · w [m, k]ᵀ -> out [n, m] f32; each weight row is upcast to f32 once and
// dotted with every x row, accumulating in f32.
#include <vector>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void matmul(const Tensor & x, const Tensor & w, const Tensor & out) {
    int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
    const float * xp = static_cast<const float *>(x.data);
    float * y = static_cast<float *>(out.data);
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t o = 0; o < m; ++o) {
        load_row_f32(w, o, row.data());
        for (int64_t i = 0; i < n; ++i) {
            const float * xi = xp + i * k;
            float acc = 0.0f;
            for (int64_t j = 0; j < k; ++j) acc += xi[j] * row[size_t(j)];
            y[i * m + o] = acc;
        }
    }
}

}  // namespace gemma::cpu::ref
