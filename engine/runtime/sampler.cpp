// Sampler: penalties and bias on a copy of the logits, then greedy or temperature sampling with
// top-k / top-p / min-p truncation. Probabilities are computed in double so that truncation
// thresholds do not depend on summation order.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "runtime/sampler_truncate.h"

namespace gemma::runtime {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

uint64_t Rng::next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double Rng::uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }

Status sampling_params_check(const SamplingParams & p, int vocab_size) {
    auto bad = [](const std::string & m) { return make_error(ErrorCode::invalid_argument, m); };
    if (!(p.temperature >= 0.0f) || p.temperature > 100.0f)
        return bad(format("temperature must be in [0, 100] (got %g)", double(p.temperature)));
    if (p.top_k < 0) return bad(format("top_k must be >= 0 (got %d)", p.top_k));
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return bad(format("top_p must be in (0, 1] (got %g)", double(p.top_p)));
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return bad(format("min_p must be in [0, 1] (got %g)", double(p.min_p)));
    if (!(p.repetition_penalty > 0.0f))
        return bad(format("repetition_penalty must be > 0 (got %g)", double(p.repetition_penalty)));
    if (!(std::fabs(p.presence_penalty) <= 2.0f) || !(std::fabs(p.frequency_penalty) <= 2.0f))
        return bad("presence_penalty and frequency_penalty must be in [-2, 2]");
    if (p.top_logprobs > 20)
        return bad(format("top_logprobs must be at most 20 (got %d)", p.top_logprobs));
    for (const auto & [id, b] : p.logit_bias) {
        if (id < 0 || id >= vocab_size)
            return bad(
                format("logit_bias token %d is outside the vocabulary [0, %d)", id, vocab_size));
        if (!(std::fabs(b) <= 100.0f))
            return bad(format("logit_bias for token %d must be in [-100, 100]", id));
    }
    return Status::success();
}

Sampler::Sampler(SamplingParams params, int vocab_size)
    : params_(std::move(params)),
      vocab_(vocab_size),
      rng_(params_.has_seed ? params_.seed : std::random_device{}() * 0x100000001ull),
      in_prompt_(size_t(vocab_size), false) {}

void Sampler::set_prompt(std::span<const int32_t> prompt) {
    for (int32_t id : prompt)
        if (id >= 0 && id < vocab_) in_prompt_[size_t(id)] = true;
}

void Sampler::accept(int32_t id) {
    if (id >= 0 && id < vocab_) ++counts_[id];
}

void Sampler::apply_penalties(std::vector<float> & l) const {
    for (const auto & [id, b] : params_.logit_bias) l[size_t(id)] += b;
    const float r = params_.repetition_penalty;
    if (r != 1.0f) {
        for (int32_t id = 0; id < vocab_; ++id) {
            if (!in_prompt_[size_t(id)] && !counts_.count(id)) continue;
            float & x = l[size_t(id)];
            x = x > 0.0f ? x / r : x * r;
        }
    }
    for (const auto & [id, n] : counts_)
        l[size_t(id)] -= params_.presence_penalty + params_.frequency_penalty * float(n);
}

// Temperature, then top-k, top-p and min-p on the candidates in descending order, then one draw.
// Only the head of that order is sorted up front (top-p, min-p and the draw almost always end
// inside it); the rest is sorted when a loop reaches it, so the result is that of a full sort
// without its cost (a 262,144-token vocabulary takes ~20 ms to sort).
int32_t Sampler::pick(std::vector<float> & l) {
    if (params_.temperature <= 0.0f)
        return int32_t(std::max_element(l.begin(), l.end()) - l.begin());  // first max on ties
    std::vector<int32_t> & idx = idx_;
    idx.clear();
    for (int32_t i = 0; i < vocab_; ++i)
        if (l[size_t(i)] != kNegInf) idx.push_back(i);
    if (idx.empty()) return int32_t(std::max_element(l.begin(), l.end()) - l.begin());
    auto desc = [&](int32_t a, int32_t b) {
        return l[size_t(a)] > l[size_t(b)] || (l[size_t(a)] == l[size_t(b)] && a < b);
    };
    size_t keep = idx.size();
    if (params_.top_k > 0 && size_t(params_.top_k) < keep) {
        keep = size_t(params_.top_k);
        std::nth_element(idx.begin(), idx.begin() + long(keep), idx.end(), desc);
        idx.resize(keep);
    }
    constexpr size_t kSortedHead = 1024;
    size_t sorted = std::min(keep, kSortedHead);
    std::partial_sort(idx.begin(), idx.begin() + long(sorted), idx.end(), desc);
    const double inv_t = 1.0 / double(params_.temperature);
    const double mx = double(l[size_t(idx[0])]);
    std::vector<double> & p = p_;
    p.resize(keep);
    double sum = 0.0;
    for (size_t i = 0; i < keep; ++i)
        sum += p[i] = std::exp((double(l[size_t(idx[i])]) - mx) * inv_t);
    auto sort_rest = [&] {  // the tail, when a loop reaches it
        std::sort(idx.begin() + long(sorted), idx.end(), desc);
        for (size_t i = sorted; i < keep; ++i)
            p[i] = std::exp((double(l[size_t(idx[i])]) - mx) * inv_t);
        sorted = keep;
    };
    auto ensure = [&](size_t i) {
        if (i >= sorted) sort_rest();
    };
    const size_t n = detail::cut_top_p_min_p(params_, p, keep, sum, ensure);
    return idx[detail::draw_index(rng_, p, n, keep, sum, ensure)];
}

void Sampler::fill_logprobs(std::span<const float> logits, SampleResult & r) const {
    double mx = *std::max_element(logits.begin(), logits.end()), sum = 0.0;
    for (float x : logits) sum += std::exp(double(x) - mx);
    const double lse = mx + std::log(sum);
    r.logprob = float(double(logits[size_t(r.id)]) - lse);
    if (params_.top_logprobs <= 0) return;
    std::vector<int32_t> idx(logits.size());
    std::iota(idx.begin(), idx.end(), 0);
    size_t k = std::min(size_t(params_.top_logprobs), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(), [&](int32_t a, int32_t b) {
        return logits[size_t(a)] > logits[size_t(b)] ||
               (logits[size_t(a)] == logits[size_t(b)] && a < b);
    });
    for (size_t i = 0; i < k; ++i)
        r.top.push_back({idx[i], float(double(logits[size_t(idx[i])]) - lse)});
}

Result<SampleResult> Sampler::sample(std::span<const float> logits, const TokenFilter * filter) {
    if (int(logits.size()) != vocab_)
        return make_error(
            ErrorCode::invalid_argument,
            format("sampler: %zu logits for a vocabulary of %d", logits.size(), vocab_));
    SampleResult r;
    const bool plain = !filter && params_.logit_bias.empty() &&
                       params_.repetition_penalty == 1.0f && params_.presence_penalty == 0.0f &&
                       params_.frequency_penalty == 0.0f;
    if (plain && params_.temperature <= 0.0f) {  // greedy on the logits as they are: no copy
        r.id = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        if (params_.top_logprobs >= 0) fill_logprobs(logits, r);
        return r;
    }
    std::vector<float> & l = l_;
    l.assign(logits.begin(), logits.end());
    apply_penalties(l);
    if (filter) {
        // Draw first and mask rejected tokens (exact: the renormalised rest is the conditional
        // distribution); after a few rejections mask everything the filter refuses at once.
        for (int tries = 0; tries < 8; ++tries) {
            int32_t id = pick(l);
            if (l[size_t(id)] != kNegInf && filter->allows(id)) {
                r.id = id;
                break;
            }
            l[size_t(id)] = kNegInf;
        }
        if (r.id < 0) {
            bool any = false;
            std::vector<uint8_t> mask;
            const bool have_mask = filter->fill_mask(mask) && int(mask.size()) == vocab_;
            for (int32_t id = 0; id < vocab_; ++id) {
                if (l[size_t(id)] == kNegInf) continue;
                if (have_mask ? mask[size_t(id)] != 0 : filter->allows(id))
                    any = true;
                else
                    l[size_t(id)] = kNegInf;
            }
            if (!any)
                return make_error(ErrorCode::invalid_argument,
                                  "constrained decoding: no token can continue the output; the "
                                  "grammar or schema cannot be satisfied");
            r.id = pick(l);
        }
    } else {
        r.id = pick(l);
    }
    if (params_.top_logprobs >= 0) fill_logprobs(logits, r);
    return r;
}

}  // namespace gemma::runtime
