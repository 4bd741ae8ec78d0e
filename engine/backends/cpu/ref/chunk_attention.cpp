// chunk_attention: the audio conformer's blocked local attention with relative-position logits,
// a soft cap and a set (not added) invalid logit, one query and head at a time (core/ops.h).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {
namespace {

float dot(const float * a, const float * b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

}  // namespace

bool chunk_slot_kept(ChunkMask mask, int64_t t, int64_t s, int64_t n, int past) {
    const bool in_range = s >= 0 && s < n;
    const bool sliding = in_range && t - s >= 0 && t - s < past;
    return mask == ChunkMask::sliding ? sliding : in_range && !sliding;
}

void chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                     const ChunkAttentionDesc & desc, const Tensor & out, int64_t t0, int64_t t1) {
    const int64_t n = q.dim(0), h = q.dim(1), d = q.dim(2), row = h * d;
    const int64_t slots = int64_t(desc.chunk) + desc.past;
    const float * qp = static_cast<const float *>(q.data);
    const float * kp = static_cast<const float *>(k.data);
    const float * vp = static_cast<const float *>(v.data);
    const float * rp = static_cast<const float *>(rel.data);
    float * o = f32_data(out);
    std::vector<float> s(static_cast<size_t>(slots));
    for (int64_t t = t0; t < t1; ++t) {
        const int64_t first = (t / desc.chunk) * desc.chunk - desc.past;
        for (int64_t hh = 0; hh < h; ++hh) {
            const float * qt = qp + t * row + hh * d;
            float mx = -INFINITY;
            for (int64_t j = 0; j < slots; ++j) {
                const int64_t pos = first + j, dist = t - pos;
                float logit = 0.0f;
                if (pos >= 0 && pos < n) logit += dot(qt, kp + pos * row + hh * d, d);
                if (dist >= 0 && dist <= desc.past) logit += dot(qt, rp + dist * row + hh * d, d);
                logit = desc.cap * std::tanh(logit / desc.cap);
                if (!chunk_slot_kept(desc.mask, t, pos, n, desc.past)) logit = desc.invalid;
                s[size_t(j)] = logit;
                mx = std::max(mx, logit);
            }
            float sum = 0.0f;
            for (float & e : s) sum += (e = std::exp(e - mx));
            float * ot = o + t * row + hh * d;
            for (int64_t i = 0; i < d; ++i) ot[i] = 0.0f;
            for (int64_t j = 0; j < slots; ++j) {
                const int64_t pos = first + j;
                if (pos < 0 || pos >= n) continue;  // zero padding of the block context: v = 0
                const float w = s[size_t(j)] / sum;
                const float * vj = vp + pos * row + hh * d;
                for (int64_t i = 0; i < d; ++i) ot[i] += w * vj[i];
            }
        }
    }
}

void chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                     const ChunkAttentionDesc & desc, const Tensor & out) {
    chunk_attention(q, k, v, rel, desc, out, 0, q.dim(0));
}

}  // namespace gemma::cpu::ref
