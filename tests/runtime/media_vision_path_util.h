// Shared by the engine's vision-path tests (media_vision_path_test.cpp and its _gpu twin): the
// fixture's image + audio prompt through an Engine whose media worker encodes images on the
// chosen path; the soft tokens and the first token's logits against the reference goldens.
#pragma once

#include <string>

#include "media_test_util.h"
#include "../common/ppm.h"

namespace rt_test {

struct VisionPathResult {
    std::string path;             // MediaWorker::vision_path()
    double soft = 1, logits = 1;  // rel errors vs image.soft_tokens and mm.logits' last row
};

// The fixture image as decoded pixels (image.ppm: no image codec module needed).
inline gemma::runtime::MediaInput fixture_pixels() {
    gemma::media::Image img = golden_test::read_ppm(kTiny + "/image.ppm");
    EXPECT_GT(img.width, 0) << "tests/data/tiny-gemma4/image.ppm missing or not a P6 PPM";
    return gemma::runtime::media_input_pixels(std::move(img), "image.ppm");
}

// Engine on `backend` with EngineOptions::vision_backend = `vision`; the image as image.png's
// bytes, or with `pixels` as its decoded pixels.
inline VisionPathResult run_vision_path(const std::string & backend, const std::string & vision,
                                        bool pixels = false) {
    VisionPathResult out;
    Golden g = open_golden(kTiny);
    gemma::runtime::EngineOptions o = media_engine_options();
    o.backend = backend;
    o.vision_backend = vision;
    o.audio_mask = gemma::gemma4::AudioMaskMode::hf_eager;  // the fixture's reference mask
    o.max_step_tokens = 64;
    o.prefill_chunk = 64;
    auto e = load_engine(kTiny, o);
    if (!e || !e->media()) return out;
    out.path = e->media()->vision_path();
    auto request = [&] {
        gemma::runtime::MediaRequest r;
        r.tokens = greedy_request(fold_markers(g.ids("mm.input_ids"), e->text_model().config()), 1);
        r.media = {pixels ? fixture_pixels()
                          : fixture_media(gemma::gemma4::MediaKind::image, "image.png"),
                   fixture_media(gemma::gemma4::MediaKind::audio, "audio.wav")};
        return r;
    };
    auto t = e->media()->prepare(request());
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    if (!t.ok() || t->media.empty()) return out;
    const gemma::Tensor soft = g.get("image.soft_tokens");
    const gemma::Tensor & got = t->media[0].embeds;
    if (got.shape == soft.shape && got.where == gemma::Where::host)
        out.soft = rel_error(got.ptr<float>(), soft.ptr<float>(), size_t(soft.numel()));
    auto sink = run_media(*e, request());  // through the worker thread and the scheduler
    if (sink->logits.size() != 1) return out;
    const gemma::Tensor ref = g.get("mm.logits");
    const int64_t V = ref.dim(1);
    if (int64_t(sink->logits[0].size()) == V)
        out.logits =
            rel_error(sink->logits[0].data(), ref.ptr<float>() + (ref.dim(0) - 1) * V, size_t(V));
    return out;
}

}  // namespace rt_test
