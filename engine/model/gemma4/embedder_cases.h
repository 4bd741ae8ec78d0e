// Verify hooks for the multimodal front ends: produce the golden tensors image.* and audio.* of
// the fixtures README from a checkpoint directory that also holds the inputs (image.png,
// audio.wav, processor_config.json). Meant for `gemdesk-cli verify` and tests.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"
#include "io/tensor_source.h"
#include "model/gemma4/audio.h"
#include "model/gemma4/vision.h"

namespace gemma::gemma4 {

struct MediaCaseOptions {
    // The fixtures were made with transformers' eager attention (see AudioMaskMode::hf_eager).
    AudioMaskMode audio_mask = AudioMaskMode::hf_eager;
};

// Thread-compatible. Encoders are loaded on first use.
class MediaCases {
public:
    // Errors: those of load_config / open_safetensors for model_dir.
    static Result<std::unique_ptr<MediaCases>> open(const std::string & model_dir,
                                                    const MediaCaseOptions & options = {});

    // image.pixel_values, image.vision_last_hidden, image.soft_tokens, audio.input_features,
    // audio.soft_tokens (f32), image.position_ids and audio.input_features_mask (i32).
    static bool handles(const std::string & name);
    // The tensor named like the golden one, shaped like it (padded processor outputs included).
    // Errors: not_found for other names or missing inputs, else those of the pipeline stages.
    Result<Tensor> run(const std::string & name);

private:
    std::string dir_;
    MediaCaseOptions opt_;
    Config config_;
    std::unique_ptr<io::TensorSource> weights_;
    std::unique_ptr<VisionEncoder> vision_;
    std::unique_ptr<AudioEncoder> audio_;

    Result<media::ImagePatches> image_patches(bool padded) const;
    Result<media::AudioFeatures> audio_features(bool padded) const;
};

}  // namespace gemma::gemma4
