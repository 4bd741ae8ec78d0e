// Video frame sampling (spec gemma4-multimodal §7, at most 1 fps and 32 frames) on small clips the
// test writes itself with OpenCV's VideoWriter (Motion-JPEG in AVI, which Debian's OpenCV 4.6 can
// always write: its built-in MJPEG encoder needs no FFmpeg); corrupt and missing files.
#include "media/video.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "media/image_processor.h"

using namespace gemma;
using namespace gemma::media;
namespace fs = std::filesystem;

namespace {

// A unique path (ctest runs tests in parallel processes).
std::string temp_path(const std::string & name) {
    return (fs::temp_directory_path() /
            ("gemdesk-video-test-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

// Writes `n` solid frames of w × h at `fps`; frame i has red = 3·i, green 100, blue 50, so a
// sampled frame tells which source frame it was.
bool write_clip(const std::string & path, int n, double fps, int w = 320, int h = 180) {
    cv::VideoWriter out(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, cv::Size(w, h));
    if (!out.isOpened()) return false;
    for (int i = 0; i < n; ++i) out.write(cv::Mat(h, w, CV_8UC3, cv::Scalar(50, 100, 3 * i)));
    return true;
}

int red_at_centre(const Image & img) { return img.at(img.height / 2, img.width / 2, 0); }

std::vector<uint8_t> read_bytes(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

}  // namespace

TEST(VideoSampling, IndicesFollowTheSpec) {
    VideoOptions o;  // 32 frames, 1 fps
    // 10 s at 30 fps: one frame per second.
    EXPECT_EQ(video_sample_indices(300, 30.0, o),
              (std::vector<int64_t>{0, 30, 60, 90, 120, 150, 180, 210, 240, 270}));
    // 5 minutes at 24 fps: HF's 32 uniform frames, floor(i · 7200 / 32) = 225 · i.
    auto idx = video_sample_indices(7200, 24.0, o);
    ASSERT_EQ(idx.size(), 32u);
    EXPECT_EQ(idx[1], 225);
    EXPECT_EQ(idx[31], 6975);
    EXPECT_EQ(video_sample_indices(5, 30.0, o), (std::vector<int64_t>{0}));      // under a second
    EXPECT_EQ(video_sample_indices(48, 0.0, o), (std::vector<int64_t>{0, 24}));  // unknown: 24 fps
    EXPECT_TRUE(video_sample_indices(0, 30.0, o).empty());
}

TEST(VideoLoad, ShortClipOneFramePerSecond) {
    const std::string path = temp_path("short.avi");
    ASSERT_TRUE(write_clip(path, 35, 10.0)) << "OpenCV cannot write MJPG/AVI here";
    auto v = video_load(path);
    fs::remove(path);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->total_frames, 35);
    EXPECT_DOUBLE_EQ(v->fps, 10.0);
    // 3.5 s -> 3 frames at floor(i · 35 / 3) = 0, 11, 23, i.e. 0.0 s, 1.1 s, 2.3 s.
    ASSERT_EQ(v->frames.size(), 3u);
    EXPECT_EQ(v->indices, (std::vector<int64_t>{0, 11, 23}));
    EXPECT_NEAR(v->seconds[1], 1.1, 1e-9);
    EXPECT_NEAR(v->seconds[2], 2.3, 1e-9);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(v->frames[i].width, 320);
        EXPECT_EQ(v->frames[i].height, 180);
        EXPECT_NEAR(red_at_centre(v->frames[i]), 3 * int(v->indices[i]), 3) << i;  // JPEG: ±3
    }
    // Each frame goes through the image processor at the video budget: 16:9 -> 288 × 528 -> 66
    // soft tokens (spec §2.2 table, 1080×1920 row at B = 70; §7 step 3).
    ImageOptions io;
    io.max_soft_tokens = kVideoMaxSoftTokens;
    auto p = image_preprocess(v->frames[0], io);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->grid.n_soft_tokens(), 66);
}

TEST(VideoLoad, LongClipIsCappedAt32Frames) {
    const std::string path = temp_path("long.avi");
    ASSERT_TRUE(write_clip(path, 80, 2.0, 96, 64));  // 40 s
    auto v = video_load(path);
    ASSERT_TRUE(v.ok()) << v.error().message;
    ASSERT_EQ(v->frames.size(), 32u);
    EXPECT_EQ(v->indices[1], 2);    // floor(80 / 32)
    EXPECT_EQ(v->indices[31], 77);  // floor(31 · 2.5)
    EXPECT_NEAR(v->seconds[31], 38.5, 1e-9);
    EXPECT_NEAR(red_at_centre(v->frames[31]), 3 * 77, 3);
    // The same bytes from memory give the same frames.
    auto m = video_decode(read_bytes(path));
    fs::remove(path);
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->indices, v->indices);
    EXPECT_EQ(m->frames[5].rgb, v->frames[5].rgb);
}

TEST(VideoLoad, CorruptAndMissingFilesAreClearErrors) {
    std::vector<uint8_t> junk(4096);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = uint8_t(i * 131 + 7);
    auto r = video_decode(junk);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::corrupt_file);
    EXPECT_NE(r.error().message.find("cannot decode the video"), std::string::npos)
        << r.error().message;
    // A real clip cut after its first kilobyte.
    const std::string path = temp_path("cut.avi");
    ASSERT_TRUE(write_clip(path, 20, 10.0));
    std::vector<uint8_t> cut = read_bytes(path);
    fs::remove(path);
    cut.resize(1024);
    auto c = video_decode(cut);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::corrupt_file) << c.error().message;
    auto missing = video_load(temp_path("no-such.avi"));
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
    EXPECT_FALSE(video_decode({}).ok());
}
