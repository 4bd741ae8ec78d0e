// Gemma 4 config resolution: the fixture (per_layer_config form), a Google-style
// global_head_dim config, a flat Gemma4ForCausalLM config, default layer types and KV donors.
#include "model/gemma4/config.h"

#include <gtest/gtest.h>

using namespace gemma;
using namespace gemma::gemma4;

namespace {

const std::string kTiny = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4";

// A small config in Google's release form (global_head_dim, no layer_types, no per_layer_config):
// 12 layers -> full at 5 and 11 by the default rule; 4 shared -> first shared 8.
const char * kGlobalForm = R"({
  "architectures": ["Gemma4ForConditionalGeneration"],
  "eos_token_id": [1, 106],
  "image_token_id": 258880,
  "text_config": {
    "vocab_size": 1000, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 12,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "global_head_dim": 16,
    "num_global_key_value_heads": 1, "attention_k_eq_v": false, "sliding_window": 16,
    "num_kv_shared_layers": 4, "hidden_size_per_layer_input": 4, "vocab_size_per_layer_input": 1000,
    "final_logit_softcapping": 30.0, "eos_token_id": 1
  }
})";

const char * kCausalLm = R"({
  "architectures": ["Gemma4ForCausalLM"],
  "vocab_size": 100, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3,
  "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "sliding_window": 4,
  "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
  "eos_token_id": [1, 106]
})";

}  // namespace

TEST(Config, FixturePerLayerConfigForm) {
    auto cfg = load_config(kTiny);
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    const TextConfig & t = cfg->text;
    EXPECT_EQ(cfg->architecture, "Gemma4ForConditionalGeneration");
    EXPECT_EQ(cfg->weight_prefix, "model.language_model.");
    EXPECT_EQ(t.n_layers, 6);
    EXPECT_EQ(t.hidden_size, 64);
    EXPECT_EQ(t.sliding_window, 8);
    EXPECT_EQ(t.hidden_size_per_layer_input, 8);
    EXPECT_FLOAT_EQ(t.final_logit_softcapping, 30.0f);
    const LayerType S = LayerType::sliding, F = LayerType::full;
    const LayerType types[6] = {S, S, F, S, S, F};
    const int head_dims[6] = {16, 16, 32, 16, 16, 32};
    for (int l = 0; l < 6; ++l) {
        EXPECT_EQ(t.layers[size_t(l)].type, types[l]) << l;
        EXPECT_EQ(t.layers[size_t(l)].head_dim, head_dims[l]) << l;
        EXPECT_EQ(t.layers[size_t(l)].n_kv_heads, 2) << l;
    }
    // Spec §6.6 / fixtures README: layer 4 reads layer 3's K/V, layer 5 reads layer 2's.
    EXPECT_EQ(t.layers[4].kv_source, 3);
    EXPECT_EQ(t.layers[5].kv_source, 2);
    EXPECT_FALSE(t.layers[4].owns_kv);
    EXPECT_FALSE(t.layers[5].owns_kv);
    for (int l = 0; l < 4; ++l) {
        EXPECT_TRUE(t.layers[size_t(l)].owns_kv);
        EXPECT_EQ(t.layers[size_t(l)].kv_source, l);
    }
    EXPECT_EQ(t.rope_full.type, "proportional");
    EXPECT_FLOAT_EQ(t.rope_full.theta, 1e6f);
    EXPECT_FLOAT_EQ(t.rope_full.partial_rotary_factor, 0.25f);
    EXPECT_EQ(t.rope_sliding.type, "default");
    EXPECT_EQ(t.use_bidirectional_attention, "vision");
    EXPECT_EQ(cfg->image_token_id, 504);
    EXPECT_EQ(cfg->eoa_token_id, 507);  // serialized as eoa_token_index
    EXPECT_TRUE(cfg->has_vision);
    EXPECT_TRUE(cfg->has_audio);
}

TEST(Config, GlobalHeadDimFormAndDefaultLayerTypes) {
    auto cfg = parse_config(kGlobalForm, "test");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    const TextConfig & t = cfg->text;
    for (int l = 0; l < 12; ++l) {
        bool full = (l == 5 || l == 11);
        EXPECT_EQ(t.layers[size_t(l)].type, full ? LayerType::full : LayerType::sliding) << l;
        EXPECT_EQ(t.layers[size_t(l)].head_dim, full ? 16 : 8) << l;
        // num_global_key_value_heads applies only with attention_k_eq_v (spec §1.3).
        EXPECT_EQ(t.layers[size_t(l)].n_kv_heads, 2) << l;
    }
    EXPECT_EQ(t.global_head_dim, 16);
    // first shared = 8: sliding donor = 7, full donor = 5 (last full before 8).
    EXPECT_EQ(t.layers[8].kv_source, 7);
    EXPECT_EQ(t.layers[10].kv_source, 7);
    EXPECT_EQ(t.layers[11].kv_source, 5);
    EXPECT_EQ(cfg->eos_token_ids, (std::vector<int>{1, 106}));
    EXPECT_EQ(t.eos_token_ids, (std::vector<int>{1}));
}

TEST(Config, DefaultLayerTypesForceLastFull) {
    std::string j = R"({"text_config": {"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
        "num_hidden_layers": 4, "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
        "sliding_window": 4}})";
    auto cfg = parse_config(j, "test");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->text.layers[3].type, LayerType::full);
    EXPECT_EQ(cfg->text.layers[2].type, LayerType::sliding);
}

TEST(Config, CausalLmFlatForm) {
    auto cfg = parse_config(kCausalLm, "test");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    EXPECT_EQ(cfg->architecture, "Gemma4ForCausalLM");
    EXPECT_EQ(cfg->weight_prefix, "model.");
    EXPECT_EQ(cfg->text.layers[1].type, LayerType::full);
    EXPECT_EQ(cfg->eos_token_ids, (std::vector<int>{1, 106}));
    EXPECT_FALSE(cfg->has_vision);
}

TEST(Config, E4bPresetMatchesSpecTable) {
    auto cfg = preset_config("e4b");
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    const TextConfig & t = cfg->text;
    // Spec §1.4: owners 0-23; shared sliding -> 22, shared full -> 23.
    int owners = 0;
    for (int l = 0; l < 42; ++l) {
        const LayerConfig & lc = t.layers[size_t(l)];
        bool full = (l + 1) % 6 == 0;
        EXPECT_EQ(lc.type, full ? LayerType::full : LayerType::sliding) << l;
        EXPECT_EQ(lc.head_dim, full ? 512 : 256) << l;
        owners += lc.owns_kv;
        if (l >= 24) {
            EXPECT_EQ(lc.kv_source, full ? 23 : 22) << l;
        }
    }
    EXPECT_EQ(owners, 24);
    EXPECT_FALSE(preset_config("nope").ok());
}

TEST(ConfigErrors, MissingKeyNamed) {
    auto cfg = parse_config(R"({"text_config": {"vocab_size": 10}})", "cfg.json");
    ASSERT_FALSE(cfg.ok());
    EXPECT_NE(cfg.error().message.find("hidden_size"), std::string::npos) << cfg.error().message;
    EXPECT_NE(cfg.error().message.find("cfg.json"), std::string::npos) << cfg.error().message;
}

TEST(ConfigErrors, BadJsonAndBadValues) {
    EXPECT_FALSE(parse_config("{", "x").ok());
    auto wrong_type = parse_config(R"({"text_config": {"vocab_size": "many"}})", "x");
    ASSERT_FALSE(wrong_type.ok());
    EXPECT_NE(wrong_type.error().message.find("vocab_size"), std::string::npos);
    std::string bad_types =
        R"({"text_config": {"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
        "num_hidden_layers": 2, "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
        "sliding_window": 4, "layer_types": ["sliding_attention", "local"]}})";
    auto lt = parse_config(bad_types, "x");
    ASSERT_FALSE(lt.ok());
    EXPECT_NE(lt.error().message.find("layer_types[1]"), std::string::npos) << lt.error().message;
    auto arch = parse_config(R"({"architectures": ["LlamaForCausalLM"]})", "x");
    ASSERT_FALSE(arch.ok());
    EXPECT_EQ(arch.error().code, ErrorCode::unsupported);
    auto missing = load_config("/nonexistent/dir");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(ConfigErrors, SharedLayerWithoutDonor) {
    // Only full layers before the first shared layer, but a shared sliding layer.
    std::string j = R"({"text_config": {"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
        "num_hidden_layers": 2, "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
        "sliding_window": 4, "num_kv_shared_layers": 1,
        "layer_types": ["full_attention", "sliding_attention"]}})";
    auto cfg = parse_config(j, "x");
    ASSERT_FALSE(cfg.ok());
    EXPECT_NE(cfg.error().message.find("layer 1"), std::string::npos) << cfg.error().message;
}
