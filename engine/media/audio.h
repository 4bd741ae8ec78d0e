// Audio decoding for the multimodal processors: encoded files (WAV, FLAC, Ogg/Vorbis, MP3, ...
// whatever libsndfile reads) become mono float samples in [−1, 1], resampled to the rate the
// Gemma 4 feature extractor expects (16 kHz) with libsoxr.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace gemma::media {

constexpr int kAudioSampleRate = 16000;  // Gemma 4 feature extractor input rate
// Longest input accepted: one hour. Longer clips are refused before their samples are read
// (an hour is 90,000 audio soft tokens, already far past any context window).
constexpr double kMaxAudioSeconds = 3600.0;

// Mono samples in [−1, 1] (16-bit PCM is divided by 32768, libsndfile's float normalisation).
struct Audio {
    int sample_rate = 0;
    std::vector<float> samples;
    double seconds() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

// Decodes any libsndfile-readable container; channels are averaged to mono (as librosa's
// to_mono). `origin` names the input in errors. Errors: invalid_argument (empty input, no
// samples, longer than kMaxAudioSeconds), unsupported / corrupt_file (libsndfile's reason).
Result<Audio> audio_decode(std::span<const uint8_t> bytes, const std::string & origin = "audio");
Result<Audio> audio_load(const std::string & path);  // not_found when unreadable

// Resamples with libsoxr at "high quality" (librosa's default res_type soxr_hq); the output
// has ceil(n · to / from) samples. Same rate = copy. Errors: invalid_argument (rates <= 0),
// internal (libsoxr failure, message included).
Result<std::vector<float>> audio_resample(std::span<const float> samples, int from_rate,
                                          int to_rate);

// Decode + mono + resample to 16 kHz: what the feature extractor consumes.
Result<Audio> audio_load_16k(const std::string & path);
Result<Audio> audio_decode_16k(std::span<const uint8_t> bytes,
                               const std::string & origin = "audio");

// libsndfile's version string and whether it can decode MP3 (Debian 12 builds it with mpg123).
std::string audio_backend_version();
bool audio_can_decode_mp3();

}  // namespace gemma::media
