// Shared helpers for the media-through-the-runtime tests: an Engine on the tiny fixtures, a sink
// that records tokens, logits rows and the finish, fixture files as MediaInputs, and the bare
// marker prompt behind the fixture's expanded mm.input_ids.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "runtime/engine.h"
#include "runtime_util.h"

namespace rt_test {

// Records everything a request reports; wait() blocks until on_finish.
struct MediaSink : gemma::runtime::TokenSink {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<gemma::runtime::SampleResult> tokens;
    std::vector<std::vector<float>> logits;  // one row per sampled token
    bool done = false;
    gemma::runtime::FinishReason reason = gemma::runtime::FinishReason::error;
    gemma::runtime::Usage usage;
    gemma::Error error{gemma::ErrorCode::internal, ""};
    int first_token_at = -1, finished_at = -1;  // media_clock() order

    static int media_clock() {
        static std::atomic<int> clock{0};
        return clock++;
    }
    bool on_token(const gemma::runtime::SampleResult & r) override {
        std::lock_guard<std::mutex> lock(mu);
        if (first_token_at < 0) first_token_at = media_clock();
        tokens.push_back(r);
        return false;
    }
    bool wants_logits() const override { return true; }  // every row, for comparisons
    void on_logits(std::span<const float> row) override {
        std::lock_guard<std::mutex> lock(mu);
        logits.emplace_back(row.begin(), row.end());
    }
    void on_finish(gemma::runtime::FinishReason r, const gemma::runtime::Usage & u,
                   const gemma::Error * e) override {
        std::lock_guard<std::mutex> lock(mu);
        done = true, reason = r, usage = u, finished_at = media_clock();
        if (e) error = *e;
        cv.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(120), [&] { return done; });
    }
    std::vector<int32_t> ids() {
        std::lock_guard<std::mutex> lock(mu);
        std::vector<int32_t> out;
        for (const auto & t : tokens) out.push_back(t.id);
        return out;
    }
};

// The engine options the media tests share: room for a 126-token image block (budget 140) in one
// prefill chunk (tiny-gemma4 asks for bidirectional vision attention).
inline gemma::runtime::EngineOptions media_engine_options() {
    gemma::runtime::EngineOptions o;
    o.n_ctx = 512;
    o.max_seqs = 4;
    o.max_step_tokens = 160;
    o.prefill_chunk = 128;
    o.max_cached = 4;
    return o;
}

inline std::unique_ptr<gemma::runtime::Engine> load_engine(const std::string & dir,
                                                           gemma::runtime::EngineOptions o) {
    auto e = gemma::runtime::Engine::load(dir, o);
    EXPECT_TRUE(e.ok()) << e.error().message;
    return e.ok() ? std::move(*e) : nullptr;
}

inline gemma::runtime::MediaInput fixture_media(gemma::gemma4::MediaKind kind,
                                                const std::string & file) {
    auto m = gemma::runtime::media_input_load(kind, kTiny + "/" + file);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? *m : gemma::runtime::MediaInput{};
}

// mm.input_ids with each BOI … EOI / BOA … EOA run folded back into the bare marker the chat
// template writes (the image / audio placeholder id).
inline std::vector<int32_t> fold_markers(const std::vector<int32_t> & ids,
                                         const gemma::gemma4::Config & cfg) {
    std::vector<int32_t> out;
    for (size_t i = 0; i < ids.size(); ++i) {
        int32_t end = ids[i] == cfg.boi_token_id   ? cfg.eoi_token_id
                      : ids[i] == cfg.boa_token_id ? cfg.eoa_token_id
                                                   : -1;
        if (end < 0) {
            out.push_back(ids[i]);
            continue;
        }
        out.push_back(ids[i] == cfg.boi_token_id ? cfg.image_token_id : cfg.audio_token_id);
        while (i < ids.size() && ids[i] != end) ++i;
    }
    return out;
}

inline gemma::runtime::TokenRequest greedy_request(std::vector<int32_t> prompt, int max_tokens) {
    gemma::runtime::TokenRequest r;
    r.prompt = std::move(prompt);
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0.0f;
    return r;
}

// Submits through the engine's media path and waits for the finish.
inline std::shared_ptr<MediaSink> run_media(gemma::runtime::Engine & e,
                                            gemma::runtime::MediaRequest req) {
    auto sink = std::make_shared<MediaSink>();
    auto id = e.generate(std::move(req), sink);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (id.ok()) {
        EXPECT_TRUE(sink->wait());
    }
    return sink;
}

}  // namespace rt_test
