// Sampler::sample_candidates against Sampler::sample on the full rows: the same seeds must give
// the same tokens and the same logprobs (within the logsumexp's f32 rounding), row after row, with
// candidates and logsumexps from Op::top_k on cpu-ref and cpu. Gemma's defaults, greedy and
// top_k <= k must always be settled by the candidates; top_p / min_p without top_k sometimes are
// (the rest declines, draws nothing, and the full row decides).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/registry.h"
#include "runtime/sampler.h"

using namespace gemma;
using namespace gemma::runtime;

namespace {

constexpr int kK = 64;  // the scheduler's default device_top_k

struct Rows {
    int64_t n = 0, v = 0;
    std::vector<float> x;
    std::span<const float> row(int64_t r) const {
        return std::span<const float>(x).subspan(size_t(r * v), size_t(v));
    }
};

// Model-like rows: normal logits of several spreads, soft-capped at 30; one row with only 10
// finite values, one of few distinct values (ties), one with −inf holes.
Rows make_rows(int64_t v, uint32_t seed) {
    Rows r;
    r.v = v;
    std::mt19937 rng(seed);
    const float inf = std::numeric_limits<float>::infinity();
    for (float spread : {0.5f, 1.0f, 2.0f, 3.0f, 4.0f, 6.0f, 8.0f}) {
        std::normal_distribution<float> nd(0.0f, spread);
        for (int64_t j = 0; j < v; ++j) r.x.push_back(30.0f * std::tanh(nd(rng) / 30.0f));
        ++r.n;
    }
    for (int64_t j = 0; j < v; ++j) r.x.push_back(j % (v / 10) == 3 ? float(j % 7) : -inf);
    for (int64_t j = 0; j < v; ++j) r.x.push_back(float(rng() % 4));
    for (int64_t j = 0; j < v; ++j) r.x.push_back(j % 3 ? float(rng() % 1000) / 100 : -inf);
    r.n += 3;
    return r;
}

struct Cands {
    std::vector<int32_t> ids;
    std::vector<float> values, lse;
    LogitCandidates row(int64_t r) const {
        LogitCandidates c;
        c.ids = std::span<const int32_t>(ids).subspan(size_t(r * kK), kK);
        c.values = std::span<const float>(values).subspan(size_t(r * kK), kK);
        c.logsumexp = lse[size_t(r)];
        return c;
    }
};

Cands top_k_on(const std::string & backend, const Rows & rows) {
    auto be = backend_create(backend);
    EXPECT_TRUE(be.ok());
    Cands c;
    c.ids.resize(size_t(rows.n * kK));
    c.values.resize(size_t(rows.n * kK));
    c.lse.resize(size_t(rows.n));
    Tensor x = tensor_view(DType::f32, {rows.n, rows.v}, const_cast<float *>(rows.x.data()));
    Status st = (*be)->top_k(x, tensor_view(DType::i32, {rows.n, kK}, c.ids.data()),
                             tensor_view(DType::f32, {rows.n, kK}, c.values.data()),
                             tensor_view(DType::f32, {rows.n}, c.lse.data()));
    EXPECT_TRUE(st.ok()) << st.error().message;
    return c;
}

// Every row in order through two samplers of the same seed: one always on the full row, one on
// the candidates (falling back to the full row when they decline). Returns how many rows the
// candidates settled.
int compare(SamplingParams sp, const Rows & rows, const Cands & cands, double lp_tol,
            const std::string & what) {
    sp.has_seed = true;
    Sampler full(sp, int(rows.v)), fast(sp, int(rows.v));
    EXPECT_TRUE(fast.candidates_may_suffice(nullptr, kK)) << what;
    int settled = 0;
    for (int round = 0; round < 3; ++round) {  // the RNG must stay in step across rows
        for (int64_t r = 0; r < rows.n; ++r) {
            auto want = full.sample(rows.row(r));
            if (!want.ok()) return -1;
            std::optional<SampleResult> got = fast.sample_candidates(cands.row(r));
            if (got) {
                ++settled;
            } else {
                auto again = fast.sample(rows.row(r));
                if (!again.ok()) return -1;
                got = *again;
            }
            if (got->id != want->id || got->top.size() != want->top.size()) {
                ADD_FAILURE() << what << ": row " << r << " round " << round << ": token "
                              << got->id << " (" << got->top.size() << " alternatives), full row "
                              << want->id << " (" << want->top.size() << ")";
                return -1;
            }
            EXPECT_NEAR(got->logprob, want->logprob, lp_tol) << what << ": row " << r;
            for (size_t i = 0; i < want->top.size(); ++i) {
                EXPECT_EQ(got->top[i].id, want->top[i].id) << what << ": row " << r;
                if (std::isfinite(want->top[i].logprob))
                    EXPECT_NEAR(got->top[i].logprob, want->top[i].logprob, lp_tol) << what;
                else
                    EXPECT_EQ(got->top[i].logprob, want->top[i].logprob) << what;
            }
        }
    }
    return settled;
}

SamplingParams params(float t, int top_k, float top_p, float min_p, int top_logprobs,
                      uint64_t seed) {
    SamplingParams p;
    p.temperature = t, p.top_k = top_k, p.top_p = top_p, p.min_p = min_p;
    p.top_logprobs = top_logprobs, p.seed = seed;
    return p;
}

class SamplerCandidates : public testing::TestWithParam<const char *> {
protected:
    // Logprobs: the op's logsumexp is f32 (cpu-ref: rounded from double; cpu: f32 chunk sums).
    double lp_tol() const { return std::string(GetParam()) == "cpu-ref" ? 1e-5 : 1e-4; }
};

TEST_P(SamplerCandidates, SettledRowsEqualTheFullRow) {
    const Rows rows = make_rows(50000, 11);
    const Cands cands = top_k_on(GetParam(), rows);
    const int n_rows = int(rows.n) * 3;
    // Always settled: greedy, Gemma's generation defaults, top_k within k.
    for (uint64_t seed : {1, 2, 3}) {
        EXPECT_EQ(compare(params(0.0f, 0, 1.0f, 0.0f, 5, seed), rows, cands, lp_tol(), "greedy"),
                  n_rows);
        EXPECT_EQ(compare(params(1.0f, 64, 0.95f, 0.0f, -1, seed), rows, cands, lp_tol(),
                          "gemma defaults"),
                  n_rows);
        EXPECT_EQ(compare(params(0.7f, 20, 0.8f, 0.05f, 20, seed), rows, cands, lp_tol(),
                          "top_k 20 top_p min_p logprobs"),
                  n_rows);
        EXPECT_EQ(
            compare(params(1.3f, 64, 1.0f, 0.0f, 0, seed), rows, cands, lp_tol(), "top_k 64 alone"),
            n_rows);
    }
    // Without top_k the candidates settle top_p / min_p only when bounds on the rest of the row
    // decide the cut; over these rows both outcomes occur.
    struct Open {
        float t, top_p, min_p;
    };
    int settled = 0, declined = 0;
    for (const Open & o : {Open{1.0f, 0.9f, 0.0f}, Open{0.5f, 0.95f, 0.0f}, Open{1.5f, 0.5f, 0.0f},
                           Open{1.0f, 1.0f, 0.1f}, Open{2.0f, 0.3f, 0.02f}}) {
        int s = compare(params(o.t, 0, o.top_p, o.min_p, 2, 7), rows, cands, lp_tol(),
                        format("T %g top_p %g min_p %g", o.t, o.top_p, o.min_p));
        settled += s;
        declined += n_rows - s;
    }
    EXPECT_GT(settled, 0);
    EXPECT_GT(declined, 0);
}

// top_p swept finely, so that many cuts fall next to the full path's threshold: a settled row
// must still be the full path's.
TEST_P(SamplerCandidates, TopPSweepNearTheCuts) {
    const Rows rows = make_rows(4096, 12);
    const Cands cands = top_k_on(GetParam(), rows);
    int settled = 0;
    for (int i = 0; i < 120; ++i) {
        float top_p = 0.2f + 0.0065f * float(i);
        for (float t : {0.6f, 1.0f, 1.7f})
            settled += compare(params(t, 0, top_p, 0.0f, -1, uint64_t(i)), rows, cands, lp_tol(),
                               format("top_p %g T %g", top_p, t));
    }
    EXPECT_GT(settled, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, SamplerCandidates, testing::Values("cpu-ref", "cpu"),
                         [](const auto & info) {
                             return std::string(info.param) == "cpu" ? "cpu" : "cpu_ref";
                         });

// What must read the whole row: filters, bias, penalties, top_k or top_logprobs beyond k, and
// plain sampling over the whole vocabulary.
TEST(SamplerCandidatesScope, WhatNeedsTheFullRow) {
    struct AllowEven : TokenFilter {
        bool allows(int32_t id) const override { return id % 2 == 0; }
    } even;
    auto may = [](SamplingParams p, const TokenFilter * f = nullptr, int vocab = 1000, int k = kK) {
        return Sampler(p, vocab).candidates_may_suffice(f, k);
    };
    SamplingParams gemma = params(1.0f, 64, 0.95f, 0.0f, -1, 1);
    EXPECT_TRUE(may(gemma));
    EXPECT_FALSE(may(gemma, &even));
    SamplingParams p = gemma;
    p.logit_bias = {{5, 1.0f}};
    EXPECT_FALSE(may(p));
    p = gemma, p.repetition_penalty = 1.1f;
    EXPECT_FALSE(may(p));
    p = gemma, p.presence_penalty = 0.5f;
    EXPECT_FALSE(may(p));
    p = gemma, p.frequency_penalty = 0.5f;
    EXPECT_FALSE(may(p));
    EXPECT_FALSE(may(params(1.0f, 65, 1.0f, 0.0f, -1, 1)));                    // top_k beyond k
    EXPECT_FALSE(may(params(0.0f, 0, 1.0f, 0.0f, 20, 1), nullptr, 1000, 10));  // logprobs > k
    EXPECT_FALSE(may(params(1.0f, 0, 1.0f, 0.0f, -1, 1)));              // the whole vocabulary
    EXPECT_TRUE(may(params(1.0f, 0, 1.0f, 0.0f, -1, 1), nullptr, kK));  // k covers it
    EXPECT_TRUE(may(params(0.0f, 0, 1.0f, 0.0f, 20, 1)));               // greedy + logprobs
}

}  // namespace
