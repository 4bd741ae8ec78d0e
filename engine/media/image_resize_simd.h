// The resize's tap loops in Highway (image_resize_simd.cpp), one build per SIMD target, picked at
// run time. Same int32 sums as the scalar loops in image_resize.cpp, so the bytes are identical.
#pragma once

#include <cstdint>

namespace gemma::media::simd {

// Per output index o: input taps [start[o], start[o] + ksize) with int32 weights w[o·ksize + j]
// (zero past the real tap count; start[o] + ksize <= the input size); sum·w rounds by adding
// 2^(bits−1), shifting right by `bits` and clamping to [0, 255].
struct Taps {
    const int * start = nullptr;
    const int32_t * w = nullptr;
    int ksize = 0;
    int bits = 0;
};

// Along x, one row: src has in_w RGB pixels, dst gets out_w. Reads one byte past the last tap of
// each output pixel (4-byte loads): src must have at least one readable byte after
// src[3·(start[o] + ksize) − 1] for every o (the caller handles the image's last row otherwise).
void resize_row_x(const uint8_t * src, int out_w, const Taps & t, uint8_t * dst);

// Along y, one output row: dst[i] = clip(Σ_j rows[j][i] · w[j]) for i < n, j < count.
void resize_row_y(const uint8_t * const * rows, const int32_t * w, int count, int bits, int64_t n,
                  uint8_t * dst);

}  // namespace gemma::media::simd
