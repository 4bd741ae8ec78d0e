// The video codec module (libgemma_media_video.so): OpenCV's VideoCapture (FFmpeg/GStreamer/
// built-in MJPEG backends, whatever this OpenCV build has). video_load (video.cpp) checks the
// options and the file first and owns the sampling rule. Exports gemma_media_video_api only.
#include <cmath>
#include <exception>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "media/codecs.h"

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

Result<VideoFrames> capture_frames(const std::string & path, const VideoOptions & o,
                                   VideoSampler sample) {
    cv::VideoCapture cap(path);
    if (!cap.isOpened()) return cannot_decode(path, "no backend opened it");
    VideoFrames v;
    v.fps = cap.get(cv::CAP_PROP_FPS);
    if (!(v.fps > 0.0) || !std::isfinite(v.fps)) v.fps = kVideoDefaultFps;
    v.total_frames = int64_t(cap.get(cv::CAP_PROP_FRAME_COUNT));
    if (v.total_frames <= 0) v.total_frames = count_frames(path);
    if (v.total_frames <= 0) return cannot_decode(path, "it holds no frame");
    v.indices = sample(v.total_frames, v.fps, o);
    auto mats = read_frames(cap, v.indices, path);
    if (!mats) return mats.error();
    v.indices.resize(mats->size());
    for (size_t i = 0; i < mats->size(); ++i) {
        v.frames.push_back(bgr_to_image((*mats)[i]));
        v.seconds.push_back(double(v.indices[i]) / v.fps);
    }
    return v;
}

// OpenCV exceptions and allocation failures become errors; nothing unwinds into the program.
Result<VideoFrames> load(const std::string & path, const VideoOptions & o, VideoSampler sample) {
    try {
        return capture_frames(path, o, sample);
    } catch (const cv::Exception & e) {
        return cannot_decode(path, e.what());
    } catch (const std::bad_alloc &) {
        return make_error(ErrorCode::out_of_memory,
                          format("%s: out of memory while decoding the video", path.c_str()));
    } catch (const std::exception & e) {
        return make_error(ErrorCode::internal,
                          format("%s: the video codec module failed (%s)", path.c_str(), e.what()));
    }
}

void entry_load(const std::string * path, const VideoOptions * options, VideoSampler sample,
                Result<VideoFrames> * out) {
    *out = load(*path, *options, sample);
}

constexpr VideoCodecApi kApi = {codec_abi_expected(), entry_load};

}  // namespace
}  // namespace gemma::media

extern "C" __attribute__((visibility("default"))) const gemma::media::CodecAbi *
gemma_media_video_api() {
    return &gemma::media::kApi.abi;
}
