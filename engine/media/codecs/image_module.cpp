// The image codec module (libgemma_media_image.so): cv::imdecode, normalised to what the Gemma 4
// image processor sees (8-bit, RGB, opaque). image_decode (image_decode.cpp) checks the header and
// size limit first and applies the EXIF orientation after. Exports gemma_media_image_api only.
#include <exception>
#include <new>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "media/codecs.h"

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

Result<cv::Mat> decode_mat(std::span<const uint8_t> bytes, const std::string & origin,
                           const char * fmt) {
    cv::Mat buf(1, int(bytes.size()), CV_8UC1, const_cast<uint8_t *>(bytes.data()));
    // IMREAD_UNCHANGED keeps alpha and 16-bit samples; it also skips OpenCV's EXIF handling,
    // which image_decode applies itself.
    cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    if (m.empty()) {
        return make_error(ErrorCode::corrupt_file,
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
}

// OpenCV exceptions and allocation failures become errors; nothing unwinds into the program.
Result<Image> decode(std::span<const uint8_t> bytes, const std::string & origin, const char * fmt) {
    try {
        auto mat = decode_mat(bytes, origin, fmt);
        if (!mat) return mat.error();
        return to_rgb_on_white(*mat);
    } catch (const cv::Exception & e) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s: the %s decoder failed (%s)", origin.c_str(), fmt, e.what()));
    } catch (const std::bad_alloc &) {
        return make_error(
            ErrorCode::out_of_memory,
            format("%s: out of memory while decoding the %s image", origin.c_str(), fmt));
    } catch (const std::exception & e) {
        return make_error(ErrorCode::internal, format("%s: the image codec module failed (%s)",
                                                      origin.c_str(), e.what()));
    }
}

void entry_decode(const uint8_t * data, size_t size, const std::string * origin, const char * fmt,
                  Result<Image> * out) {
    *out = decode({data, size}, *origin, fmt);
}

constexpr ImageCodecApi kApi = {codec_abi_expected(), entry_decode};

}  // namespace
}  // namespace gemma::media

extern "C" __attribute__((visibility("default"))) const gemma::media::CodecAbi *
gemma_media_image_api() {
    return &gemma::media::kApi.abi;
}
