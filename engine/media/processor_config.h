// processor_config.json of a Gemma 4 checkpoint: the image budget and the audio feature
// extractor settings (spec gemma4-multimodal §2, §4). The engine must not hard-code 280.
#pragma once

#include <string>

#include "core/status.h"
#include "media/audio_features.h"

namespace gemma::media {

struct ProcessorConfig {
    int image_max_soft_tokens = 280;  // image_processor.max_soft_tokens (default image budget)
    float image_rescale_factor = 1.0f / 255.0f;
    AudioFeatureOptions audio;  // feature_extractor.*
};

// Reads DIR/processor_config.json (or a file path). Keys may sit under "image_processor" /
// "feature_extractor" or at the top level; absent keys keep Gemma 4 defaults. Errors: not_found
// (no file: callers may fall back to ProcessorConfig{} and say so), corrupt_file (bad JSON, wrong
// types), unsupported (settings this engine does not reproduce: preemphasis, dither,
// fft_overdrive, per-bin normalisation, input_scale_factor != 1, a non-listed image budget).
Result<ProcessorConfig> load_processor_config(const std::string & path);
Result<ProcessorConfig> parse_processor_config(const std::string & json_text,
                                               const std::string & origin);

}  // namespace gemma::media
