// Image decoding for the multimodal processors: encoded bytes (PNG, JPEG, WebP, BMP) become 8-bit
// RGB pixels, upright (EXIF orientation applied) and opaque (alpha composited on white).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace gemma::media {

// 8-bit RGB, row-major and interleaved: byte (y·width + x)·3 + c, c = 0 R, 1 G, 2 B.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> rgb;

    uint8_t at(int y, int x, int c) const {
        return rgb[(size_t(y) * size_t(width) + size_t(x)) * 3 + size_t(c)];
    }
};

// Decompression-bomb guard: Pillow's default limit (2 × MAX_IMAGE_PIXELS = 178,956,970 pixels),
// about 512 MiB of RGB. Larger images are refused before any pixel is decoded.
constexpr int64_t kMaxImagePixels = 178956970;

enum class ImageFormat { unknown, png, jpeg, webp, bmp };

// What the container header says, read without decoding pixels.
struct ImageHeader {
    ImageFormat format = ImageFormat::unknown;
    int64_t width = 0;
    int64_t height = 0;
    int exif_orientation = 1;  // 1..8 (EXIF tag 0x0112); 1 = upright or no EXIF
};

const char * image_format_name(ImageFormat f);

// Sniffs the format from magic bytes and reads the size (and EXIF orientation) from the header.
// Errors: unsupported (not PNG/JPEG/WebP/BMP), corrupt_file (truncated or malformed header).
Result<ImageHeader> image_probe(std::span<const uint8_t> bytes);

// Decodes to upright RGB. Grayscale is replicated to three channels, 16-bit samples are scaled to
// 8 bits, and alpha is composited on white with Pillow's rounding (the transformers convert_to_rgb
// pastes RGBA onto a white canvas). `origin` names the input in error messages (a path or "image").
// Errors: invalid_argument (empty input, image larger than kMaxImagePixels), unsupported (format),
// corrupt_file (the decoder rejected the data); unsupported also when the image codec module
// (libgemma_media_image.so, loaded on the first decode: media/codecs.h) cannot be loaded.
Result<Image> image_decode(std::span<const uint8_t> bytes, const std::string & origin = "image");

// Reads the file and decodes it. Errors: not_found when the file cannot be read, else as above.
Result<Image> image_load(const std::string & path);

// Applies an EXIF orientation (1..8) so the result is upright; 5..8 swap width and height.
Image image_apply_orientation(const Image & in, int exif_orientation);

}  // namespace gemma::media
