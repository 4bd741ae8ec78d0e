// Antialiased bicubic resize of 8-bit RGB images, the resampler the Gemma 4 image processor uses
// (Pillow's BICUBIC, which torchvision's uint8 antialias path reproduces). Plain, deterministic.
#pragma once

#include "media/image.h"

namespace gemma::media {

// Fixed-point flavour of the per-pass weights. Both round to uint8 after each pass.
// pil:   22 fractional bits (Pillow Resample.c, PRECISION_BITS = 32 - 8 - 2).
// torch: int16 weights, the fraction chosen per pass so the largest weight fits in 15 bits
//        (ATen's uint8 antialias kernels). The reference fixtures come from this path.
enum class ResizeFixedPoint { pil, torch };

// Resizes `in` to out_w × out_h (both >= 1) with the Keys cubic kernel (a = −0.5), the support
// stretched by the scale factor when downscaling, horizontal pass first. Same size = copy.
Image image_resize_bicubic(const Image & in, int out_w, int out_h,
                           ResizeFixedPoint fixed_point = ResizeFixedPoint::torch);

// The same resize with the plain scalar loops only: the reference the SIMD loops above must match
// byte for byte (tests/media/image_resize_test.cpp). Slower; not for production use.
Image image_resize_bicubic_scalar(const Image & in, int out_w, int out_h,
                                  ResizeFixedPoint fixed_point = ResizeFixedPoint::torch);

}  // namespace gemma::media
