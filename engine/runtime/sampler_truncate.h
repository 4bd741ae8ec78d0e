// Private to sampler*.cpp: the top-p / min-p truncation and the draw, shared by Sampler::pick
// (a full logits row) and Sampler::sample_candidates (device top-k candidates) so that both do
// the same arithmetic in the same order and turn one RNG draw into the same token.
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/sampler.h"

namespace gemma::runtime::detail {

// min_p over p[0..n) (n ≥ 1; p descending, p[0] the largest): how many lead tokens stay.
// ensure(i) makes p[i] final before it is read (the full-row path sorts its tail lazily).
template <class Ensure>
size_t cut_min_p(const SamplingParams & sp, const std::vector<double> & p, size_t n,
                 Ensure ensure) {
    if (!(sp.min_p > 0.0f)) return n;
    size_t m = 1;
    for (; m < n; ++m) {
        ensure(m);
        if (!(p[m] >= double(sp.min_p) * p[0])) break;
    }
    return m;
}

// top_p: the smallest prefix of p[0..keep) (unnormalised probabilities in descending order,
// Σ p = sum) whose share of sum reaches top_p; 0 when none does (rounding), keep when top_p is
// off.
template <class Ensure>
size_t cut_top_p(const SamplingParams & sp, const std::vector<double> & p, size_t keep, double sum,
                 Ensure ensure) {
    if (!(sp.top_p < 1.0f)) return keep;
    double acc = 0.0;
    for (size_t i = 0; i < keep; ++i) {
        ensure(i);
        acc += p[i] / sum;
        if (acc >= double(sp.top_p)) return i + 1;
    }
    return 0;
}

// top_p, then min_p: how many lead tokens of p[0..keep) stay.
template <class Ensure>
size_t cut_top_p_min_p(const SamplingParams & sp, const std::vector<double> & p, size_t keep,
                       double sum, Ensure ensure) {
    size_t n = cut_top_p(sp, p, keep, sum, ensure);
    return cut_min_p(sp, p, n == 0 ? keep : n, ensure);
}

// One draw among p[0..n): the index. The total is `sum` when all `keep` tokens stay, else the
// sum of the first n.
template <class Ensure>
size_t draw_index(Rng & rng, const std::vector<double> & p, size_t n, size_t keep, double sum,
                  Ensure ensure) {
    double total = 0.0;
    if (n == keep) {
        total = sum;
    } else {
        for (size_t i = 0; i < n; ++i) total += p[i];
    }
    double u = rng.uniform() * total, acc = 0.0;
    for (size_t i = 0; i < n; ++i) {
        ensure(i);
        acc += p[i];
        if (u < acc) return i;
    }
    ensure(n - 1);
    return n - 1;
}

}  // namespace gemma::runtime::detail
