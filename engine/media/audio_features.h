// The Gemma 4 audio feature extractor (transformers Gemma4AudioFeatureExtractor): 16 kHz mono
// samples -> log-magnitude mel frames [F, 128] plus a validity mask. See spec gemma4-multimodal §4.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace gemma::media {

// The extractor's settings (processor_config.json "feature_extractor"); defaults are Gemma 4's.
struct AudioFeatureOptions {
    int sampling_rate = 16000;
    int n_mel = 128;         // feature_size
    int frame_length = 320;  // 20 ms
    int hop_length = 160;    // 10 ms
    int fft_length = 512;
    double min_frequency = 0.0;
    double max_frequency = 8000.0;
    double mel_floor = 1e-3;   // additive: ln(mel + floor)
    int max_samples = 480000;  // 30 s; longer input is truncated (split it first, see audio_split)
    // HF pads a batch to a multiple of 128 samples, which adds trailing invalid (zero) frames.
    // Off: only the valid frames are produced; the encoder output is identical (spec §4.1).
    bool pad_like_reference = false;
    int pad_to_multiple_of = 128;
};

// Features of one clip. Rows of invalid frames are 0.0 (not ln(floor)).
struct AudioFeatures {
    int n_frames = 0;  // F rows
    int n_mel = 0;
    std::vector<float> values;  // [F, n_mel], time-major
    std::vector<uint8_t> mask;  // [F]; 1 = valid frame
    int n_valid() const;
};

// Log-mel of `samples` (already at options.sampling_rate, mono, in [−1, 1]). Clips of 160
// samples or fewer have no valid frame (0 rows when unpadded). Errors: unsupported for
// settings this implementation does not reproduce (e.g. fft_length < frame_length).
Result<AudioFeatures> audio_log_mel(std::span<const float> samples,
                                    const AudioFeatureOptions & options = {});

// Valid frames T for n samples: floor((n − 1) / hop) once n > hop, else 0 (spec §4.1 step 9).
int audio_num_valid_frames(int64_t n_samples, const AudioFeatureOptions & options = {});
// Audio soft tokens: ceil(ceil(T / 2) / 2), capped at 750 (spec §4.3).
int audio_num_soft_tokens(int64_t n_samples, const AudioFeatureOptions & options = {});

// The HTK mel filterbank [fft_length/2 + 1, n_mel] in float64, without area normalisation
// (spec §4.2). Exposed for tests.
std::vector<double> audio_mel_filterbank(const AudioFeatureOptions & options = {});

}  // namespace gemma::media
