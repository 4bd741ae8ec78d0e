// Video frame sampling and input checks; the decoding itself (OpenCV's VideoCapture) lives in the
// video codec module (codecs.h), loaded on the first video.
#include "media/video.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "media/codecs.h"

namespace gemma::media {

std::vector<int64_t> video_sample_indices(int64_t total, double fps, const VideoOptions & o) {
    if (total <= 0 || o.max_frames <= 0) return {};
    const double rate = fps > 0.0 && std::isfinite(fps) ? fps : kVideoDefaultFps;
    const double seconds = double(total) / rate;
    int64_t n = std::max<int64_t>(1, int64_t(std::floor(seconds * o.max_fps)));
    n = std::min<int64_t>({n, int64_t(o.max_frames), total});
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = (i * total) / n;  // floor(i · total / n)
    return idx;
}

Result<VideoFrames> video_load(const std::string & path, const VideoOptions & o) {
    if (o.max_frames <= 0 || !(o.max_fps > 0.0))
        return make_error(ErrorCode::invalid_argument,
                          format("video options: max_frames %d and max_fps %g must be positive",
                                 o.max_frames, o.max_fps));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return make_error(ErrorCode::not_found, format("video file '%s' not found", path.c_str()));
    auto codec = video_codec_api();
    if (!codec) return make_error(codec.error().code, path + ": " + codec.error().message);
    Result<VideoFrames> out =
        make_error(ErrorCode::internal, path + ": the video module gave no result");
    (*codec)->load(&path, &o, video_sample_indices, &out);
    return out;
}

Result<VideoFrames> video_decode(std::span<const uint8_t> bytes, const VideoOptions & o) {
    if (bytes.empty()) return make_error(ErrorCode::invalid_argument, "video: no bytes given");
    std::string tmpl = (std::filesystem::temp_directory_path() / "gemdesk-video-XXXXXX").string();
    const int fd = mkstemp(tmpl.data());
    if (fd < 0)
        return make_error(ErrorCode::internal,
                          format("video: cannot create a temporary file in %s",
                                 std::filesystem::temp_directory_path().c_str()));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w <= 0) break;
        done += size_t(w);
    }
    ::close(fd);
    Result<VideoFrames> r =
        done == bytes.size()
            ? video_load(tmpl, o)
            : Result<VideoFrames>(make_error(ErrorCode::internal,
                                             "video: cannot write the temporary file " + tmpl));
    std::remove(tmpl.c_str());
    // Errors from video_load start with the path: name the input "video", not the temporary file.
    if (!r.ok() && r.error().message.rfind(tmpl, 0) == 0) {
        std::string msg = r.error().message;
        msg.replace(0, tmpl.size(), "video");
        return make_error(r.error().code, msg);
    }
    return r;
}

}  // namespace gemma::media
