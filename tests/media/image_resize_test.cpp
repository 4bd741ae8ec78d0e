// image_resize_bicubic's two passes: a height-only resize is the width-only resize of the
// transposed image, transposed back (the same taps along the other axis), byte for byte; an
// unchanged size returns the input. The full two-pass path is checked against the reference's
// pixel_values in image_processor_test.cpp.
#include "media/image_resize.h"

#include <gtest/gtest.h>

namespace gemma::media {
namespace {

Image textured(int w, int h) {
    Image im;
    im.width = w;
    im.height = h;
    im.rgb.resize(size_t(w) * size_t(h) * 3);
    for (size_t i = 0; i < im.rgb.size(); ++i) im.rgb[i] = uint8_t((i * 2654435761u) >> 24);
    return im;
}

Image transposed(const Image & in) {
    Image t;
    t.width = in.height;
    t.height = in.width;
    t.rgb.resize(in.rgb.size());
    for (int y = 0; y < in.height; ++y)
        for (int x = 0; x < in.width; ++x)
            for (int c = 0; c < 3; ++c)
                t.rgb[(size_t(x) * size_t(t.width) + size_t(y)) * 3 + size_t(c)] = in.at(y, x, c);
    return t;
}

TEST(ImageResize, HeightOnlyIsTheTransposedWidthOnlyResize) {
    const Image im = textured(37, 301);
    for (ResizeFixedPoint fp : {ResizeFixedPoint::pil, ResizeFixedPoint::torch}) {
        for (int out_h : {97, 300, 640}) {  // down, barely down, up
            const Image by_y = image_resize_bicubic(im, 37, out_h, fp);
            const Image by_x = transposed(image_resize_bicubic(transposed(im), out_h, 37, fp));
            ASSERT_EQ(by_y.height, out_h);
            EXPECT_EQ(by_y.rgb, by_x.rgb) << "out_h " << out_h;
        }
    }
}

// The SIMD tap loops must give the scalar loops' bytes (those are checked against the reference
// pixel_values on an upscale in image_processor_test.cpp): downscales (long kernels), upscales,
// widths near the kernel size, one-axis resizes, both fixed-point flavours.
TEST(ImageResize, SimdLoopsEqualTheScalarLoops) {
    struct Case {
        int in_w, in_h, out_w, out_h;
    };
    const Case cases[] = {{1920, 1080, 1056, 576}, {317, 211, 480, 288}, {301, 37, 97, 640},
                          {7, 9, 3, 4},            {10, 6, 31, 17},      {640, 480, 48, 48},
                          {53, 41, 53, 19},        {53, 41, 20, 41}};
    for (const Case & c : cases) {
        const Image im = textured(c.in_w, c.in_h);
        for (ResizeFixedPoint fp : {ResizeFixedPoint::pil, ResizeFixedPoint::torch}) {
            const Image fast = image_resize_bicubic(im, c.out_w, c.out_h, fp);
            const Image ref = image_resize_bicubic_scalar(im, c.out_w, c.out_h, fp);
            ASSERT_EQ(fast.rgb.size(), size_t(c.out_w) * size_t(c.out_h) * 3);
            EXPECT_TRUE(fast.rgb == ref.rgb) << c.in_w << "x" << c.in_h << " -> " << c.out_w
                                             << "x" << c.out_h << " fp " << int(fp);
        }
    }
}

TEST(ImageResize, SameSizeReturnsTheInput) {
    const Image im = textured(50, 20);
    EXPECT_EQ(image_resize_bicubic(im, 50, 20, ResizeFixedPoint::pil).rgb, im.rgb);
}

}  // namespace
}  // namespace gemma::media
