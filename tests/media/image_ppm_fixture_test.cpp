// tests/data/tiny-gemma4/image.ppm carries image.png's pixels for tests that must run without the
// image codec module (the GPU host has no OpenCV): it must equal what media::image_load decodes.
#include <gtest/gtest.h>

#include "golden.h"
#include "media/image.h"
#include "../common/ppm.h"

namespace gemma::media {
namespace {

TEST(ImageFixture, PpmHoldsThePngsPixels) {
    auto png = image_load(gemma::test::tiny_dir() + "/image.png");
    ASSERT_TRUE(png.ok()) << png.error().message;
    const Image ppm = golden_test::read_ppm(gemma::test::tiny_dir() + "/image.ppm");
    ASSERT_EQ(ppm.width, 317);
    ASSERT_EQ(ppm.height, 211);
    EXPECT_EQ(png->width, ppm.width);
    EXPECT_EQ(png->height, ppm.height);
    EXPECT_TRUE(png->rgb == ppm.rgb) << "image.ppm differs from the decoded image.png";
}

}  // namespace
}  // namespace gemma::media
