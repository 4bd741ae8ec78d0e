// Token sampling from one row of logits: logit bias, repetition/presence/frequency penalties,
// temperature, top-k, top-p, min-p, a seeded portable RNG (same seed -> same tokens on every
// platform), optional constraint masks and logprobs. Runs on the host after the logits are read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace gemma::runtime {

struct SamplingParams {
    float temperature = 1.0f;         // 0 = greedy (argmax)
    int top_k = 0;                    // 0 = off
    float top_p = 1.0f;               // 1 = off
    float min_p = 0.0f;               // 0 = off; drops p < min_p * p_max
    float repetition_penalty = 1.0f;  // HF rule over prompt + output: l > 0 ? l / r : l * r
    float presence_penalty = 0.0f;    // OpenAI rule over the output: l -= presence * (count > 0)
    float frequency_penalty = 0.0f;   //                                 + frequency * count
    std::vector<std::pair<int32_t, float>> logit_bias;  // added to the raw logits
    bool has_seed = false;
    uint64_t seed = 0;      // used when has_seed; else a random seed per request
    int top_logprobs = -1;  // -1: no logprobs; k >= 0: chosen token's logprob + k alternatives
};

// invalid_argument naming the field (temperature < 0, top_p outside (0, 1], bias id outside the
// vocabulary, top_logprobs > 20, ...).
Status sampling_params_check(const SamplingParams & p, int vocab_size);

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0.0f;
};

struct SampleResult {
    int32_t id = -1;
    float logprob = 0.0f;           // log-softmax of the raw logits (before penalties/temperature)
    std::vector<TokenLogprob> top;  // top_logprobs alternatives, most likely first
};

// What Op::top_k gives for one logits row: its k largest logits in descending order (equal
// values: lower id first) and the logsumexp of the whole row (f32, within 1e-4).
struct LogitCandidates {
    std::span<const int32_t> ids;
    std::span<const float> values;
    float logsumexp = 0.0f;
};

// Which tokens a constrained decoder may emit next (grammar, JSON, forced prefixes).
class TokenFilter {
public:
    virtual ~TokenFilter() = default;
    virtual bool allows(int32_t id) const = 0;
    // Optional fast path: fills allowed[id] (1 = allowed) for the whole vocabulary at once and
    // returns true; false when not implemented (the sampler then asks allows() per id).
    virtual bool fill_mask(std::vector<uint8_t> & allowed) const {
        (void)allowed;
        return false;
    }
};

// SplitMix64: tiny, fast, fully specified (std::mt19937 + distributions are not portable).
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next();
    double uniform();  // [0, 1) with 53 random bits

private:
    uint64_t s_;
};

// One per request; thread-compatible.
class Sampler {
public:
    Sampler(SamplingParams params, int vocab_size);

    // Tokens the repetition penalty also covers (the prompt).
    void set_prompt(std::span<const int32_t> prompt);
    // Picks the next token. `filter` (may be null) removes disallowed tokens; invalid_argument
    // when it allows none or the logits row has the wrong size.
    Result<SampleResult> sample(std::span<const float> logits,
                                const TokenFilter * filter = nullptr);
    // Records an emitted token for the penalties (sample() does not, so callers may force tokens).
    void accept(int32_t id);

    // Whether the next token might be sampled from k candidates (sample_candidates), decided
    // before any logits are read: no filter, logit bias or penalties (they move logits outside
    // the candidates); greedy, or top_k within k, or top_p / min_p (which may cut within k);
    // top_logprobs within k.
    bool candidates_may_suffice(const TokenFilter * filter, int k) const;
    // Exactly what sample() would return for the full row (the same RNG draw, the same id; the
    // logprobs from the candidates' logsumexp, so equal within its f32 rounding), or nullopt
    // with nothing drawn when the candidates cannot decide it (top_p / min_p reaching past them):
    // the caller then reads the full row and calls sample(). Only when
    // candidates_may_suffice(nullptr, ids.size()) holds.
    std::optional<SampleResult> sample_candidates(const LogitCandidates & c);

    const SamplingParams & params() const { return params_; }

private:
    void apply_penalties(std::vector<float> & l) const;
    int32_t pick(std::vector<float> & l);
    void fill_logprobs(std::span<const float> logits, SampleResult & r) const;
    std::optional<size_t> pick_candidates(const LogitCandidates & c, size_t finite);
    std::optional<size_t> cut_open(const LogitCandidates & c, double inv_t);

    SamplingParams params_;
    int vocab_;
    Rng rng_;
    std::unordered_map<int32_t, int> counts_;  // output token -> times emitted
    std::vector<bool> in_prompt_;
    // Scratch reused across calls (a 262k vocabulary would otherwise allocate per token).
    std::vector<float> l_;
    std::vector<int32_t> idx_;
    std::vector<double> p_;
};

}  // namespace gemma::runtime
