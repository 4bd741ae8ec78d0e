// image_resize_bicubic's two passes: a height-only resize is the width-only resize of the
// transposed image, transposed back (the same taps along the other axis), byte for byte; a
// two-pass resize is the width-only resize followed by the height-only one; an unchanged size
// returns the input; the thread count does not change a byte. The full two-pass path is checked
// against the reference's pixel_values in image_processor_test.cpp.
#include "media/image_resize.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <atomic>
#include <memory>

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

void expect_simd_equals_scalar() {
    struct Case {
        int in_w, in_h, out_w, out_h;
    };
    const Case cases[] = {
        {1920, 1080, 1056, 576}, {317, 211, 480, 288}, {301, 37, 97, 640}, {7, 9, 3, 4},
        {10, 6, 31, 17},         {640, 480, 48, 48},   {53, 41, 53, 19},   {53, 41, 20, 41}};
    for (const Case & c : cases) {
        const Image im = textured(c.in_w, c.in_h);
        for (ResizeFixedPoint fp : {ResizeFixedPoint::pil, ResizeFixedPoint::torch}) {
            const Image fast = image_resize_bicubic(im, c.out_w, c.out_h, fp);
            const Image ref = image_resize_bicubic_scalar(im, c.out_w, c.out_h, fp);
            ASSERT_EQ(fast.rgb.size(), size_t(c.out_w) * size_t(c.out_h) * 3);
            EXPECT_TRUE(fast.rgb == ref.rgb) << c.in_w << "x" << c.in_h << " -> " << c.out_w << "x"
                                             << c.out_h << " fp " << int(fp);
        }
    }
}

// The SIMD tap loops must give the scalar loops' bytes (those are checked against the reference
// pixel_values on an upscale in image_processor_test.cpp): downscales (long kernels), upscales,
// widths near the kernel size, one-axis resizes, both fixed-point flavours, on every SIMD target
// this CPU runs (Highway dispatch pinned to each in turn).
TEST(ImageResize, SimdLoopsEqualTheScalarLoops) {
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    for (int64_t target : targets) {
        SCOPED_TRACE(hwy::TargetName(target));
        hwy::SetSupportedTargetsForTest(target);
        hwy::GetChosenTarget().Update(hwy::SupportedTargets());
        expect_simd_equals_scalar();
    }
    hwy::SetSupportedTargetsForTest(0);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    EXPECT_GE(targets.size(), 1u);
}

// Both passes in one call (x-pass rows kept per band in a small ring) against the two one-axis
// resizes in turn, which never share rows between output rows: same bytes, down and up.
TEST(ImageResize, TwoPassesEqualTheWidthThenTheHeightResize) {
    const Image im = textured(301, 173);
    for (ResizeFixedPoint fp : {ResizeFixedPoint::pil, ResizeFixedPoint::torch}) {
        for (auto [w, h] :
             {std::pair{97, 41}, std::pair{640, 480}, std::pair{150, 500}, std::pair{20, 3}}) {
            const Image both = image_resize_bicubic(im, w, h, fp, 1);
            const Image x_then_y =
                image_resize_bicubic(image_resize_bicubic(im, w, 173, fp), w, h, fp);
            EXPECT_TRUE(both.rgb == x_then_y.rgb) << w << "x" << h << " fp " << int(fp);
        }
    }
}

// Odd sizes so the bands split unevenly, more threads than some outputs have rows, every pass
// combination, SIMD and scalar loops: each thread count gives the one-thread bytes.
TEST(ImageResize, ThreadCountDoesNotChangeTheBytes) {
    struct Case {
        int in_w, in_h, out_w, out_h;
    };
    const Case cases[] = {{1001, 587, 527, 301}, {211, 317, 480, 769}, {301, 37, 97, 640},
                          {53, 41, 53, 19},      {53, 41, 20, 41},     {640, 481, 49, 5},
                          {13, 11, 7, 3}};
    for (const Case & c : cases) {
        const Image im = textured(c.in_w, c.in_h);
        for (ResizeFixedPoint fp : {ResizeFixedPoint::pil, ResizeFixedPoint::torch}) {
            const Image one = image_resize_bicubic(im, c.out_w, c.out_h, fp, 1);
            const Image one_scalar = image_resize_bicubic_scalar(im, c.out_w, c.out_h, fp, 1);
            for (int n_threads : {2, 3, 7, 64}) {
                EXPECT_TRUE(image_resize_bicubic(im, c.out_w, c.out_h, fp, n_threads).rgb ==
                            one.rgb)
                    << c.in_w << "x" << c.in_h << " -> " << c.out_w << "x" << c.out_h << " fp "
                    << int(fp) << " threads " << n_threads;
                EXPECT_TRUE(image_resize_bicubic_scalar(im, c.out_w, c.out_h, fp, n_threads).rgb ==
                            one_scalar.rgb)
                    << "scalar " << c.in_w << "x" << c.in_h << " threads " << n_threads;
            }
        }
    }
}

TEST(ImageResize, RowSinkGetsEveryRowOnce) {
    const Image im = textured(97, 61);
    for (auto [w, h] :
         {std::pair{31, 45}, std::pair{97, 45}, std::pair{31, 61}, std::pair{97, 61}}) {
        auto calls = std::make_unique<std::atomic<int>[]>(size_t(h));
        ResizeOptions opt;
        opt.n_threads = 5;
        image_resize_bicubic_rows(im, w, h, opt, [&](int y, const uint8_t *) {
            ASSERT_TRUE(y >= 0 && y < h) << y;
            calls[size_t(y)].fetch_add(1);
        });
        for (int y = 0; y < h; ++y) EXPECT_EQ(calls[size_t(y)].load(), 1) << "row " << y;
    }
}

TEST(ImageResize, SameSizeReturnsTheInput) {
    const Image im = textured(50, 20);
    EXPECT_EQ(image_resize_bicubic(im, 50, 20, ResizeFixedPoint::pil).rgb, im.rgb);
}

}  // namespace
}  // namespace gemma::media
