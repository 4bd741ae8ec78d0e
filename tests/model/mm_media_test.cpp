// Media bytes -> soft tokens for prompts (engine/model/gemma4/mm_media.h) with the tiny-gemma4
// towers: the media cache serves repeated bytes without re-encoding, video frames are encoded at
// the video budget with their timestamps and expand into a prompt per spec §7.
#include "model/gemma4/mm_media.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "model/gemma4/embedder_cases.h"
#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> read_bytes(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

struct Towers {
    Config config;
    std::unique_ptr<io::TensorSource> weights;
    std::unique_ptr<VisionEncoder> vision;
    std::unique_ptr<AudioEncoder> audio;
};

Towers load_towers() {
    Towers t;
    auto cfg = load_config(text_test::kTiny);
    auto w = io::open_safetensors(text_test::kTiny);
    EXPECT_TRUE(cfg.ok() && w.ok());
    t.config = *cfg;
    t.weights = std::move(*w);
    auto v = VisionEncoder::load(t.config, *t.weights);
    auto a = AudioEncoder::load(t.config, *t.weights);  // engine default: sliding mask
    EXPECT_TRUE(v.ok() && a.ok());
    t.vision = std::make_unique<VisionEncoder>(std::move(*v));
    t.audio = std::make_unique<AudioEncoder>(std::move(*a));
    return t;
}

bool same_values(const Tensor & a, const Tensor & b) {
    return a.shape == b.shape && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

}  // namespace

TEST(MmMedia, CacheHitsReuseSoftTokensWithoutReencoding) {
    Towers t = load_towers();
    media::MediaCache cache(64 << 20);
    MmEncoders enc{t.vision.get(), t.audio.get(), &cache, text_test::kTiny};
    const std::vector<uint8_t> png = read_bytes(text_test::kTiny + "/image.png");
    const std::vector<uint8_t> wav = read_bytes(text_test::kTiny + "/audio.wav");
    auto a = encode_image(enc, png, 70);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_EQ(a->parts[0].dim(0), 60);  // golden.json: 60 soft tokens at budget 70
    auto b = encode_image(enc, png, 70);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(cache.stats().misses, 1);  // one encoder call
    EXPECT_EQ(cache.stats().hits, 1);
    EXPECT_EQ(b->parts[0].data, a->parts[0].data);  // the cached tensor itself
    // The cached tokens are what a direct (uncached) encode gives.
    auto direct = encode_image(MmEncoders{t.vision.get(), nullptr, nullptr, ""}, png, 70);
    ASSERT_TRUE(direct.ok());
    EXPECT_TRUE(same_values(direct->parts[0], a->parts[0]));
    // Another budget is another entry.
    auto c = encode_image(enc, png, 140);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(cache.stats().misses, 2);
    EXPECT_NE(c->parts[0].dim(0), 60);
    // Audio: second request is a hit; 2.3 s -> one clip of 58 tokens (golden.json).
    auto x = encode_audio(enc, wav);
    auto y = encode_audio(enc, wav);
    ASSERT_TRUE(x.ok() && y.ok()) << (x.ok() ? y.error().message : x.error().message);
    ASSERT_EQ(x->parts.size(), 1u);
    EXPECT_EQ(x->parts[0].dim(0), 58);
    EXPECT_EQ(y->parts[0].data, x->parts[0].data);
    EXPECT_EQ(cache.stats().misses, 3);
    // Corrupt bytes: an error, and nothing cached.
    std::vector<uint8_t> bad(png.begin(), png.begin() + 100);
    EXPECT_FALSE(encode_image(enc, bad, 70).ok());
    EXPECT_EQ(cache.stats().entries, 3);
    EXPECT_FALSE(encode_image(enc, png, 100).ok());  // not a trained budget
    EXPECT_FALSE(encode_audio(MmEncoders{t.vision.get(), nullptr, &cache, ""}, wav).ok());
}

TEST(MmMedia, VideoFramesEncodeAndExpandWithTimestamps) {
    Towers t = load_towers();
    const std::string path =
        (fs::temp_directory_path() / ("gemdesk-mm-video-" + std::to_string(::getpid()) + ".avi"))
            .string();
    {
        cv::VideoWriter out(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 5.0,
                            cv::Size(320, 180));
        ASSERT_TRUE(out.isOpened());
        for (int i = 0; i < 15; ++i)  // 3 s, a moving bar so frames differ
            out.write(cv::Mat(180, 320, CV_8UC3, cv::Scalar(40, 80, 120)) +
                      cv::Scalar(i * 10, 0, 0));
    }
    const std::vector<uint8_t> bytes = read_bytes(path);
    fs::remove(path);
    media::MediaCache cache(64 << 20);
    MmEncoders enc{t.vision.get(), nullptr, &cache, "tiny"};
    auto v = encode_video(enc, bytes);
    ASSERT_TRUE(v.ok()) << v.error().message;
    // 3 s at 5 fps -> 3 frames at 0, 1, 2 s; 16:9 at 70 tokens -> 66 soft tokens each (§2.2).
    ASSERT_EQ(v->parts.size(), 3u);
    EXPECT_EQ(v->frame_seconds, (std::vector<double>{0.0, 1.0, 2.0}));
    for (const Tensor & p : v->parts) EXPECT_EQ(p.shape, (Shape{66, 64}));
    EXPECT_FALSE(same_values(v->parts[0], v->parts[2]));
    ASSERT_TRUE(encode_video(enc, bytes).ok());
    EXPECT_EQ(cache.stats().misses, 1);
    // Into a prompt: "00:00 " BOI 66 × video EOI " 00:01 " ...
    TextToIds chars = [](const std::string & s) -> Result<std::vector<int32_t>> {
        std::vector<int32_t> ids;
        for (unsigned char ch : s) ids.push_back(int32_t(ch));  // tiny vocab: bytes < 512
        return ids;
    };
    auto p = build_mm_prompt(std::vector<int32_t>{2, t.config.video_token_id, 1}, std::span(&*v, 1),
                             t.config, chars);
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->n_soft_tokens(MediaKind::video), 3 * 66);
    EXPECT_EQ(p->ids.size(), size_t(2 + 6 + 7 + 7 + 3 * (66 + 2)));
    EXPECT_EQ(p->ids[1], int32_t('0'));
    EXPECT_EQ(p->ids[6], int32_t(' '));
    EXPECT_EQ(p->ids[7], t.config.boi_token_id);
}

TEST(MmMedia, CorruptVideoIsAClearError) {
    Towers t = load_towers();
    std::vector<uint8_t> junk(2048, 0x5a);
    auto v = encode_video(MmEncoders{t.vision.get(), nullptr, nullptr, ""}, junk);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, ErrorCode::corrupt_file);
    EXPECT_NE(v.error().message.find("cannot decode the video"), std::string::npos);
}
