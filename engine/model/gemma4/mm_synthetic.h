// Random-weight vision and audio towers of any geometry, served as an in-memory TensorSource with
// the real checkpoint tensor names (spec gemma4-multimodal §3.9, §5.7): for encoder benchmarks at
// E4B shapes and fast-vs-reference tests, where no real checkpoint can be downloaded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/tensor_source.h"
#include "model/gemma4/config.h"

namespace gemma::gemma4 {

// A Config with vision_config and audio_config: "e4b" (spec §8: vision 768 × 16 layers, audio
// 1024 × 12 layers, text hidden 2560) or "small" (narrow towers for tests: vision 128 × 2, audio
// 64 × 2, text hidden 96). not_found for other names.
Result<Config> mm_synthetic_config(const std::string & name);

// `text` (e.g. preset_config("e4b")) with the vision_config of the tower preset `towers` ("e4b",
// "small") added, so the tower's embed_vision projects to that text model's hidden size: an
// image turn on synthetic weights (gemdesk-cli bench --image). Errors: not_found for an unknown
// tower preset, those of parse_config.
Result<Config> mm_synthetic_with_vision(const Config & text, const std::string & towers);

// Every model.vision_tower.*, model.audio_tower.*, model.embed_vision.* and model.embed_audio.*
// tensor the config implies, bf16, from `seed`: matrices uniform with std 1/√fan_in, norm weights
// 1 ± 0.2, clip bounds ±(4 … 8) in / ±(8 … 16) out (so some clipping happens). Errors: those of
// parse_vision_config / parse_audio_config.
Result<std::unique_ptr<io::TensorSource>> make_synthetic_mm_weights(const Config & config,
                                                                    uint64_t seed);

}  // namespace gemma::gemma4
