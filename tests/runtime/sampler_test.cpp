// Sampler statistics under fixed seeds: empirical frequencies against the softmax of known logits
// (tolerance from the binomial standard error), truncation rules, penalties, bias, determinism,
// logprobs against a directly computed log-softmax, and parameter validation.
#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace gemma;
using namespace gemma::runtime;

namespace {

const std::vector<float> kLogits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f};

std::vector<double> softmax(const std::vector<float> & l, double t) {
    double mx = *std::max_element(l.begin(), l.end()), s = 0;
    std::vector<double> p;
    for (float x : l) s += std::exp((x - mx) / t);
    for (float x : l) p.push_back(std::exp((x - mx) / t) / s);
    return p;
}

std::vector<int> histogram(SamplingParams sp, int n, const std::vector<float> & logits = kLogits) {
    Sampler s(sp, int(logits.size()));
    std::vector<int> h(logits.size(), 0);
    for (int i = 0; i < n; ++i) ++h[size_t(s.sample(logits)->id)];
    return h;
}

SamplingParams seeded(uint64_t seed) {
    SamplingParams p;
    p.has_seed = true;
    p.seed = seed;
    return p;
}

}  // namespace

// Frequencies within 5 binomial standard errors of the softmax at T = 1 and T = 0.5.
TEST(Sampler, FrequenciesFollowTheSoftmax) {
    for (float t : {1.0f, 0.5f}) {
        SamplingParams p = seeded(42);
        p.temperature = t;
        const int n = 20000;
        std::vector<int> h = histogram(p, n);
        std::vector<double> want = softmax(kLogits, t);
        for (size_t i = 0; i < want.size(); ++i) {
            double se = std::sqrt(want[i] * (1 - want[i]) / n);
            EXPECT_NEAR(double(h[i]) / n, want[i], 5 * se + 1e-9) << "token " << i << " T=" << t;
        }
    }
}

TEST(Sampler, SameSeedSameTokensOtherSeedOthers) {
    auto run = [](uint64_t seed) {
        Sampler s(seeded(seed), int(kLogits.size()));
        std::vector<int32_t> out;
        for (int i = 0; i < 64; ++i) out.push_back(s.sample(kLogits)->id);
        return out;
    };
    EXPECT_EQ(run(7), run(7));
    EXPECT_NE(run(7), run(8));
}

TEST(Sampler, GreedyTakesTheArgmax) {
    SamplingParams p = seeded(1);
    p.temperature = 0.0f;
    std::vector<int> h = histogram(p, 100);
    EXPECT_EQ(h[0], 100);
}

TEST(Sampler, TopKTopPMinPTruncate) {
    SamplingParams k = seeded(3);
    k.top_k = 2;
    std::vector<int> h = histogram(k, 5000);
    EXPECT_EQ(h[2] + h[3] + h[4] + h[5], 0);
    // Within the top 2 the ratio follows e^(2-1).
    EXPECT_NEAR(double(h[0]) / double(h[1]), std::exp(1.0), 0.25);

    // top_p: softmax masses are 0.539, 0.198, 0.120, 0.073, ...: 0.8 needs the first three.
    SamplingParams tp = seeded(4);
    tp.top_p = 0.8f;
    h = histogram(tp, 5000);
    EXPECT_GT(h[2], 0);
    EXPECT_EQ(h[3] + h[4] + h[5], 0);

    // min_p 0.2: keeps p >= 0.2 * 0.539 = 0.108: tokens 0, 1, 2.
    SamplingParams mp = seeded(5);
    mp.min_p = 0.2f;
    h = histogram(mp, 5000);
    EXPECT_GT(h[2], 0);
    EXPECT_EQ(h[3] + h[4] + h[5], 0);
}

TEST(Sampler, BiasAndPenaltiesShiftTheDistribution) {
    SamplingParams b = seeded(6);
    b.temperature = 0.0f;
    b.logit_bias = {{5, 10.0f}};
    EXPECT_EQ(Sampler(b, 6).sample(kLogits)->id, 5);
    b.logit_bias = {{0, -100.0f}};
    EXPECT_EQ(Sampler(b, 6).sample(kLogits)->id, 1);

    // Presence 1.5 after emitting token 0 once: 2 - 1.5 = 0.5 < 1 -> greedy picks token 1.
    SamplingParams pr = seeded(7);
    pr.temperature = 0.0f;
    pr.presence_penalty = 1.5f;
    Sampler s(pr, 6);
    EXPECT_EQ(s.sample(kLogits)->id, 0);
    s.accept(0);
    EXPECT_EQ(s.sample(kLogits)->id, 1);

    // Frequency 0.6: token 0 after two emissions is 2 - 1.2 = 0.8 < 1.
    SamplingParams fr = seeded(8);
    fr.temperature = 0.0f;
    fr.frequency_penalty = 0.6f;
    Sampler f(fr, 6);
    f.accept(0);
    EXPECT_EQ(f.sample(kLogits)->id, 0);
    f.accept(0);
    EXPECT_EQ(f.sample(kLogits)->id, 1);

    // Repetition 2.5 over the prompt: 2 / 2.5 = 0.8 < 1.
    SamplingParams rp = seeded(9);
    rp.temperature = 0.0f;
    rp.repetition_penalty = 2.5f;
    Sampler r(rp, 6);
    std::vector<int32_t> prompt{0};
    r.set_prompt(prompt);
    EXPECT_EQ(r.sample(kLogits)->id, 1);
}

TEST(Sampler, LogprobsAreTheRawLogSoftmax) {
    SamplingParams p = seeded(10);
    p.temperature = 0.0f;
    p.top_logprobs = 3;
    p.presence_penalty = 1.0f;  // penalties change the choice, not the reported logprobs
    Sampler s(p, 6);
    auto r = s.sample(kLogits);
    ASSERT_TRUE(r.ok());
    std::vector<double> want = softmax(kLogits, 1.0);
    EXPECT_NEAR(r->logprob, std::log(want[0]), 1e-6);
    ASSERT_EQ(r->top.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(r->top[size_t(i)].id, i);
        EXPECT_NEAR(r->top[size_t(i)].logprob, std::log(want[size_t(i)]), 1e-6);
    }
}

namespace {
struct OnlyOdd : TokenFilter {
    bool allows(int32_t id) const override { return id % 2 == 1; }
};
struct Nothing : TokenFilter {
    bool allows(int32_t) const override { return false; }
};
}  // namespace

TEST(Sampler, FiltersRestrictTheChoice) {
    SamplingParams p = seeded(11);
    Sampler s(p, 6);
    OnlyOdd odd;
    for (int i = 0; i < 200; ++i) EXPECT_EQ(s.sample(kLogits, &odd)->id % 2, 1);
    Nothing none;
    auto r = s.sample(kLogits, &none);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

TEST(Sampler, BadParametersAreNamed) {
    SamplingParams p;
    p.temperature = -1.0f;
    Status st = sampling_params_check(p, 6);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("temperature"), std::string::npos);
    p = {};
    p.top_p = 0.0f;
    EXPECT_NE(sampling_params_check(p, 6).error().message.find("top_p"), std::string::npos);
    p = {};
    p.logit_bias = {{99, 1.0f}};
    EXPECT_NE(sampling_params_check(p, 6).error().message.find("logit_bias"), std::string::npos);
    p = {};
    p.top_logprobs = 21;
    EXPECT_FALSE(sampling_params_check(p, 6).ok());
    EXPECT_TRUE(sampling_params_check(SamplingParams{}, 6).ok());
    Sampler s(SamplingParams{}, 6);
    std::vector<float> short_row{1.0f};
    EXPECT_EQ(s.sample(short_row).error().code, ErrorCode::invalid_argument);
}
