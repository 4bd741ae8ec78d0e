// Image decoding, normalised to what the Gemma 4 image processor sees: upright, 8-bit, RGB, opaque.
// The header checks and the EXIF orientation are here; the pixel decoder (OpenCV) lives in the
// image codec module (codecs.h), loaded on the first decode.
#include <fstream>
#include <iterator>

#include "media/codecs.h"
#include "media/image.h"

namespace gemma::media {

Result<Image> image_decode(std::span<const uint8_t> bytes, const std::string & origin) {
    if (bytes.empty()) {
        return make_error(ErrorCode::invalid_argument,
                          format("%s: the image is empty (0 bytes)", origin.c_str()));
    }
    auto header = image_probe(bytes);
    if (!header) return make_error(header.error().code, origin + ": " + header.error().message);
    const char * fmt = image_format_name(header->format);
    if (header->width <= 0 || header->height <= 0 || header->width > kMaxImagePixels ||
        header->height > kMaxImagePixels || header->width * header->height > kMaxImagePixels) {
        return make_error(ErrorCode::invalid_argument,
                          format("%s: %s image of %lld x %lld pixels exceeds the limit of %lld "
                                 "pixels; downscale it before attaching",
                                 origin.c_str(), fmt, (long long)header->width,
                                 (long long)header->height, (long long)kMaxImagePixels));
    }
    auto codec = image_codec_api();
    if (!codec) return make_error(codec.error().code, origin + ": " + codec.error().message);
    Result<Image> img =
        make_error(ErrorCode::internal, origin + ": the image module gave no result");
    (*codec)->decode(bytes.data(), bytes.size(), &origin, fmt, &img);
    if (!img) return img.error();
    return image_apply_orientation(*img, header->exif_orientation);
}

Result<Image> image_load(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        return make_error(ErrorCode::not_found,
                          format("cannot open image file '%s'; check the path", path.c_str()));
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    return image_decode(bytes, path);
}

Image image_apply_orientation(const Image & in, int o) {
    if (o < 2 || o > 8) return in;
    bool swap = o >= 5;
    Image out;
    out.width = swap ? in.height : in.width;
    out.height = swap ? in.width : in.height;
    out.rgb.resize(in.rgb.size());
    const int W = in.width, H = in.height;
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            int sy = y, sx = x;  // source pixel for output (y, x); see EXIF 2.3 tag 0x0112
            switch (o) {
                case 2:
                    sx = W - 1 - x;
                    break;  // mirror horizontal
                case 3:
                    sy = H - 1 - y;
                    sx = W - 1 - x;
                    break;  // rotate 180
                case 4:
                    sy = H - 1 - y;
                    break;  // mirror vertical
                case 5:
                    sy = x;
                    sx = y;
                    break;  // transpose
                case 6:
                    sy = H - 1 - x;
                    sx = y;
                    break;  // rotate 90 clockwise
                case 7:
                    sy = H - 1 - x;
                    sx = W - 1 - y;
                    break;  // transverse
                case 8:
                    sy = x;
                    sx = W - 1 - y;
                    break;  // rotate 90 counter-clockwise
            }
            for (int c = 0; c < 3; ++c) {
                out.rgb[(size_t(y) * size_t(out.width) + size_t(x)) * 3 + size_t(c)] =
                    in.at(sy, sx, c);
            }
        }
    }
    return out;
}

}  // namespace gemma::media
