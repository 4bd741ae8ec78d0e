// Antialiased bicubic resize of 8-bit RGB images, the resampler the Gemma 4 image processor uses
// (Pillow's BICUBIC, which torchvision's uint8 antialias path reproduces). Deterministic: the bytes
// do not depend on the thread count or the SIMD target.
#pragma once

#include <cstdint>
#include <functional>

#include "media/image.h"

namespace gemma::media {

// Fixed-point flavour of the per-pass weights. Both round to uint8 after each pass.
// pil:   22 fractional bits (Pillow Resample.c, PRECISION_BITS = 32 - 8 - 2).
// torch: int16 weights, the fraction chosen per pass so the largest weight fits in 15 bits
//        (ATen's uint8 antialias kernels). The reference fixtures come from this path.
enum class ResizeFixedPoint { pil, torch };

struct ResizeOptions {
    ResizeFixedPoint fixed_point = ResizeFixedPoint::torch;
    int n_threads = 0;     // 0 = image_thread_count's choice (media/image_threads.h)
    bool use_simd = true;  // false = the plain scalar loops (the reference; tests only)
};

// Receives output row y (out_w RGB pixels, valid during the call only). Called exactly once per
// row, from up to n_threads threads at once (disjoint rows; increasing y within a thread).
using ResizeRowSink = std::function<void(int y, const uint8_t * rgb)>;

// Resizes `in` to out_w × out_h (both >= 1) with the Keys cubic kernel (a = −0.5), the support
// stretched by the scale factor when downscaling, horizontal pass first, handing each output row
// to `sink` instead of storing the image (the image processor patchifies rows while they are in
// cache). Rows are split across threads in contiguous bands; each band keeps only the few x-pass
// rows its y taps still need. An unchanged size hands over the input rows.
void image_resize_bicubic_rows(const Image & in, int out_w, int out_h, const ResizeOptions & opt,
                               const ResizeRowSink & sink);

// The same resize into an image. Same size = copy.
Image image_resize_bicubic(const Image & in, int out_w, int out_h,
                           ResizeFixedPoint fixed_point = ResizeFixedPoint::torch,
                           int n_threads = 0);

// The same resize with the plain scalar loops only: the reference the SIMD loops above must match
// byte for byte (tests/media/image_resize_test.cpp). Slower; not for production use.
Image image_resize_bicubic_scalar(const Image & in, int out_w, int out_h,
                                  ResizeFixedPoint fixed_point = ResizeFixedPoint::torch,
                                  int n_threads = 0);

}  // namespace gemma::media
