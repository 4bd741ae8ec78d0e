// The scheduler on tiny-gemma4 (cpu-ref): greedy output equals the reference's greedy decode
// (decode.tokens) alone and batched with other requests; batched == solo for every request;
// cancellation within a step; prefix-cache hits (text and media) give the same logprobs as cold
// runs; context_full; stop tokens; seeded sampling; chunked prefill does not starve decodes.
#include "runtime/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "runtime_util.h"

using namespace gemma;
using namespace gemma::runtime;
using namespace rt_test;

namespace {

std::atomic<int> g_clock{0};  // orders events across requests

struct Collect : TokenSink {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<SampleResult> tokens;
    bool done = false;
    FinishReason reason = FinishReason::error;
    Usage usage;
    Error error;
    int first_token_at = -1, finished_at = -1;

    bool on_token(const SampleResult & r) override {
        std::lock_guard<std::mutex> lock(mu);
        if (first_token_at < 0) first_token_at = g_clock++;
        tokens.push_back(r);
        cv.notify_all();
        return false;
    }
    void on_finish(FinishReason r, const Usage & u, const Error * e) override {
        std::lock_guard<std::mutex> lock(mu);
        done = true, reason = r, usage = u, finished_at = g_clock++;
        if (e) error = *e;
        cv.notify_all();
    }
    bool wait(int n_tokens = -1) {
        std::unique_lock<std::mutex> lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(60), [&] {
            return done || (n_tokens >= 0 && int(tokens.size()) >= n_tokens);
        });
    }
    std::vector<int32_t> ids() {
        std::lock_guard<std::mutex> lock(mu);
        std::vector<int32_t> out;
        for (const auto & t : tokens) out.push_back(t.id);
        return out;
    }
};

TokenRequest greedy(std::vector<int32_t> prompt, int max_tokens) {
    TokenRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0.0f;
    return r;
}

struct Fixture {
    Loaded l;
    Golden g;
    std::unique_ptr<Scheduler> sched;
};

Fixture make(SchedulerOptions so, gemma4::TextModelOptions mo = {16, 4}) {
    Fixture f;
    f.g = open_golden(kTiny);
    f.l = load_model(kTiny, mo);
    if (!f.l.model) return f;
    auto s = Scheduler::create(*f.l.model, so);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (s.ok()) f.sched = std::move(*s);
    return f;
}

std::shared_ptr<Collect> run(Scheduler & s, TokenRequest r) {
    return submit_and_wait<Collect>(s, std::move(r));
}

SchedulerOptions small_opts() {
    SchedulerOptions o;
    o.n_ctx = 128;
    o.max_seqs = 4;
    o.max_step_tokens = 16;
    o.prefill_chunk = 6;
    o.block_size = 4;
    return o;
}

}  // namespace

TEST(Scheduler, GreedyMatchesReferenceAloneAndBatched) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> prompt = f.g.ids("text.input_ids"), want = f.g.ids("decode.tokens");
    TokenRequest solo = greedy(prompt, int(want.size()));
    solo.use_prefix_cache = false;
    auto alone = run(*f.sched, solo);
    EXPECT_EQ(alone->ids(), want);
    EXPECT_EQ(alone->reason, FinishReason::length);
    EXPECT_EQ(alone->usage.completion_tokens, int(want.size()));

    // Solo runs of two other prompts, then all three at once.
    std::vector<int32_t> p2(prompt.rbegin(), prompt.rend()),
        p3(prompt.begin() + 3, prompt.begin() + 33);
    std::vector<std::vector<int32_t>> solo_out;
    for (const auto & p : {p2, p3}) {
        TokenRequest r = greedy(p, 20);
        r.use_prefix_cache = false;
        solo_out.push_back(run(*f.sched, r)->ids());
    }
    std::vector<std::shared_ptr<Collect>> sinks;
    int i = 0;
    for (const auto & p : {prompt, p2, p3}) {
        TokenRequest r = greedy(p, i == 0 ? int(want.size()) : 20);
        r.use_prefix_cache = false;
        sinks.push_back(std::make_shared<Collect>());
        ASSERT_TRUE(f.sched->submit(r, sinks.back()).ok());
        ++i;
    }
    for (auto & s : sinks) ASSERT_TRUE(s->wait());
    EXPECT_EQ(sinks[0]->ids(), want);
    EXPECT_EQ(sinks[1]->ids(), solo_out[0]);
    EXPECT_EQ(sinks[2]->ids(), solo_out[1]);
}

TEST(Scheduler, CancelEndsWithinAStep) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> prompt = f.g.ids("text.input_ids");
    auto c = std::make_shared<Collect>();
    auto id = f.sched->submit(greedy(prompt, 80), c);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(c->wait(3));
    size_t seen = c->ids().size();
    f.sched->cancel(*id);
    ASSERT_TRUE(c->wait());
    EXPECT_EQ(c->reason, FinishReason::cancelled);
    EXPECT_LE(c->ids().size(), seen + 2) << "kept generating after cancel";

    // A queued request (max_seqs 1 busy) is cancelled before it runs.
    SchedulerOptions one = small_opts();
    one.max_seqs = 1;
    Fixture g1 = make(one);
    ASSERT_NE(g1.sched, nullptr);
    auto busy = std::make_shared<Collect>(), queued = std::make_shared<Collect>();
    auto busy_id = g1.sched->submit(greedy(prompt, 100), busy);
    auto queued_id = g1.sched->submit(greedy(prompt, 5), queued);
    ASSERT_TRUE(busy_id.ok() && queued_id.ok());
    g1.sched->cancel(*queued_id);
    ASSERT_TRUE(queued->wait());
    EXPECT_EQ(queued->reason, FinishReason::cancelled);
    EXPECT_TRUE(queued->ids().empty());
    g1.sched->cancel(*busy_id);
    ASSERT_TRUE(busy->wait());
}

// Turn 2 = turn 1's prompt + its reply + more: served from the cache, same logprobs as cold.
TEST(Scheduler, PrefixCacheHitGivesIdenticalLogits) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> p1 = f.g.ids("text.input_ids");
    p1.resize(20);
    auto t1 = run(*f.sched, greedy(p1, 4));
    std::vector<int32_t> p2 = p1;
    for (int32_t t : t1->ids()) p2.push_back(t);
    for (int32_t t : {5, 77, 123, 9, 400}) p2.push_back(t);
    TokenRequest warm = greedy(p2, 6);
    warm.sampling.top_logprobs = 5;
    auto hot = run(*f.sched, warm);
    EXPECT_EQ(hot->usage.cached_tokens, 23) << "prompt + 3 fed reply tokens";
    warm.use_prefix_cache = false;
    auto cold = run(*f.sched, warm);
    EXPECT_EQ(cold->usage.cached_tokens, 0);
    ASSERT_EQ(hot->tokens.size(), cold->tokens.size());
    for (size_t i = 0; i < hot->tokens.size(); ++i) {
        EXPECT_EQ(hot->tokens[i].id, cold->tokens[i].id);
        EXPECT_EQ(hot->tokens[i].logprob, cold->tokens[i].logprob) << "token " << i;
        ASSERT_EQ(hot->tokens[i].top.size(), 5u);
        for (size_t k = 0; k < 5; ++k)
            EXPECT_EQ(hot->tokens[i].top[k].logprob, cold->tokens[i].top[k].logprob);
    }
}

// Soft tokens are keyed by their content hash: same media -> hit past it, other media -> nothing
// past where the media starts is reused (here nothing at all: the sliding rings of the cached
// sequences no longer reach back to row 8) and the output equals a cold run.
TEST(Scheduler, PrefixCacheKeysMediaByContent) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    const int64_t H = f.l.model->config().text.hidden_size;
    Tensor embeds = tensor_host(DType::f32, {6, H});
    Tensor embeds2 = tensor_host(DType::f32, {6, H});
    for (int64_t i = 0; i < embeds.numel(); ++i) {
        embeds.ptr<float>()[i] = float((i * 37) % 11) / 11.0f - 0.5f;
        embeds2.ptr<float>()[i] = float((i * 13) % 7) / 7.0f - 0.5f;
    }
    std::vector<int32_t> prompt = f.g.ids("text.input_ids");
    prompt.resize(24);
    auto with_media = [&](uint64_t hash, std::vector<int32_t> p) {
        TokenRequest r = greedy(std::move(p), 2);
        r.sampling.top_logprobs = 3;
        r.media.push_back({8, hash == 111 ? embeds : embeds2, hash});
        return r;
    };
    run(*f.sched, with_media(111, prompt));
    std::vector<int32_t> longer = prompt;
    longer.insert(longer.end(), {40, 41, 42});
    auto same = run(*f.sched, with_media(111, longer));
    EXPECT_GE(same->usage.cached_tokens, 24);
    auto other = run(*f.sched, with_media(222, longer));
    EXPECT_LE(other->usage.cached_tokens, 8);
    TokenRequest cold = with_media(111, longer);
    cold.use_prefix_cache = false;
    auto ref = run(*f.sched, cold);
    ASSERT_EQ(same->tokens.size(), ref->tokens.size());
    for (size_t i = 0; i < ref->tokens.size(); ++i)
        EXPECT_EQ(same->tokens[i].logprob, ref->tokens[i].logprob);
    TokenRequest cold_other = with_media(222, longer);
    cold_other.use_prefix_cache = false;
    auto ref_other = run(*f.sched, cold_other);
    ASSERT_EQ(other->tokens.size(), ref_other->tokens.size());
    for (size_t i = 0; i < ref_other->tokens.size(); ++i)
        EXPECT_EQ(other->tokens[i].logprob, ref_other->tokens[i].logprob);
    EXPECT_NE(other->tokens[0].logprob, same->tokens[0].logprob) << "media content must matter";
}

TEST(Scheduler, ContextFullAndLengthPolicy) {
    SchedulerOptions o = small_opts();
    o.n_ctx = 32;
    Fixture f = make(o);
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> prompt = f.g.ids("text.input_ids");
    prompt.resize(32);
    auto c = std::make_shared<Collect>();
    auto r = f.sched->submit(greedy(prompt, 4), c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::context_full);
    EXPECT_NE(r.error().message.find("context"), std::string::npos);
    // 28 prompt tokens: the reply fills positions 28..31, then the 5th sampled token ends it.
    prompt.resize(28);
    auto out = run(*f.sched, greedy(prompt, -1));
    EXPECT_EQ(out->reason, FinishReason::length);
    EXPECT_EQ(out->usage.completion_tokens, 5);
}

TEST(Scheduler, StopTokensEndTheReply) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> prompt = f.g.ids("text.input_ids"), want = f.g.ids("decode.tokens");
    TokenRequest r = greedy(prompt, 24);
    r.stop_ids = {want[5]};
    auto out = run(*f.sched, r);
    size_t first = size_t(std::find(want.begin(), want.end(), want[5]) - want.begin());
    EXPECT_EQ(out->reason, FinishReason::stop);
    EXPECT_EQ(out->ids(), std::vector<int32_t>(want.begin(), want.begin() + long(first)));
    EXPECT_EQ(out->usage.completion_tokens, int(first) + 1) << "the stop token counts as generated";
}

TEST(Scheduler, SeededSamplingIsReproducibleWhenBatched) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> prompt = f.g.ids("text.input_ids");
    TokenRequest r;
    r.prompt = prompt;
    r.max_tokens = 16;
    r.sampling.temperature = 1.5f;
    r.sampling.has_seed = true;
    r.sampling.seed = 1234;
    auto a = run(*f.sched, r);
    std::vector<std::shared_ptr<Collect>> sinks;
    for (uint64_t seed : {1234ull, 99ull}) {
        r.sampling.seed = seed;
        sinks.push_back(std::make_shared<Collect>());
        ASSERT_TRUE(f.sched->submit(r, sinks.back()).ok());
    }
    for (auto & s : sinks) ASSERT_TRUE(s->wait());
    EXPECT_EQ(sinks[0]->ids(), a->ids());
    EXPECT_NE(sinks[1]->ids(), a->ids());
}

// A long prompt is prefilled in chunks while a short request decodes to the end.
TEST(Scheduler, ChunkedPrefillDoesNotStarveDecodes) {
    Fixture f = make(small_opts());
    ASSERT_NE(f.sched, nullptr);
    std::vector<int32_t> base = f.g.ids("text.input_ids"), longp;
    for (int i = 0; i < 3; ++i) longp.insert(longp.end(), base.begin(), base.end());
    auto slow = std::make_shared<Collect>(), quick = std::make_shared<Collect>();
    ASSERT_TRUE(f.sched->submit(greedy(longp, 2), slow).ok());
    ASSERT_TRUE(f.sched->submit(greedy({2, 10, 11}, 3), quick).ok());
    ASSERT_TRUE(slow->wait());
    ASSERT_TRUE(quick->wait());
    EXPECT_LT(quick->finished_at, slow->first_token_at);
}
