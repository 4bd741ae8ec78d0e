// Video decoding and frame sampling through OpenCV's VideoCapture (FFmpeg/GStreamer/built-in
// MJPEG backends, whatever this OpenCV build has). OpenCV exceptions are caught here.
#include "media/video.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

namespace gemma::media {
namespace {

// Sampled frames farther apart than this are reached by seeking instead of decoding through.
constexpr int64_t kSeekGap = 64;

Image bgr_to_image(const cv::Mat & m) {
    Image img;
    img.width = m.cols;
    img.height = m.rows;
    img.rgb.resize(size_t(m.cols) * size_t(m.rows) * 3);
    const int cn = m.channels();
    for (int y = 0; y < m.rows; ++y) {
        const uint8_t * row = m.ptr<uint8_t>(y);
        uint8_t * dst = &img.rgb[size_t(y) * size_t(m.cols) * 3];
        for (int x = 0; x < m.cols; ++x) {
            for (int c = 0; c < 3; ++c) dst[x * 3 + c] = row[x * cn + (cn >= 3 ? 2 - c : 0)];
        }
    }
    return img;
}

Error cannot_decode(const std::string & origin, const std::string & why) {
    return make_error(ErrorCode::corrupt_file,
                      format("%s: cannot decode the video (%s); it is damaged, not a video, or "
                             "this OpenCV build (%s) lacks its codec",
                             origin.c_str(), why.c_str(), CV_VERSION));
}

// Counts frames by decoding through the clip (for containers that do not say).
int64_t count_frames(const std::string & path) {
    cv::VideoCapture cap(path);
    int64_t n = 0;
    while (cap.isOpened() && cap.grab()) ++n;
    return n;
}

// Reads the frames at `indices` (increasing) from an opened capture.
Result<std::vector<cv::Mat>> read_frames(cv::VideoCapture & cap,
                                         const std::vector<int64_t> & indices,
                                         const std::string & origin) {
    std::vector<cv::Mat> out;
    int64_t next = 0;  // index of the frame the next grab() returns
    for (int64_t idx : indices) {
        if (idx - next > kSeekGap && cap.set(cv::CAP_PROP_POS_FRAMES, double(idx))) next = idx;
        bool ok = true;
        while (ok && next <= idx) {
            ok = cap.grab();
            ++next;
        }
        cv::Mat frame;
        if (!ok || !cap.retrieve(frame) || frame.empty()) {
            // Some containers overstate their frame count: keep what was read, if anything.
            if (!out.empty()) break;
            return cannot_decode(origin, format("frame %lld could not be read", (long long)idx));
        }
        if (frame.depth() != CV_8U) frame.convertTo(frame, CV_8U);
        out.push_back(frame.clone());
    }
    return out;
}

}  // namespace

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
    try {
        cv::VideoCapture cap(path);
        if (!cap.isOpened()) return cannot_decode(path, "no backend opened it");
        VideoFrames v;
        v.fps = cap.get(cv::CAP_PROP_FPS);
        if (!(v.fps > 0.0) || !std::isfinite(v.fps)) v.fps = kVideoDefaultFps;
        v.total_frames = int64_t(cap.get(cv::CAP_PROP_FRAME_COUNT));
        if (v.total_frames <= 0) v.total_frames = count_frames(path);
        if (v.total_frames <= 0) return cannot_decode(path, "it holds no frame");
        v.indices = video_sample_indices(v.total_frames, v.fps, o);
        auto mats = read_frames(cap, v.indices, path);
        if (!mats) return mats.error();
        v.indices.resize(mats->size());
        for (size_t i = 0; i < mats->size(); ++i) {
            v.frames.push_back(bgr_to_image((*mats)[i]));
            v.seconds.push_back(double(v.indices[i]) / v.fps);
        }
        return v;
    } catch (const cv::Exception & e) {
        return cannot_decode(path, e.what());
    }
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
    if (!r.ok() && r.error().code == ErrorCode::corrupt_file) {
        std::string msg = r.error().message;
        const size_t at = msg.find(tmpl);
        if (at != std::string::npos) msg.replace(at, tmpl.size(), "video");
        return make_error(ErrorCode::corrupt_file, msg);
    }
    return r;
}

}  // namespace gemma::media
