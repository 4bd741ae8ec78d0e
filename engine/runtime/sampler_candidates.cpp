// Sampling from device candidates (Op::top_k: a row's k best logits and its logsumexp) with the
// result of the full-row path: the same truncation and draw code (sampler_truncate.h) on the same
// probabilities, in the same order. When the truncation might reach past the candidates, the
// decision is made only if bounds on the rest of the row settle it; else the caller reads the row.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/sampler.h"
#include "runtime/sampler_truncate.h"

namespace gemma::runtime {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Op::top_k's logsumexp accuracy (core/ops.h: 1e-4 absolute), plus f32 rounding at any size.
double lse_tolerance(double lse) { return 1e-4 + 2e-6 * std::fabs(lse); }

auto no_op = [](size_t) {};

}  // namespace

bool Sampler::candidates_may_suffice(const TokenFilter * filter, int k) const {
    if (filter || !params_.logit_bias.empty() || params_.repetition_penalty != 1.0f ||
        params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f || k < 1)
        return false;
    if (k >= vocab_) return true;  // every token is a candidate
    if (params_.top_logprobs > k) return false;
    if (params_.temperature <= 0.0f) return true;
    if (params_.top_k > 0) return params_.top_k <= k;
    return params_.top_p < 1.0f || params_.min_p > 0.0f;  // they may cut within the candidates
}

std::optional<SampleResult> Sampler::sample_candidates(const LogitCandidates & c) {
    const size_t kc = c.ids.size();
    if (kc == 0 || c.values.size() != kc || !std::isfinite(c.logsumexp)) return std::nullopt;
    size_t finite = 0;  // candidates above −inf (the full path drops −inf tokens)
    while (finite < kc && c.values[finite] != kNegInf) ++finite;
    if (finite == 0) return std::nullopt;  // an all −inf row: the full path decides
    size_t j = 0;                          // greedy: the first maximum, as max_element
    if (params_.temperature > 0.0f) {
        auto picked = pick_candidates(c, finite);
        if (!picked) return std::nullopt;
        j = *picked;
    }
    SampleResult r;
    r.id = c.ids[j];
    if (params_.top_logprobs >= 0) {  // as fill_logprobs, with the op's logsumexp
        const double lse = c.logsumexp;
        r.logprob = float(double(c.values[j]) - lse);
        const size_t n_top = std::min({size_t(std::max(0, params_.top_logprobs)), kc});
        for (size_t i = 0; i < n_top; ++i)
            r.top.push_back({c.ids[i], float(double(c.values[i]) - lse)});
    }
    return r;
}

// The full path's pick(): its candidates after top_k are the first `keep` here whenever they are
// all known, i.e. the row's other tokens are −inf (`complete`) or top_k ≤ k.
std::optional<size_t> Sampler::pick_candidates(const LogitCandidates & c, size_t finite) {
    const size_t kc = c.ids.size(), top_k = size_t(params_.top_k);
    const bool complete = finite < kc || kc >= size_t(vocab_);
    const double inv_t = 1.0 / double(params_.temperature);
    if (!complete && !(params_.top_k > 0 && top_k <= kc))
        return params_.top_k == 0 ? cut_open(c, inv_t) : std::nullopt;
    size_t keep = complete ? finite : top_k;
    if (params_.top_k > 0 && top_k < keep) keep = top_k;
    const double mx = double(c.values[0]);
    std::vector<double> & p = p_;
    p.resize(keep);
    double sum = 0.0;
    for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp((double(c.values[i]) - mx) * inv_t);
    const size_t n = detail::cut_top_p_min_p(params_, p, keep, sum, no_op);
    return detail::draw_index(rng_, p, n, keep, sum, no_op);
}

// No top_k and more finite tokens than candidates: the full path's sum S runs over the whole row.
// S = (the candidates' share) + (the rest), and the rest is bounded: its n_rest = V − k tokens
// each have x = exp(l − mx) ≤ x_k (the last candidate's) and plain mass R = exp(lse − mx) −
// Σ_cand exp(v − mx), known to the logsumexp's tolerance. With a = 1/T, Σ x^a lies in
//   a = 1: [R, R];   a > 1: [n^(1−a) R^a, min(n x_k^a, R x_k^(a−1))];
//   a < 1: [R, min(n x_k^a, n^(1−a) R^a)]      (x ≤ 1; x^a against x; power means).
// top_p's cut is monotone in S, so when both bounds give the same cut (inside the candidates) it
// is the full path's; min_p then cuts within it. Without top_p, min_p must cut inside the
// candidates. Nothing is drawn unless the cut is settled.
std::optional<size_t> Sampler::cut_open(const LogitCandidates & c, double inv_t) {
    const size_t kc = c.ids.size();
    const double mx = double(c.values[0]), lse = double(c.logsumexp);
    std::vector<double> & p = p_;
    p.resize(kc);
    double cand = 0.0, plain = 0.0;
    for (size_t i = 0; i < kc; ++i) {
        cand += p[i] = std::exp((double(c.values[i]) - mx) * inv_t);
        plain += std::exp(double(c.values[i]) - mx);
    }
    size_t n = 0;
    if (params_.top_p < 1.0f) {
        const double tol = lse_tolerance(lse), rest_n = double(vocab_) - double(kc);
        const double xk = std::exp(double(c.values[kc - 1]) - mx), a = inv_t;
        const double r_lo = std::max(0.0, std::exp(lse - tol - mx) - plain * (1 + 1e-12));
        const double r_hi = std::max(0.0, std::exp(lse + tol - mx) - plain * (1 - 1e-12));
        double t_lo = r_lo, t_hi = std::min(r_hi, rest_n * xk);
        if (a > 1.0) {
            t_lo = std::pow(rest_n, 1.0 - a) * std::pow(r_lo, a);
            t_hi = std::min(rest_n * std::pow(xk, a), r_hi * std::pow(xk, a - 1.0));
        } else if (a < 1.0) {
            t_hi =
                std::min(rest_n * std::pow(xk, a), std::pow(rest_n, 1.0 - a) * std::pow(r_hi, a));
        }
        // 1e-9: the full path adds its many terms in another order (relative error ~1e-11).
        const double s_lo = (cand + t_lo) * (1 - 1e-9), s_hi = (cand + t_hi) * (1 + 1e-9);
        const size_t n_lo = detail::cut_top_p(params_, p, kc, s_lo, no_op);
        const size_t n_hi = detail::cut_top_p(params_, p, kc, s_hi, no_op);
        if (n_hi == 0 || n_lo != n_hi) return std::nullopt;  // not settled inside the candidates
        n = detail::cut_min_p(params_, p, n_hi, no_op);
    } else {
        n = detail::cut_min_p(params_, p, kc, no_op);
        if (n == kc) return std::nullopt;  // min_p may cut past the candidates
    }
    return detail::draw_index(rng_, p, n, size_t(-1), 0.0, no_op);  // n < keep: the head's total
}

}  // namespace gemma::runtime
