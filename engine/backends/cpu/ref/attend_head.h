// The reference math of one query head (core/ops.h Op::attention), shared by ref::attention and
// ref::attention_paged, which differ only in which keys are visible and where they are stored:
// s = scale · q·k over the candidate keys, an exact softmax in f32, out = Σ softmax · v.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace gemma::cpu::ref {

// Keys t in [t_lo, t_hi] with visible(t); key(t) / value(t) return the head's D floats.
// Nothing visible: out is zeros.
template <class Visible, class Key, class Value>
void attend_head(const float * q, int64_t d, float scale, int64_t t_lo, int64_t t_hi,
                 Visible visible, Key key, Value value, std::vector<float> & scores, float * out) {
    const float neg_inf = -std::numeric_limits<float>::infinity();
    scores.assign(size_t(t_hi - t_lo + 1), neg_inf);
    float mx = neg_inf;
    for (int64_t t = t_lo; t <= t_hi; ++t) {
        if (!visible(t)) continue;
        const float * kt = key(t);
        float s = 0.0f;
        for (int64_t j = 0; j < d; ++j) s += q[j] * kt[j];
        s *= scale;
        scores[size_t(t - t_lo)] = s;
        mx = std::max(mx, s);
    }
    for (int64_t j = 0; j < d; ++j) out[j] = 0.0f;
    if (mx == neg_inf) return;  // nothing visible
    float sum = 0.0f;
    for (float & s : scores) {
        s = std::exp(s - mx);  // exp(-inf) = 0 for masked keys
        sum += s;
    }
    for (int64_t t = t_lo; t <= t_hi; ++t) {
        const float a = scores[size_t(t - t_lo)] / sum;
        if (a == 0.0f) continue;
        const float * vt = value(t);
        for (int64_t j = 0; j < d; ++j) out[j] += a * vt[j];
    }
}

}  // namespace gemma::cpu::ref
