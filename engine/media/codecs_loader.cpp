// Program side of the codec modules (codecs.h): opens each module once, on its first decode,
// checks that it comes from this build, and hands out its entry points.
#include <mutex>

#include "core/dynlib.h"
#include "media/codecs.h"

namespace gemma::media {
namespace {

struct Loaded {
    const void * api = nullptr;  // the `abi` member, first in its ImageCodecApi or VideoCodecApi
    std::string error;           // why the module is unusable (empty when api is set)
};

bool abi_matches(const CodecAbi & got, std::string & why) {
    const CodecAbi want = codec_abi_expected();
    if (got.version == want.version && got.size_image == want.size_image &&
        got.size_frames == want.size_frames && got.size_options == want.size_options &&
        got.size_error == want.size_error)
        return true;
    why = format(
        "it was built from another version of GemDesk (module ABI %d, program ABI %d); "
        "rebuild or reinstall both together",
        got.version, want.version);
    return false;
}

// Opens `file` and calls its `symbol` (a function returning its API table).
Loaded load(const char * file, const char * symbol) {
    Loaded out;
    auto lib = dynlib_open(file);
    if (!lib.ok()) {
        out.error = lib.error().message +
                    "\n(it is built with the program, into <build>/lib, and "
                    "needs OpenCV's libraries)";
        return out;
    }
    auto entry = reinterpret_cast<GemmaMediaCodecEntryFn>(dynlib_symbol_or_null(*lib, symbol));
    if (entry == nullptr) {
        out.error = format("%s has no %s entry point; it is not a GemDesk codec module",
                           lib->path.c_str(), symbol);
        return out;
    }
    const CodecAbi * abi = entry();
    std::string why = abi == nullptr ? "it returned no API" : "";
    if (abi == nullptr || !abi_matches(*abi, why)) {
        out.error = lib->path + ": " + why;
        return out;
    }
    out.api = abi;
    return out;
}

template <class Api>
Result<const Api *> api_or_error(const Loaded & m, const char * feature, const char * file) {
    if (m.api != nullptr) return static_cast<const Api *>(m.api);
    return make_error(ErrorCode::unsupported, format("%s needs %s next to the program: %s", feature,
                                                     file, m.error.c_str()));
}

}  // namespace

Result<const ImageCodecApi *> image_codec_api() {
    static std::once_flag once;
    static Loaded m;
    std::call_once(once, [] { m = load(kImageModuleFile, "gemma_media_image_api"); });
    return api_or_error<ImageCodecApi>(m, "image decoding", kImageModuleFile);
}

Result<const VideoCodecApi *> video_codec_api() {
    static std::once_flag once;
    static Loaded m;
    std::call_once(once, [] { m = load(kVideoModuleFile, "gemma_media_video_api"); });
    return api_or_error<VideoCodecApi>(m, "video decoding", kVideoModuleFile);
}

}  // namespace gemma::media
