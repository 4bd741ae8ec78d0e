// The E4B geometry end to end on synthetic weights: the full preset (16 GB of bf16 in host memory,
// minutes on the scalar reference) only with GEMMA_RUN_E4B_SYNTHETIC=1; always, E4B's layer
// layout (42 layers, 18 shared, 8/2 heads, head dims 256/512, P = 256) at a narrow width.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "core/registry.h"
#include "model/gemma4/text.h"

using namespace gemma;
using namespace gemma::gemma4;

TEST(TextE4bSynthetic, PrefillAndDecodeRun) {
    if (std::getenv("GEMMA_RUN_E4B_SYNTHETIC") == nullptr)
        GTEST_SKIP() << "set GEMMA_RUN_E4B_SYNTHETIC=1 (needs ~17 GB RAM and minutes)";
    auto cfg = preset_config("e4b");
    ASSERT_TRUE(cfg.ok());
    auto backend = backend_create("cpu-ref").value();
    auto m = make_synthetic_text_model(*cfg, *backend, 1, {4, 1});
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto kv = (*m)->make_kv_cache(1024);
    ASSERT_TRUE(kv.ok());
    int owners = 0;
    for (int l = 0; l < 42; ++l) {
        if (kv->layers[size_t(l)].k.empty()) continue;
        ++owners;
        bool full = (l + 1) % 6 == 0;
        EXPECT_EQ(kv->layers[size_t(l)].k.shape,
                  (Shape{full ? 1024 : 512 + 4 - 1, 2, full ? 512 : 256}));
    }
    EXPECT_EQ(owners, 24);  // spec §1.4
    std::vector<int32_t> prompt = {2, 105, 2364, 107};
    auto a = (*m)->forward({prompt, {}, false}, *kv);
    ASSERT_TRUE(a.ok()) << a.error().message;
    int32_t next = 1000;
    auto b = (*m)->forward({std::span<const int32_t>(&next, 1), {}, false}, *kv);
    ASSERT_TRUE(b.ok()) << b.error().message;
    std::vector<float> logits = *read_f32(*backend, *b);
    ASSERT_EQ(logits.size(), 262144u);
    double sq = 0;
    for (float v : logits) {
        ASSERT_TRUE(std::isfinite(v));
        ASSERT_LT(std::fabs(v), 30.0f);
        sq += double(v) * v;
    }
    EXPECT_GT(sq, 0.0);
}

// E4B's attention/KV-sharing layout with hidden 256 and vocab 1024 (about 60 M parameters).
TEST(TextE4bSynthetic, NarrowE4bLayoutRuns) {
    const char * json = R"({"text_config": {
        "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 42,
        "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256, "global_head_dim": 512,
        "sliding_window": 512, "num_kv_shared_layers": 18, "hidden_size_per_layer_input": 256,
        "vocab_size_per_layer_input": 1024, "final_logit_softcapping": 30.0}})";
    auto cfg = parse_config(json, "narrow-e4b");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->text.layers[41].kv_source, 23);
    EXPECT_EQ(cfg->text.layers[40].kv_source, 22);
    auto backend = backend_create("cpu-ref").value();
    auto m = make_synthetic_text_model(*cfg, *backend, 3, {8, 8});
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto kv = (*m)->make_kv_cache(64);
    ASSERT_TRUE(kv.ok());
    std::vector<int32_t> prompt = {2, 10, 20, 30, 40, 50};
    auto a = (*m)->forward({prompt, {}, true}, *kv);
    ASSERT_TRUE(a.ok()) << a.error().message;
    std::vector<float> logits = *read_f32(*backend, *a);
    ASSERT_EQ(logits.size(), 6u * 1024u);
    for (float v : logits) ASSERT_TRUE(std::isfinite(v) && std::fabs(v) < 30.0f);
}
