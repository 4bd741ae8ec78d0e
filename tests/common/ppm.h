// Reads a binary PPM (P6, 8-bit) into media::Image: test inputs that need no image codec module
// (tests/data/tiny-gemma4/image.ppm holds image.png's pixels; tests/media checks they match).
#pragma once

#include <cctype>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/image.h"

namespace golden_test {

// Empty image (width 0) when the file is missing or not a plain "P6 W H 255" PPM.
inline gemma::media::Image read_ppm(const std::string & path) {
    gemma::media::Image img;
    std::ifstream f(path, std::ios::binary);
    std::string magic;
    int w = 0, h = 0, maxval = 0;
    if (!(f >> magic >> w >> h >> maxval) || magic != "P6" || maxval != 255 || w <= 0 || h <= 0)
        return img;
    f.get();  // the one whitespace byte before the pixels
    std::vector<uint8_t> rgb((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (rgb.size() != size_t(w) * size_t(h) * 3) return img;
    img.width = w;
    img.height = h;
    img.rgb = std::move(rgb);
    return img;
}

}  // namespace golden_test
