// top_k on the fast CPU backend, one row per pool task: a single pass keeps a buffer of
// candidates, admitting only values above the k-th best found so far (the buffer is cut back to
// the best k with nth_element when it fills), so a 262,144-value row costs one compare per value.
// The logsumexp is f32 SIMD sums over chunks of 4096 values (a few ulp each), combined in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"

namespace gemma::cpu::fast {
namespace {

constexpr int64_t kLseChunk = 4096;

struct Cand {
    float v;
    int32_t id;
};

// Value descending, then the lower id (Op::top_k's order; −0 == +0 as floats compare).
bool better(const Cand & a, const Cand & b) { return a.v > b.v || (a.v == b.v && a.id < b.id); }

// The best k of x[0..n) into ids / values, sorted.
void row_top_k(const float * x, int64_t n, int64_t k, int32_t * ids, float * values,
               std::vector<Cand> & buf) {
    const size_t keep = size_t(k), cap = std::max<size_t>(4 * keep, 1024);
    buf.clear();
    buf.reserve(cap);
    // Ids arrive in increasing order, so once the buffer holds k values, a later value equal to
    // the k-th best loses the tie: only strictly greater values can enter.
    bool have_k = false;
    float thr = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
        if (have_k && !(x[i] > thr)) continue;
        buf.push_back({x[i], int32_t(i)});
        if (buf.size() == cap) {
            std::nth_element(buf.begin(), buf.begin() + long(keep - 1), buf.end(), better);
            buf.resize(keep);
            thr = buf[keep - 1].v;  // the k-th best: every kept value is >= it
            have_k = true;
        }
    }
    const size_t m = std::min(keep, buf.size());
    std::partial_sort(buf.begin(), buf.begin() + long(m), buf.end(), better);
    for (size_t j = 0; j < m; ++j) {
        ids[j] = buf[j].id;
        values[j] = buf[j].v;
    }
}

// log Σ exp(x[j]): f32 SIMD sums per chunk of kLseChunk values (copied to scratch: exp_sub_sum
// works in place), the chunk sums added in double; ±inf rows as Op::top_k says.
float row_lse(const float * x, int64_t n, std::vector<float> & scratch) {
    const float mx = simd::max_value(x, n);
    if (std::isinf(mx)) return mx;
    scratch.resize(size_t(std::min(n, kLseChunk)));
    double sum = 0.0;
    for (int64_t j = 0; j < n; j += kLseChunk) {
        const int64_t len = std::min(kLseChunk, n - j);
        std::memcpy(scratch.data(), x + j, size_t(len) * sizeof(float));
        sum += double(simd::exp_sub_sum(scratch.data(), len, mx));
    }
    return float(double(mx) + std::log(sum));
}

}  // namespace

void top_k(ThreadPool & pool, const Tensor & logits, const Tensor & ids, const Tensor & values,
           const Tensor & lse) {
    const int64_t v = logits.dim(1), k = ids.dim(1);
    const float * x = static_cast<const float *>(logits.data);
    pool.parallel_for(logits.dim(0), 1, [&](int64_t r0, int64_t r1) {
        std::vector<Cand> buf;
        std::vector<float> scratch;
        for (int64_t r = r0; r < r1; ++r) {
            row_top_k(x + r * v, v, k, static_cast<int32_t *>(ids.data) + r * k,
                      f32_data(values) + r * k, buf);
            f32_data(lse)[r] = row_lse(x + r * v, v, scratch);
        }
    });
}

}  // namespace gemma::cpu::fast
