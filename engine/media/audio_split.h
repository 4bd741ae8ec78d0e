// Splitting long audio for the Gemma 4 encoder, which sees at most 30 s (750 soft tokens) per
// clip: cut near each 30 s boundary at the quietest moment, so words are rarely cut in half.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gemma::media {

struct AudioChunk {
    int64_t begin = 0;  // first sample
    int64_t end = 0;    // one past the last sample
};

struct AudioSplitOptions {
    int64_t max_samples = 480000;    // 30 s at 16 kHz: the feature extractor's truncation length
    int64_t search_samples = 80000;  // look for the cut in the last 5 s before each limit
    int64_t window_samples = 320;    // loudness measured over 20 ms windows ...
    int64_t hop_samples = 160;       // ... every 10 ms
};

// Contiguous chunks covering [0, n) in order, each at most max_samples long. A clip no longer
// than max_samples is one chunk. Each cut is the centre of the lowest-energy window inside the
// search range ending at the limit (the earliest one on ties).
std::vector<AudioChunk> audio_split(std::span<const float> samples,
                                    const AudioSplitOptions & options = {});

}  // namespace gemma::media
