// The boundary between gemma_media and its codec modules, the only binaries that link OpenCV:
// libgemma_media_image.so (imgcodecs, ~140 libraries) and libgemma_media_video.so (videoio, ~245:
// ffmpeg, gstreamer). gemma_media dlopen()s each on its first decode, so a program pays for them
// only when it decodes an image or a video, and an image never pulls in the video stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/image.h"
#include "media/video.h"

namespace gemma::media {

// File names; found next to the program (core/dynlib.h: <bin>/../lib, <bin>, then the library
// search path).
inline constexpr const char * kImageModuleFile = "libgemma_media_image.so";
inline constexpr const char * kVideoModuleFile = "libgemma_media_video.so";

// C++ types cross the boundary by pointer, which is sound only between two builds of the same
// tree with the same compiler: the version and sizes must equal the program's (codec_abi_expected)
// or the loader refuses the module before calling anything. Bump the version when a signature
// below changes.
struct CodecAbi {
    int version;
    unsigned size_image, size_frames, size_options, size_error;
};

inline constexpr CodecAbi codec_abi_expected() {
    return {1, unsigned(sizeof(Image)), unsigned(sizeof(VideoFrames)),
            unsigned(sizeof(VideoOptions)), unsigned(sizeof(Error))};
}

// Entry points. None throws; each writes its result to *out, which the caller constructs.
struct ImageCodecApi {
    CodecAbi abi;  // first: the loader reads it before anything else
    // Decodes an image whose header image_decode has already checked (format `fmt`, within
    // kMaxImagePixels) to 8-bit RGB on white, as stored (EXIF orientation not applied).
    void (*decode)(const uint8_t * data, size_t size, const std::string * origin, const char * fmt,
                   Result<Image> * out);
};

// Picks the frames to decode from a clip (video_sample_indices, passed in so that the sampling
// rule has one definition, in the program).
using VideoSampler = std::vector<int64_t> (*)(int64_t total, double fps, const VideoOptions &);

struct VideoCodecApi {
    CodecAbi abi;  // first: the loader reads it before anything else
    // Opens the video file at *path (already known to exist, options already checked) and decodes
    // the frames `sample` picks, as video_load documents.
    void (*load)(const std::string * path, const VideoOptions * options, VideoSampler sample,
                 Result<VideoFrames> * out);
};

// Program side: the module's API, loaded on the first call (thread-safe, once; the module then
// stays loaded). Errors: unsupported, "image decoding needs libgemma_media_image.so next to the
// program: <why>" (or video), when the module is missing, cannot load a library it needs
// (OpenCV), or comes from another build. Later calls return the same error without retrying.
Result<const ImageCodecApi *> image_codec_api();
Result<const VideoCodecApi *> video_codec_api();

}  // namespace gemma::media

// Each module's one exported symbol, gemma_media_image_api or gemma_media_video_api
// (codecs/image_module.cpp, codecs/video_module.cpp), has this type: it returns the `abi` member
// of the module's ImageCodecApi or VideoCodecApi, from which the loader gets the whole table.
extern "C" {
using GemmaMediaCodecEntryFn = const gemma::media::CodecAbi * (*)();
}
