// Reference paged attention (core/ops.h Op::attention_paged): the rows of many sequences in one
// call, each reading its keys through its page table. Plain loops with an exact two-pass softmax,
// the truth the CUDA kernel is compared against.
#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/ref/attend_head.h"
#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {

void attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                     const Tensor & positions, const Tensor & row_seq, const Tensor & pages,
                     int page_size, const AttentionDesc & desc, const Tensor & out) {
    const int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2), hkv = k_pool.dim(1);
    const int64_t group = hq / hkv, n_pages = pages.dim(1), P = page_size;
    const float * kc = static_cast<const float *>(k_pool.data);
    const float * vc = static_cast<const float *>(v_pool.data);
    std::vector<float> scores;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t p = positions.ptr<int32_t>()[i];
        const int32_t * pg = pages.ptr<int32_t>() + int64_t(row_seq.ptr<int32_t>()[i]) * n_pages;
        const int64_t t_lo = desc.window > 0 ? std::max<int64_t>(0, p - desc.window + 1) : 0;
        auto row = [&](int64_t t) { return int64_t(pg[(t / P) % n_pages]) * P + t % P; };
        for (int64_t h = 0; h < hq; ++h) {
            const int64_t kvh = h / group;
            attend_head(
                f32_data(q) + (i * hq + h) * d, d, desc.scale, t_lo, p,
                [](int64_t) { return true; },
                [&](int64_t t) { return kc + (row(t) * hkv + kvh) * d; },
                [&](int64_t t) { return vc + (row(t) * hkv + kvh) * d; }, scores,
                f32_data(out) + (i * hq + h) * d);
        }
    }
}

}  // namespace gemma::cpu::ref
