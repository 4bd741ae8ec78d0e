// Image decoding through OpenCV's codecs, normalised to what the Gemma 4 image processor sees:
// upright, 8-bit, RGB, opaque. OpenCV exceptions are caught here and returned as errors.
#include <fstream>
#include <iterator>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "media/image.h"

namespace gemma::media {
namespace {

// Pillow's DIV255: round(v / 255) for v in [0, 255·255] without a division.
inline uint8_t div255(uint32_t v) {
    uint32_t t = v + 128;
    return uint8_t(((t >> 8) + t) >> 8);
}

// One channel sample as 8 bits; 16-bit sources keep their high byte (as Pillow's RGB;16B unpacker
// and OpenCV's own 16->8 conversion do).
inline uint32_t sample8(const cv::Mat & m, int y, int x, int c) {
    int cn = m.channels();
    if (m.depth() == CV_16U) return uint32_t(m.ptr<uint16_t>(y)[x * cn + c]) >> 8;
    return m.ptr<uint8_t>(y)[x * cn + c];
}

// OpenCV's channel order is B, G, R(, A); grayscale is 1 channel (2 with alpha).
Image to_rgb_on_white(const cv::Mat & m) {
    Image out;
    out.width = m.cols;
    out.height = m.rows;
    out.rgb.resize(size_t(m.cols) * size_t(m.rows) * 3);
    int cn = m.channels();
    bool gray = cn <= 2, alpha = cn == 2 || cn == 4;
    for (int y = 0; y < m.rows; ++y) {
        for (int x = 0; x < m.cols; ++x) {
            uint8_t * px = &out.rgb[(size_t(y) * size_t(m.cols) + size_t(x)) * 3];
            uint32_t a = alpha ? sample8(m, y, x, cn - 1) : 255;
            for (int c = 0; c < 3; ++c) {
                uint32_t v = sample8(m, y, x, gray ? 0 : 2 - c);
                px[c] = alpha ? div255(v * a + 255u * (255u - a)) : uint8_t(v);
            }
        }
    }
    return out;
}

Result<cv::Mat> decode_with_opencv(std::span<const uint8_t> bytes, const std::string & origin,
                                   const char * fmt) {
    try {
        cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<uint8_t *>(bytes.data()));
        // IMREAD_UNCHANGED keeps alpha and 16-bit samples; it also skips OpenCV's EXIF handling,
        // which image_decode applies itself.
        cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
        if (m.empty()) {
            return make_error(
                ErrorCode::corrupt_file,
                format("%s: the %s decoder could not read the pixel data (the file is "
                       "truncated or damaged, or this OpenCV build lacks the codec)",
                       origin.c_str(), fmt));
        }
        if ((m.depth() != CV_8U && m.depth() != CV_16U) || m.channels() < 1 || m.channels() > 4) {
            return make_error(ErrorCode::unsupported,
                              format("%s: unsupported %s pixel layout (depth %d, %d channels); "
                                     "convert it to 8-bit RGB",
                                     origin.c_str(), fmt, m.depth(), m.channels()));
        }
        return m;
    } catch (const cv::Exception & e) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s: the %s decoder failed (%s)", origin.c_str(), fmt, e.what()));
    } catch (const std::bad_alloc &) {
        return make_error(
            ErrorCode::out_of_memory,
            format("%s: out of memory while decoding the %s image", origin.c_str(), fmt));
    }
}

}  // namespace

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
    auto mat = decode_with_opencv(bytes, origin, fmt);
    if (!mat) return mat.error();
    return image_apply_orientation(to_rgb_on_white(*mat), header->exif_orientation);
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
