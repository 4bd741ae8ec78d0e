// top_k reference: per row, the k best (value descending, lower id first on ties) by a partial
// sort of all ids, and the row's logsumexp accumulated in double (the truth the fast backends and
// the runtime's exactness bounds are checked against).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

// log Σ exp(x[j]) in double: −inf for an all −inf row, +inf when a value is +inf.
float row_logsumexp(const float * x, int64_t n) {
    const float mx = *std::max_element(x, x + n);
    if (std::isinf(mx)) return mx;
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(double(x[j]) - double(mx));
    return float(double(mx) + std::log(sum));
}

void top_k(const Tensor & logits, const Tensor & ids, const Tensor & values, const Tensor & lse) {
    const int64_t rows = logits.dim(0), v = logits.dim(1), k = ids.dim(1);
    std::vector<int32_t> idx(static_cast<size_t>(v));
    for (int64_t r = 0; r < rows; ++r) {
        const float * x = static_cast<const float *>(logits.data) + r * v;
        std::iota(idx.begin(), idx.end(), 0);
        std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [x](int32_t a, int32_t b) {
            return x[a] > x[b] || (x[a] == x[b] && a < b);
        });
        for (int64_t j = 0; j < k; ++j) {
            static_cast<int32_t *>(ids.data)[r * k + j] = idx[size_t(j)];
            f32_data(values)[r * k + j] = x[idx[size_t(j)]];
        }
        f32_data(lse)[r] = row_logsumexp(x, v);
    }
}

}  // namespace gemma::cpu::ref
