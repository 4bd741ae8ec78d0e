// Multimodal end to end against the tiny-gemma4 goldens: the encoders' soft tokens on image.png
// and audio.wav, scattered onto mm.input_ids / mm_image.input_ids by attach_mm_embeds with the
// bidirectional vision blocks, one forward on the CPU reference backend -> mm.logits and
// mm_image.logits; and the same prompt prefilled in chunks.
#include <gtest/gtest.h>

#include "model/gemma4/embedder_cases.h"
#include "model/gemma4/mm_prompt.h"
#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace text_test;

namespace {

struct MmFixture {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<TextModel> model;
    Golden golden;
    Tensor image, audio;  // soft tokens
};

MmFixture load() {
    MmFixture f;
    f.golden = open_golden(kTiny);
    auto b = backend_create("cpu-ref");
    EXPECT_TRUE(b.ok());
    f.backend = std::move(*b);
    auto m = load_text_model(kTiny, *f.backend, {160, 160});
    EXPECT_TRUE(m.ok()) << m.error().message;
    if (m.ok()) f.model = std::move(*m);
    // The fixture's audio soft tokens were made by transformers' eager attention, whose audio mask
    // is inverted: reproduce it with AudioMaskMode::hf_eager here only (MediaCaseOptions default).
    auto cases = MediaCases::open(kTiny);
    EXPECT_TRUE(cases.ok());
    auto img = (*cases)->run("image.soft_tokens");
    auto aud = (*cases)->run("audio.soft_tokens");
    EXPECT_TRUE(img.ok() && aud.ok());
    if (img.ok()) f.image = *img;
    if (aud.ok()) f.audio = *aud;
    return f;
}

// Prefills `p` in chunks ending at `ends`, returning the logits of every position.
std::vector<float> prefill(MmFixture & f, const MultimodalPrompt & p,
                           const std::vector<int> & ends) {
    const int n = int(p.ids.size());
    auto kv = f.model->make_kv_cache(n);
    EXPECT_TRUE(kv.ok());
    std::vector<float> all;
    int begin = 0;
    for (int end : ends) {
        auto c = mm_prompt_chunk(p, begin, end, f.backend.get());
        EXPECT_TRUE(c.ok());
        auto logits = f.model->forward(c->input(true), *kv);
        EXPECT_TRUE(logits.ok()) << logits.error().message;
        if (!logits.ok()) return {};
        auto v = read_f32(*f.backend, *logits);
        all.insert(all.end(), v->begin(), v->end());
        begin = end;
    }
    return all;
}

double err_vs(const MmFixture & f, const std::vector<float> & out, const std::string & name) {
    Tensor ref = f.golden.get(name);
    EXPECT_EQ(size_t(ref.numel()), out.size()) << name;
    if (size_t(ref.numel()) != out.size()) return 1.0;
    return rel_error(out, ref.ptr<float>(), out.size());
}

}  // namespace

TEST(MmGolden, MixedImageAudioPromptLogits) {
    MmFixture f = load();
    ASSERT_NE(f.model, nullptr);
    ASSERT_FALSE(f.image.empty() || f.audio.empty());
    std::vector<int32_t> ids = f.golden.ids("mm.input_ids");
    ASSERT_EQ(ids.size(), 138u);
    std::vector<MediaEmbeds> media = {{MediaKind::image, {f.image}, {}},
                                      {MediaKind::audio, {f.audio}, {}}};
    auto p = attach_mm_embeds(ids, media, f.model->config());
    ASSERT_TRUE(p.ok()) << p.error().message;
    // golden.json layout: bos, 5 text, boi, 60 × image, eoi, 4 text, boa, 58 × audio, eoa, 6 text.
    ASSERT_EQ(p->overrides.size(), 2u);
    EXPECT_EQ(p->overrides[0].row, 7);
    EXPECT_EQ(p->overrides[0].embeds.dim(0), 60);
    EXPECT_EQ(p->overrides[1].row, 7 + 60 + 1 + 4 + 1);  // image, eoi, 4 text, boa
    EXPECT_EQ(p->overrides[1].embeds.dim(0), 58);
    ASSERT_EQ(p->block_ids.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(p->block_ids[i], (i >= 7 && i < 67) ? 0 : -1) << i;
    const double e = err_vs(f, prefill(f, *p, {int(ids.size())}), "mm.logits");
    std::printf("mm.logits rel err %.3g\n", e);
    EXPECT_LT(e, kTol);
}

TEST(MmGolden, ImageOnlyPromptLogits) {
    MmFixture f = load();
    ASSERT_NE(f.model, nullptr);
    std::vector<int32_t> ids = f.golden.ids("mm_image.input_ids");
    MediaEmbeds img{MediaKind::image, {f.image}, {}};
    auto p = attach_mm_embeds(ids, std::span(&img, 1), f.model->config());
    ASSERT_TRUE(p.ok()) << p.error().message;
    const double e = err_vs(f, prefill(f, *p, {int(ids.size())}), "mm_image.logits");
    std::printf("mm_image.logits rel err %.3g\n", e);
    EXPECT_LT(e, kTol);
}

TEST(MmGolden, WithoutBlocksTheImagePromptDiffers) {
    // The fixture's logits depend on the bidirectional overlay: dropping the block ids must move
    // them well past the tolerance (guards against a silently ignored overlay).
    MmFixture f = load();
    ASSERT_NE(f.model, nullptr);
    std::vector<int32_t> ids = f.golden.ids("mm_image.input_ids");
    MediaEmbeds img{MediaKind::image, {f.image}, {}};
    auto p = attach_mm_embeds(ids, std::span(&img, 1), f.model->config());
    ASSERT_TRUE(p.ok());
    p->block_ids.clear();
    EXPECT_GT(err_vs(f, prefill(f, *p, {int(ids.size())}), "mm_image.logits"), 100 * kTol);
}

TEST(MmGolden, ChunkedPrefillMatches) {
    MmFixture f = load();
    ASSERT_NE(f.model, nullptr);
    std::vector<int32_t> ids = f.golden.ids("mm.input_ids");
    std::vector<MediaEmbeds> media = {{MediaKind::image, {f.image}, {}},
                                      {MediaKind::audio, {f.audio}, {}}};
    auto p = attach_mm_embeds(ids, media, f.model->config());
    ASSERT_TRUE(p.ok());
    auto ends = mm_prompt_chunk_ends(*p, 64);
    ASSERT_TRUE(ends.ok());
    EXPECT_EQ(*ends, (std::vector<int>{7, 71, 135, 138}));  // the image block stays whole
    EXPECT_LT(err_vs(f, prefill(f, *p, *ends), "mm.logits"), kTol);
    // A cut through the audio run (causal tokens) splits its soft tokens between two calls.
    EXPECT_LT(err_vs(f, prefill(f, *p, {7, 71, 100, 138}), "mm.logits"), kTol);
    EXPECT_FALSE(mm_prompt_chunk_ends(*p, 40).ok());  // the 60-token image block cannot fit
}
