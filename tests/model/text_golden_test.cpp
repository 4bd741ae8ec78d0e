// Text decoder vs the reference goldens of tiny-gemma4 and tiny-gemma4-chat, layer by layer, on
// the CPU reference backend: text.logits, every text.hidden.i, forced decoding one token at a time
// (well past the sliding window of 8, through the ring buffer), and chat.logits.
#include <gtest/gtest.h>

#include <map>

#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace text_test;

namespace {

struct Loaded {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<TextModel> model;
};

Loaded load(const std::string & dir, TextModelOptions opts) {
    Loaded l;
    auto b = backend_create("cpu-ref");
    EXPECT_TRUE(b.ok());
    l.backend = std::move(*b);
    auto m = load_text_model(dir, *l.backend, opts);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (m.ok()) l.model = std::move(*m);
    return l;
}

}  // namespace

TEST(TextGolden, PrefillLogitsAndEveryHiddenState) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load(kTiny, {64, 64});
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("text.input_ids");
    std::map<std::string, std::vector<float>> taps;
    DebugTap tap = [&](const std::string & name, const Tensor & t) {
        taps[name] = *read_f32(*l.backend, t);
    };
    auto kv = l.model->make_kv_cache(128);
    ASSERT_TRUE(kv.ok());
    auto logits = l.model->forward({ids, {}, true}, *kv, &tap);
    ASSERT_TRUE(logits.ok()) << logits.error().message;
    for (int i = 0; i <= 6; ++i) {
        std::string name = "text.hidden." + std::to_string(i);
        Tensor ref = g.get(name);
        ASSERT_EQ(taps[name].size(), size_t(ref.numel())) << name;
        double err = rel_error(taps[name], ref.ptr<float>(), taps[name].size());
        EXPECT_LT(err, kTol) << name << " drifted: rel error " << err;
    }
    Tensor ref = g.get("text.logits");
    std::vector<float> out = *read_f32(*l.backend, *logits);
    ASSERT_EQ(out.size(), size_t(ref.numel()));
    double err = rel_error(out, ref.ptr<float>(), out.size());
    EXPECT_LT(err, kTol) << "text.logits rel error " << err;
}

// Prefill the prompt in chunks of `chunk`, then feed the forced tokens one at a time.
void run_forced_decode(int chunk) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load(kTiny, {chunk, 1});
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("text.input_ids");
    std::vector<int32_t> forced = g.ids("decode.forced_tokens");
    Tensor ref = g.get("decode.forced_logits");  // [25, 512]
    const int64_t V = ref.dim(1);
    auto kv = l.model->make_kv_cache(int(ids.size() + forced.size()), chunk);
    ASSERT_TRUE(kv.ok());
    Result<Tensor> last = Error{};
    for (size_t p = 0; p < ids.size(); p += size_t(chunk)) {
        size_t n = std::min(ids.size() - p, size_t(chunk));
        last = l.model->forward({std::span<const int32_t>(ids).subspan(p, n), {}, false}, *kv);
        ASSERT_TRUE(last.ok()) << last.error().message;
    }
    for (size_t row = 0; row <= forced.size(); ++row) {
        if (row > 0) {
            last =
                l.model->forward({std::span<const int32_t>(&forced[row - 1], 1), {}, false}, *kv);
            ASSERT_TRUE(last.ok()) << last.error().message;
        }
        std::vector<float> out = *read_f32(*l.backend, *last);
        double err = rel_error(out, ref.ptr<float>() + int64_t(row) * V, size_t(V));
        EXPECT_LT(err, kTol) << "decode.forced_logits row " << row << " rel error " << err;
    }
    EXPECT_EQ(kv->n_past, int(ids.size() + forced.size()));
}

TEST(TextGolden, ForcedDecodeAfterFullPrefill) { run_forced_decode(40); }
// Chunks of 5: sliding caches hold 8 + 5 - 1 = 12 slots, so the ring wraps many times.
TEST(TextGolden, ForcedDecodeAfterChunkedPrefill) { run_forced_decode(5); }

TEST(TextGolden, ChatFixtureLogits) {
    Golden g = open_golden(kChat);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load(kChat, {64, 64});
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("chat.input_ids");
    auto kv = l.model->make_kv_cache(64);
    ASSERT_TRUE(kv.ok());
    auto logits = l.model->forward({ids, {}, true}, *kv);
    ASSERT_TRUE(logits.ok()) << logits.error().message;
    Tensor ref = g.get("chat.logits");
    std::vector<float> out = *read_f32(*l.backend, *logits);
    ASSERT_EQ(out.size(), size_t(ref.numel()));
    double err = rel_error(out, ref.ptr<float>(), out.size());
    EXPECT_LT(err, kTol) << "chat.logits rel error " << err;
}
