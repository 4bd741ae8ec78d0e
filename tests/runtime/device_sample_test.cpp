// The scheduler's device candidates (SchedulerOptions::device_top_k, Op::top_k) on tiny-gemma4
// (cpu-ref): the same batched requests run with candidates and with whole rows give the same
// tokens and logprobs; greedy and Gemma's defaults take the candidates, while penalties, logit
// bias, constraints and sinks that want logits read whole rows (and still match).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "runtime_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

struct Sink : TokenSink {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<SampleResult> tokens;
    int n_logits = 0;
    bool want_logits = false, done = false;
    std::string error;

    bool wants_logits() const override { return want_logits; }
    bool on_token(const SampleResult & r) override {
        std::lock_guard<std::mutex> lock(mu);
        tokens.push_back(r);
        return false;
    }
    void on_logits(std::span<const float>) override {
        std::lock_guard<std::mutex> lock(mu);
        ++n_logits;
    }
    void on_finish(FinishReason, const Usage &, const Error * e) override {
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        if (e) error = e->message;
        cv.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(120), [&] { return done; });
    }
};

// Only ids that are multiples of 3 (a stand-in for a grammar); never finished.
struct EveryThird : Constraint {
    struct Filter : TokenFilter {
        bool allows(int32_t id) const override { return id % 3 == 0; }
    } filter_;
    const TokenFilter * filter() override { return &filter_; }
    void accept(int32_t) override {}
    bool done() const override { return false; }
};

struct Req {
    std::string name;
    TokenRequest req;
    bool want_logits = false;
};

std::vector<Req> requests(const std::vector<int32_t> & prompt) {
    auto base = [&](int shift, float t, int top_k, float top_p, int top_logprobs) {
        TokenRequest r;
        r.prompt.assign(prompt.begin() + shift, prompt.end());
        r.max_tokens = 16;
        r.use_prefix_cache = false;
        r.sampling.temperature = t;
        r.sampling.top_k = top_k;
        r.sampling.top_p = top_p;
        r.sampling.top_logprobs = top_logprobs;
        r.sampling.has_seed = true;
        r.sampling.seed = uint64_t(100 + shift);
        return r;
    };
    std::vector<Req> out;
    out.push_back({"greedy + logprobs", base(0, 0.0f, 0, 1.0f, 5)});
    out.push_back({"gemma defaults", base(1, 1.0f, 64, 0.95f, 3)});
    out.push_back({"top_k 20 top_p 0.8 T 0.7", base(2, 0.7f, 20, 0.8f, 0)});
    out.push_back({"top_p 0.3 T 0.5 (no top_k)", base(3, 0.5f, 0, 0.3f, 2)});
    Req pen{"penalties", base(4, 0.8f, 40, 1.0f, 1)};
    pen.req.sampling.repetition_penalty = 1.3f;
    pen.req.sampling.presence_penalty = 0.4f;
    out.push_back(pen);
    Req bias{"logit bias", base(5, 0.0f, 0, 1.0f, -1)};
    bias.req.sampling.logit_bias = {{10, 5.0f}, {11, -3.0f}};
    out.push_back(bias);
    Req cons{"constrained", base(6, 1.0f, 64, 0.95f, 2)};
    cons.req.constraint = std::make_shared<EveryThird>();
    out.push_back(cons);
    out.push_back({"gemma defaults, sink wants logits", base(7, 1.0f, 64, 0.95f, 0), true});
    return out;
}

struct Outcome {
    std::vector<std::shared_ptr<Sink>> sinks;
    SchedulerStats stats;
};

// All requests submitted at once (batched decode steps) to a scheduler with device_top_k = k.
Outcome run_all(int k) {
    Outcome run;
    Golden g = open_golden(kTiny);
    Loaded l = load_model(kTiny, {16, 8});
    if (!l.model) return run;
    SchedulerOptions so;
    so.n_ctx = 96, so.max_seqs = 8, so.max_step_tokens = 16, so.prefill_chunk = 8;
    so.block_size = 8, so.device_top_k = k;
    auto sched = Scheduler::create(*l.model, so);
    EXPECT_TRUE(sched.ok()) << sched.error().message;
    if (!sched.ok()) return run;
    for (Req & r : requests(g.ids("text.input_ids"))) {
        auto sink = std::make_shared<Sink>();
        sink->want_logits = r.want_logits;
        EXPECT_TRUE((*sched)->submit(r.req, sink).ok()) << r.name;
        run.sinks.push_back(sink);
    }
    for (auto & s : run.sinks) EXPECT_TRUE(s->wait());
    run.stats = (*sched)->stats();
    return run;
}

TEST(DeviceSampling, CandidatesGiveTheTokensOfWholeRows) {
    const Outcome fast = run_all(64), full = run_all(0);
    const std::vector<Req> reqs = requests(open_golden(kTiny).ids("text.input_ids"));
    ASSERT_EQ(fast.sinks.size(), reqs.size());
    ASSERT_EQ(full.sinks.size(), reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
        const Sink & a = *fast.sinks[i];
        const Sink & b = *full.sinks[i];
        EXPECT_TRUE(a.error.empty() && b.error.empty()) << reqs[i].name << ": " << a.error;
        ASSERT_EQ(a.tokens.size(), b.tokens.size()) << reqs[i].name;
        ASSERT_EQ(a.tokens.size(), 16u) << reqs[i].name;
        for (size_t t = 0; t < a.tokens.size(); ++t) {
            EXPECT_EQ(a.tokens[t].id, b.tokens[t].id) << reqs[i].name << " token " << t;
            // cpu-ref's logsumexp is a double sum rounded to f32: logprobs agree to its rounding.
            EXPECT_NEAR(a.tokens[t].logprob, b.tokens[t].logprob, 1e-5) << reqs[i].name;
            ASSERT_EQ(a.tokens[t].top.size(), b.tokens[t].top.size()) << reqs[i].name;
            for (size_t j = 0; j < a.tokens[t].top.size(); ++j) {
                EXPECT_EQ(a.tokens[t].top[j].id, b.tokens[t].top[j].id) << reqs[i].name;
                EXPECT_NEAR(a.tokens[t].top[j].logprob, b.tokens[t].top[j].logprob, 1e-5);
            }
        }
    }
    // Whole rows: every token of the runs without candidates, and in the run with them the
    // penalised, biased and constrained requests and the sink that wants logits (its on_logits
    // saw all 16 rows).
    const uint64_t n_tokens = 16 * reqs.size();
    EXPECT_EQ(full.stats.rows_candidates, 0u);
    EXPECT_EQ(full.stats.rows_full, n_tokens);
    EXPECT_EQ(fast.stats.rows_candidates + fast.stats.rows_full, n_tokens);
    EXPECT_GE(fast.stats.rows_full, 4u * 16);
    // Greedy, Gemma's defaults and top_k 20 always settle on candidates.
    EXPECT_GE(fast.stats.rows_candidates, 3u * 16);
    EXPECT_EQ(fast.sinks[7]->n_logits, 16);
    EXPECT_EQ(fast.sinks[1]->n_logits, 0);  // read as candidates only
    EXPECT_EQ(full.sinks[1]->n_logits, 16);
}

TEST(DeviceSampling, DeviceTopKIsChecked) {
    Loaded l = load_model(kTiny, {16, 4});
    ASSERT_NE(l.model, nullptr);
    SchedulerOptions so;
    so.n_ctx = 64, so.max_step_tokens = 16, so.prefill_chunk = 8;
    so.device_top_k = kTopKMax + 1;
    auto s = Scheduler::create(*l.model, so);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find("device_top_k"), std::string::npos) << s.error().message;
}

}  // namespace
