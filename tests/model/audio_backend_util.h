// Shared by the audio backend-path tests (CPU and GPU): the tiny fixture's golden features and
// soft tokens, and loading the backend encoder with the fixtures' attention mask.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "../common/golden.h"
#include "core/registry.h"
#include "model/gemma4/audio_backend.h"

namespace audio_backend_test {

using namespace gemma;
using namespace gemma::gemma4;

// The reference's own log-mel features (padded, with the mask), so a test isolates the tower.
inline media::AudioFeatures golden_features(const golden_test::Golden & g) {
    Tensor feats = g.get("audio.input_features"), mask = g.get("audio.input_features_mask");
    media::AudioFeatures f;
    f.n_frames = int(feats.dim(0));
    f.n_mel = int(feats.dim(1));
    f.values.assign(feats.ptr<float>(), feats.ptr<float>() + feats.numel());
    for (int64_t i = 0; i < mask.numel(); ++i)
        f.mask.push_back(uint8_t(mask.ptr<int32_t>()[i] != 0));
    return f;
}

inline double rel_error(const Tensor & out, const Tensor & ref) {
    return golden_test::rel_error(out.ptr<float>(), ref.ptr<float>(), size_t(ref.numel()));
}

// The encoder on `backend` with the fixtures' mask (hf_eager: see AudioMaskMode) or the trained
// sliding one.
inline Result<std::unique_ptr<AudioBackendEncoder>> load_encoder(
    Backend & backend, const io::TensorSource & weights,
    AudioMaskMode mask = AudioMaskMode::hf_eager) {
    auto cfg = load_config(golden_test::kTiny);
    if (!cfg) return cfg.error();
    AudioEncoderOptions o;
    o.mask_mode = mask;
    return AudioBackendEncoder::load(*cfg, weights, backend, o);
}

}  // namespace audio_backend_test
