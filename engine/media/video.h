// Video input for Gemma 4 (spec gemma4-multimodal §7): decode a clip with OpenCV's VideoCapture and
// sample at most 32 frames, at most 1 per second, uniformly over the clip, each with its
// timestamp. The frames then go through the image processor at the video budget (70 soft tokens)
// and the vision tower; there is no temporal modelling.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/image.h"

namespace gemma::media {

constexpr int kVideoMaxSoftTokens = 70;    // Gemma4VideoProcessor max_soft_tokens (per frame)
constexpr double kVideoDefaultFps = 24.0;  // HF's assumption when a container gives no rate

struct VideoOptions {
    int max_frames = 32;                        // Gemma4VideoProcessor num_frames
    double max_fps = 1.0;                       // sampled frames per second of video, at most
    int max_soft_tokens = kVideoMaxSoftTokens;  // image budget of each frame
};

struct VideoFrames {
    std::vector<Image> frames;     // RGB, in time order
    std::vector<double> seconds;   // timestamp of each frame: index / fps
    std::vector<int64_t> indices;  // source frame index of each frame
    double fps = 0.0;              // the container's rate (kVideoDefaultFps when unknown)
    int64_t total_frames = 0;
};

// Which frames to take from a clip of `total` frames at `fps`: n = min(max_frames, total,
// max(1, floor(total / fps · max_fps))) frames at floor(i · total / n), i = 0 .. n − 1 (HF's
// uniform sampling, thinned to max_fps for short clips). Empty when total <= 0.
std::vector<int64_t> video_sample_indices(int64_t total, double fps, const VideoOptions & options);

// Opens and samples a video file. Errors: not_found (no such file), corrupt_file (no backend can
// decode it, or it holds no frame), invalid_argument (bad options).
Result<VideoFrames> video_load(const std::string & path, const VideoOptions & options = {});
// Same from bytes in memory (written to a private temporary file: VideoCapture reads files).
Result<VideoFrames> video_decode(std::span<const uint8_t> bytes, const VideoOptions & options = {});

}  // namespace gemma::media
