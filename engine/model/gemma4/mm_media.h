// Media bytes -> the MediaEmbeds that build_mm_prompt takes: decode, preprocess, run the vision or
// audio tower, optionally through a media::MediaCache so identical bytes with identical settings
// are encoded once (spec gemma4-multimodal §2, §4, §7). Thread-safe when the encoders and cache
// are (both are, after load).
#pragma once

#include <span>
#include <string>

#include "media/image.h"
#include "media/media_cache.h"
#include "media/video.h"
#include "model/gemma4/audio.h"
#include "model/gemma4/audio_backend.h"
#include "model/gemma4/mm_prompt.h"
#include "model/gemma4/vision.h"
#include "model/gemma4/vision_backend.h"

namespace gemma::gemma4 {

struct MmEncoders {
    const VisionEncoder * vision = nullptr;  // needed for images and video (or vision_backend)
    const AudioEncoder * audio = nullptr;    // needed for audio (or audio_backend)
    media::MediaCache * cache = nullptr;     // optional; shared across requests
    std::string model_id;  // tells models sharing one cache apart (e.g. the model directory)
    // The audio tower on a backend (e.g. CUDA); used instead of `audio` when set.
    const AudioBackendEncoder * audio_backend = nullptr;
    // When set, images and video frames encode on this backend path instead of `vision`.
    const VisionBackendEncoder * vision_backend = nullptr;
};

// An encoded image (PNG/JPEG/WebP/BMP bytes) at `max_soft_tokens` (70/140/280/560/1120; the
// processor_config.json default or a request override). Errors: invalid_argument (no vision
// tower, bad budget), those of media::image_decode and VisionEncoder::encode (or
// VisionBackendEncoder::encode).
Result<MediaEmbeds> encode_image(const MmEncoders & enc, std::span<const uint8_t> bytes,
                                 int max_soft_tokens);

// A decoded image (8-bit RGB: camera frames, screen captures, pixels already in memory: no
// encode / decode round trip) at `max_soft_tokens`, as encode_image. Errors: invalid_argument (no
// vision tower, bad budget, empty or inconsistent pixels, more than media::kMaxImagePixels), those
// of the vision encoder.
Result<MediaEmbeds> encode_image_pixels(const MmEncoders & enc, const media::Image & image,
                                        int max_soft_tokens);
// The check encode_image_pixels makes of `image` (also for callers that validate up front).
Status check_image_pixels(const media::Image & image);

// An encoded audio file (anything libsndfile reads), resampled to 16 kHz, split into ≤ 30 s clips
// (one part each). Errors: invalid_argument (no audio tower), those of media::audio_decode_16k and
// AudioEncoder::encode.
Result<MediaEmbeds> encode_audio(const MmEncoders & enc, std::span<const uint8_t> bytes);

// An encoded video file: ≤ 32 frames at ≤ 1 fps, each at the video budget, one part per frame
// with its timestamp. Errors: invalid_argument (no vision tower), those of media::video_decode.
Result<MediaEmbeds> encode_video(const MmEncoders & enc, std::span<const uint8_t> bytes,
                                 const media::VideoOptions & options = {});
// The same from frames already decoded (no cache).
Result<MediaEmbeds> encode_video_frames(const MmEncoders & enc, const media::VideoFrames & frames,
                                        int max_soft_tokens);

}  // namespace gemma::gemma4
