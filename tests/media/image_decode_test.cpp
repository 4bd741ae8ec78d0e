// Image decoding: formats, grayscale, alpha on white, EXIF orientation, and clear errors for
// empty, corrupt, unknown and oversized inputs. Inputs are encoded here with OpenCV's encoders.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "golden.h"
#include "media/image.h"

namespace gemma::media {
namespace {

std::vector<uint8_t> encode(const cv::Mat & m, const std::string & ext,
                            std::vector<int> params = {}) {
    std::vector<uint8_t> out;
    EXPECT_TRUE(cv::imencode(ext, m, out, params)) << ext;
    return out;
}

// 24 × 16 BGR: left half pure red, right half pure blue (asymmetric on purpose).
cv::Mat red_left_blue_right() {
    cv::Mat m(16, 24, CV_8UC3, cv::Scalar(255, 0, 0));
    m(cv::Rect(0, 0, 12, 16)).setTo(cv::Scalar(0, 0, 255));
    return m;
}

TEST(ImageDecode, LosslessFormatsRoundTripAsRgb) {
    cv::Mat m = red_left_blue_right();
    std::vector<std::pair<std::string, std::vector<int>>> formats = {{".png", {}}, {".bmp", {}}};
    if (cv::haveImageWriter(".webp")) formats.push_back({".webp", {cv::IMWRITE_WEBP_QUALITY, 101}});
    for (const auto & [ext, params] : formats) {
        auto img = image_decode(encode(m, ext, params), ext);
        ASSERT_TRUE(img.ok()) << ext << ": " << img.error().message;
        EXPECT_EQ(img->width, 24);
        EXPECT_EQ(img->height, 16);
        EXPECT_EQ(img->at(5, 2, 0), 255) << ext;  // left: R
        EXPECT_EQ(img->at(5, 2, 2), 0) << ext;
        EXPECT_EQ(img->at(5, 20, 0), 0) << ext;  // right: B
        EXPECT_EQ(img->at(5, 20, 2), 255) << ext;
    }
}

TEST(ImageDecode, JpegDecodes) {
    auto img = image_decode(encode(red_left_blue_right(), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}));
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->width, 24);
    EXPECT_GT(img->at(8, 2, 0), 200);  // lossy: red stays clearly red
    EXPECT_LT(img->at(8, 2, 2), 60);
}

TEST(ImageDecode, GrayscaleIsReplicated) {
    cv::Mat g(4, 4, CV_8UC1, cv::Scalar(77));
    auto img = image_decode(encode(g, ".png"));
    ASSERT_TRUE(img.ok());
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img->at(1, 1, c), 77);
}

TEST(ImageDecode, AlphaIsCompositedOnWhite) {
    // RGBA (200, 10, 0, 128): out = round((c·a + 255·(255 − a)) / 255), Pillow's paste on white.
    cv::Mat m(2, 2, CV_8UC4, cv::Scalar(0, 10, 200, 128));  // B, G, R, A
    auto img = image_decode(encode(m, ".png"));
    ASSERT_TRUE(img.ok());
    const int rgb[3] = {200, 10, 0};
    for (int c = 0; c < 3; ++c) {
        long expect = std::lround((rgb[c] * 128.0 + 255.0 * 127.0) / 255.0);
        EXPECT_EQ(img->at(0, 0, c), expect) << "channel " << c;
    }
    cv::Mat clear(2, 2, CV_8UC4, cv::Scalar(0, 0, 0, 0));  // fully transparent -> white
    auto w = image_decode(encode(clear, ".png"));
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->at(1, 1, 0), 255);
}

// Inserts an EXIF APP1 segment (big-endian TIFF, IFD0 with one Orientation entry) after SOI.
std::vector<uint8_t> with_exif_orientation(std::vector<uint8_t> jpeg, uint8_t orientation) {
    const uint8_t app1[] = {
        0xFF, 0xE1, 0x00, 34, 'E', 'x', 'i', 'f', 0, 0,           'M', 'M',
        0,    42,   0,    0,  0,   8,                                      // TIFF header
        0,    1,                                                           // 1 entry
        0x01, 0x12, 0,    3,  0,   0,   0,   1,   0, orientation, 0,   0,  // SHORT
        0,    0,    0,    0};                                              // no next IFD
    jpeg.insert(jpeg.begin() + 2, std::begin(app1), std::end(app1));
    return jpeg;
}

TEST(ImageDecode, ExifOrientationIsApplied) {
    auto jpeg = encode(red_left_blue_right(), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    auto hdr = image_probe(with_exif_orientation(jpeg, 6));
    ASSERT_TRUE(hdr.ok());
    EXPECT_EQ(hdr->exif_orientation, 6);
    // 6 = rotate 90° clockwise to display: 24 × 16 becomes 16 × 24 and the left (red) half
    // ends on top.
    auto img = image_decode(with_exif_orientation(jpeg, 6));
    ASSERT_TRUE(img.ok()) << img.error().message;
    EXPECT_EQ(img->width, 16);
    EXPECT_EQ(img->height, 24);
    EXPECT_GT(img->at(3, 8, 0), 200);
    EXPECT_GT(img->at(20, 8, 2), 200);
    // 8 = rotate counter-clockwise: the red half ends at the bottom.
    auto ccw = image_decode(with_exif_orientation(jpeg, 8));
    ASSERT_TRUE(ccw.ok());
    EXPECT_GT(ccw->at(20, 8, 0), 200);
    EXPECT_GT(ccw->at(3, 8, 2), 200);
}

TEST(ImageDecode, OrientationMappingsOnTinyImage) {
    // 2 × 3 image with distinct values; each EXIF case checked against its written definition.
    Image in;
    in.width = 3;
    in.height = 2;
    for (int i = 0; i < 6; ++i) in.rgb.insert(in.rgb.end(), {uint8_t(i), 0, 0});
    auto v = [](const Image & im) {
        std::vector<int> r;
        for (int y = 0; y < im.height; ++y)
            for (int x = 0; x < im.width; ++x) r.push_back(im.at(y, x, 0));
        return r;
    };
    // input rows: [0 1 2] [3 4 5]
    EXPECT_EQ(v(image_apply_orientation(in, 2)), (std::vector<int>{2, 1, 0, 5, 4, 3}));
    EXPECT_EQ(v(image_apply_orientation(in, 3)), (std::vector<int>{5, 4, 3, 2, 1, 0}));
    EXPECT_EQ(v(image_apply_orientation(in, 4)), (std::vector<int>{3, 4, 5, 0, 1, 2}));
    EXPECT_EQ(v(image_apply_orientation(in, 5)), (std::vector<int>{0, 3, 1, 4, 2, 5}));
    EXPECT_EQ(v(image_apply_orientation(in, 6)), (std::vector<int>{3, 0, 4, 1, 5, 2}));
    EXPECT_EQ(v(image_apply_orientation(in, 7)), (std::vector<int>{5, 2, 4, 1, 3, 0}));
    EXPECT_EQ(v(image_apply_orientation(in, 8)), (std::vector<int>{2, 5, 1, 4, 0, 3}));
}

TEST(ImageDecode, EmptyInputIsAClearError) {
    auto r = image_decode({}, "photo.png");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("photo.png"), std::string::npos);
    EXPECT_NE(r.error().message.find("empty"), std::string::npos);
}

TEST(ImageDecode, UnknownFormatIsUnsupported) {
    const std::string gif = "GIF89a\x01\x00\x01\x00";
    auto r = image_decode(std::span(reinterpret_cast<const uint8_t *>(gif.data()), gif.size()));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::unsupported);
}

TEST(ImageDecode, TruncatedPngIsCorrupt) {
    cv::Mat m(64, 64, CV_8UC3);
    cv::randu(m, 0, 255);
    auto png = encode(m, ".png");
    png.resize(png.size() / 2);
    auto r = image_decode(png, "half.png");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::corrupt_file);
    EXPECT_NE(r.error().message.find("half.png"), std::string::npos);
    std::vector<uint8_t> header_only(png.begin(), png.begin() + 10);  // signature + 2 bytes
    auto h = image_decode(header_only);
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.error().code, ErrorCode::corrupt_file);
}

TEST(ImageDecode, HugeImageIsRefusedBeforeDecoding) {
    // A valid PNG whose IHDR claims 100000 × 100000 (10 G pixels); the data is never read.
    auto png = encode(cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), ".png");
    const uint8_t big[4] = {0x00, 0x01, 0x86, 0xA0};  // 100000 big-endian
    std::copy(big, big + 4, png.begin() + 16);
    std::copy(big, big + 4, png.begin() + 20);
    auto r = image_decode(png);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("100000 x 100000"), std::string::npos);
}

TEST(ImageDecode, MissingFileIsNotFound) {
    auto r = image_load(test::tiny_dir() + "/no_such_image.png");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace gemma::media
