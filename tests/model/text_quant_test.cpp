// Quantized text weights (TextModelOptions::weights) on the tiny fixture against the reference
// goldens: q8_0 stays close to the fp32 reference logits, q4_0 keeps the greedy choice on most
// positions; the fast CPU backend matches cpu-ref on the same quantized weights; which tensors
// get quantized; synthetic quantized weights; the weight-type names the frontends parse.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/quant.h"
#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace text_test;

namespace {

struct TextRun {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<TextModel> model;
    std::vector<float> logits;
};

// text.input_ids through the tiny model (weights as `wt`) on `backend`, all 40 logit rows.
TextRun run_text(const std::string & backend, WeightType wt) {
    TextRun r;
    Golden g = open_golden(kTiny);
    EXPECT_NE(g.src, nullptr);
    if (!g.src) return r;
    auto b = backend_create(backend);
    EXPECT_TRUE(b.ok());
    r.backend = std::move(*b);
    TextModelOptions mo{64, 64};
    mo.weights = wt;
    auto m = load_text_model(kTiny, *r.backend, mo);
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (!m.ok()) return r;
    r.model = std::move(*m);
    std::vector<int32_t> ids = g.ids("text.input_ids");
    auto kv = r.model->make_kv_cache(64);
    EXPECT_TRUE(kv.ok());
    auto logits = r.model->forward({ids, {}, true}, *kv);
    EXPECT_TRUE(logits.ok()) << logits.error().message;
    if (logits.ok()) r.logits = *read_f32(*r.backend, *logits);
    return r;
}

// Fraction of rows (width v) whose argmax agrees.
double top1_agreement(const std::vector<float> & a, const float * b, int64_t rows, int64_t v) {
    int same = 0;
    for (int64_t r = 0; r < rows; ++r) {
        const float * ar = a.data() + r * v;
        const float * br = b + r * v;
        same += (std::max_element(ar, ar + v) - ar) == (std::max_element(br, br + v) - br);
    }
    return double(same) / double(rows);
}

}  // namespace

// Measured on cpu-ref: q8_0 text.logits rel error 5.2e-2, top-1 kept on 39 of 40 positions
// (bf16 weights as stored: ~1.6e-6). The fixture's random weights amplify weight noise about 13x
// (q8_0 rounds each weight by ~0.4% RMS); bf16 compute lands near 1e-2 (fixtures README). The
// bound leaves ~50% room; q4_0 is 7x further off.
TEST(TextQuant, Q8_0StaysCloseToTheGoldens) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    TextRun r = run_text("cpu-ref", WeightType::q8_0);
    Tensor ref = g.get("text.logits");
    ASSERT_EQ(r.logits.size(), size_t(ref.numel()));
    double err = rel_error(r.logits, ref.ptr<float>(), r.logits.size());
    RecordProperty("q8_0_text_logits_rel_error", std::to_string(err));
    EXPECT_LT(err, 8e-2) << "q8_0 text.logits rel error " << err;
    EXPECT_GT(err, 1e-5) << "the weights do not look quantized";
    double agree = top1_agreement(r.logits, ref.ptr<float>(), ref.dim(0), ref.dim(1));
    RecordProperty("q8_0_top1_agreement", std::to_string(agree));
    EXPECT_GE(agree, 0.95) << "top-1 agreement " << agree;
}

// Measured on cpu-ref: q4_0 keeps the reference's top-1 token on 30 of 40 positions (logits rel
// error 0.36 with the embedding / LM head in q8_0; 0.43 with it in q4_0, same 30 of 40, hence
// the q8_0 head). Random fixture weights have many near-ties, so the bound asks for most
// positions, not all.
TEST(TextQuant, Q4_0KeepsGreedyTop1OnMostPositions) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    TextRun r = run_text("cpu-ref", WeightType::q4_0);
    Tensor ref = g.get("text.logits");
    ASSERT_EQ(r.logits.size(), size_t(ref.numel()));
    double agree = top1_agreement(r.logits, ref.ptr<float>(), ref.dim(0), ref.dim(1));
    double err = rel_error(r.logits, ref.ptr<float>(), r.logits.size());
    RecordProperty("q4_0_top1_agreement", std::to_string(agree));
    EXPECT_GE(agree, 0.7) << "rel error " << err;
    EXPECT_LT(err, 0.5);
}

// The fast backend's int16-activation dots against cpu-ref's exact dequantization. Measured:
// 2.4e-4 (q8_0) and 1.3e-4 (q4_0): activations rounded to 2^-15 of their block maximum (~3e-5
// relative RMS), amplified ~13x by the random fixture as above; 200x below q8_0's own error.
TEST(TextQuant, FastMatchesReferenceOnQuantizedWeights) {
    for (WeightType wt : {WeightType::q8_0, WeightType::q4_0}) {
        TextRun ref = run_text("cpu-ref", wt), fast = run_text("cpu", wt);
        ASSERT_EQ(ref.logits.size(), fast.logits.size());
        ASSERT_FALSE(ref.logits.empty());
        double err = rel_error(fast.logits, ref.logits.data(), ref.logits.size());
        EXPECT_LT(err, 1e-3) << weight_type_name(wt) << " cpu vs cpu-ref rel error " << err;
    }
}

TEST(TextQuant, MatricesQuantizedNormsKept) {
    TextRun r = run_text("cpu-ref", WeightType::q4_0);
    ASSERT_NE(r.model, nullptr);
    const TextWeights & w = r.model->weights();
    EXPECT_EQ(w.embed.dtype, DType::q8_0);  // tied LM head: kept at 8 bits in q4_0 mode
    EXPECT_EQ(w.lm_head.data, w.embed.data);
    EXPECT_EQ(w.ple_model_proj.dtype, DType::q4_0);
    EXPECT_EQ(w.ple_embed.dtype, DType::bf16);  // [512, 48]: rows not a multiple of 32
    const LayerWeights & l0 = w.layers[0];
    for (const Tensor * t : {&l0.q_proj, &l0.k_proj, &l0.v_proj, &l0.o_proj, &l0.gate_proj,
                             &l0.up_proj, &l0.down_proj, &l0.ple_gate})
        EXPECT_EQ(t->dtype, DType::q4_0);
    EXPECT_EQ(l0.ple_proj.dtype, DType::bf16);  // [64, 8]
    EXPECT_EQ(l0.input_norm.dtype, DType::bf16);
    EXPECT_EQ(l0.layer_scalar.dtype, DType::bf16);
    TextRun stored = run_text("cpu-ref", WeightType::stored);
    ASSERT_NE(stored.model, nullptr);
    EXPECT_LT(text_weight_bytes(w), text_weight_bytes(stored.model->weights()) * 6 / 10);
}

TEST(TextQuant, SyntheticQuantizedWeights) {
    auto cfg = preset_config("tiny");
    ASSERT_TRUE(cfg.ok());
    auto ref = backend_create("cpu-ref");
    auto fast = backend_create("cpu");
    ASSERT_TRUE(ref.ok() && fast.ok());
    TextModelOptions mo{8, 1};
    mo.weights = WeightType::q8_0;
    auto a = make_synthetic_text_model(*cfg, **ref, 5, mo);
    auto b = make_synthetic_text_model(*cfg, **fast, 5, mo);
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ((*a)->weights().layers[1].gate_proj.dtype, DType::q8_0);
    std::vector<int32_t> ids = {2, 17, 400, 9, 33};
    auto ka = (*a)->make_kv_cache(16), kb = (*b)->make_kv_cache(16);
    ASSERT_TRUE(ka.ok() && kb.ok());
    auto la = (*a)->forward({ids, {}, false}, *ka), lb = (*b)->forward({ids, {}, false}, *kb);
    ASSERT_TRUE(la.ok() && lb.ok());
    std::vector<float> va = *read_f32(**ref, *la), vb = *read_f32(**fast, *lb);
    // Same seed: same quantized weights; int16 activations as above (measured 1.1e-4).
    EXPECT_LT(rel_error(vb, va.data(), va.size()), 1e-3);
}

TEST(TextQuant, WeightTypeNames) {
    EXPECT_EQ(*parse_weight_type("q4_0"), WeightType::q4_0);
    EXPECT_EQ(*parse_weight_type("q8_0"), WeightType::q8_0);
    EXPECT_EQ(*parse_weight_type("bf16"), WeightType::stored);
    auto bad = parse_weight_type("q5_k");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(bad.error().message.find("q5_k"), std::string::npos);
    EXPECT_NE(bad.error().message.find("q4_0"), std::string::npos);
}
