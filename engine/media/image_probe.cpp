// Reads an image container's header without decoding pixels: the format (from magic bytes), the
// size (so huge images are refused before allocation) and the EXIF orientation (so the decode can
// be made upright, as transformers' load_image does with ImageOps.exif_transpose).
#include <cstring>

#include "media/image.h"

namespace gemma::media {
namespace {

using Bytes = std::span<const uint8_t>;

uint32_t be16(Bytes b, size_t i) { return uint32_t(b[i]) << 8 | b[i + 1]; }
uint32_t be32(Bytes b, size_t i) { return be16(b, i) << 16 | be16(b, i + 2); }
uint32_t le16(Bytes b, size_t i) { return uint32_t(b[i + 1]) << 8 | b[i]; }
uint32_t le32(Bytes b, size_t i) { return le16(b, i + 2) << 16 | le16(b, i); }
uint32_t le24(Bytes b, size_t i) { return uint32_t(b[i + 2]) << 16 | le16(b, i); }

bool has_prefix(Bytes b, const char * magic, size_t offset = 0) {
    size_t n = std::strlen(magic);
    return b.size() >= offset + n && std::memcmp(b.data() + offset, magic, n) == 0;
}

// EXIF payload = a TIFF structure; returns tag 0x0112 of IFD0, or 1 when absent or malformed
// (a broken EXIF block is not a reason to refuse an image).
int tiff_orientation(Bytes t) {
    if (has_prefix(t, "Exif\0\0")) t = t.subspan(6);
    if (t.size() < 8) return 1;
    bool le = has_prefix(t, "II");
    if (!le && !has_prefix(t, "MM")) return 1;
    auto u16 = [&](size_t i) { return le ? le16(t, i) : be16(t, i); };
    auto u32 = [&](size_t i) { return le ? le32(t, i) : be32(t, i); };
    size_t ifd = u32(4);
    if (ifd + 2 > t.size()) return 1;
    size_t count = u16(ifd);
    for (size_t e = 0; e < count; ++e) {
        size_t at = ifd + 2 + e * 12;
        if (at + 12 > t.size()) return 1;
        if (u16(at) != 0x0112 || u16(at + 2) != 3) continue;  // orientation, SHORT
        int v = int(u16(at + 8));
        return v >= 1 && v <= 8 ? v : 1;
    }
    return 1;
}

Error truncated(const char * what) {
    return make_error(
        ErrorCode::corrupt_file,
        format("%s header is truncated or malformed; the file is damaged or not a real "
               "%s file",
               what, what));
}

Result<ImageHeader> probe_png(Bytes b) {
    ImageHeader h{ImageFormat::png};
    if (b.size() < 24 || !has_prefix(b, "IHDR", 12)) return truncated("PNG");
    h.width = be32(b, 16);
    h.height = be32(b, 20);
    for (size_t at = 8; at + 12 <= b.size();) {
        size_t len = be32(b, at);
        if (len > b.size() - at - 12) break;
        if (has_prefix(b, "eXIf", at + 4))
            h.exif_orientation = tiff_orientation(b.subspan(at + 8, len));
        if (has_prefix(b, "IEND", at + 4)) break;
        at += 12 + len;  // length, type, data, CRC
    }
    return h;
}

bool is_jpeg_sof(uint32_t m) {
    return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

Result<ImageHeader> probe_jpeg(Bytes b) {
    ImageHeader h{ImageFormat::jpeg};
    size_t at = 2;
    while (at + 4 <= b.size()) {
        if (b[at] != 0xFF) return truncated("JPEG");
        uint32_t m = b[at + 1];
        if (m == 0xFF) {
            ++at;
            continue;
        }  // fill byte
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            at += 2;
            continue;
        }
        if (m == 0xD9 || m == 0xDA) break;  // end of image / start of scan
        size_t len = be16(b, at + 2);
        if (len < 2 || at + 2 + len > b.size()) return truncated("JPEG");
        Bytes seg = b.subspan(at + 4, len - 2);
        if (m == 0xE1 && has_prefix(seg, "Exif\0\0")) h.exif_orientation = tiff_orientation(seg);
        if (is_jpeg_sof(m)) {
            if (seg.size() < 5) return truncated("JPEG");
            h.height = be16(seg, 1);
            h.width = be16(seg, 3);
        }
        at += 2 + len;
    }
    if (h.width == 0 || h.height == 0) return truncated("JPEG");
    return h;
}

Result<ImageHeader> probe_webp(Bytes b) {
    ImageHeader h{ImageFormat::webp};
    for (size_t at = 12; at + 8 <= b.size();) {
        size_t len = le32(b, at + 4);
        if (len > b.size() - at - 8) break;
        Bytes c = b.subspan(at + 8, len);
        if (has_prefix(b, "VP8X", at) && c.size() >= 10) {
            h.width = int64_t(le24(c, 4)) + 1;
            h.height = int64_t(le24(c, 7)) + 1;
        } else if (has_prefix(b, "VP8 ", at) && c.size() >= 10 && h.width == 0) {
            h.width = le16(c, 6) & 0x3fff;
            h.height = le16(c, 8) & 0x3fff;
        } else if (has_prefix(b, "VP8L", at) && c.size() >= 5 && h.width == 0) {
            uint32_t bits = le32(c, 1);
            h.width = int64_t(bits & 0x3fff) + 1;
            h.height = int64_t((bits >> 14) & 0x3fff) + 1;
        } else if (has_prefix(b, "EXIF", at)) {
            h.exif_orientation = tiff_orientation(c);
        }
        at += 8 + len + (len & 1);
    }
    if (h.width == 0 || h.height == 0) return truncated("WebP");
    return h;
}

Result<ImageHeader> probe_bmp(Bytes b) {
    ImageHeader h{ImageFormat::bmp};
    if (b.size() < 26) return truncated("BMP");
    if (le32(b, 14) == 12) {  // BITMAPCOREHEADER: 16-bit sizes
        h.width = le16(b, 18);
        h.height = le16(b, 20);
    } else {
        h.width = int32_t(le32(b, 18));
        h.height = int32_t(le32(b, 22));
        if (h.height < 0) h.height = -h.height;  // top-down bitmap
    }
    if (h.width <= 0 || h.height <= 0) return truncated("BMP");
    return h;
}

}  // namespace

const char * image_format_name(ImageFormat f) {
    switch (f) {
        case ImageFormat::png:
            return "PNG";
        case ImageFormat::jpeg:
            return "JPEG";
        case ImageFormat::webp:
            return "WebP";
        case ImageFormat::bmp:
            return "BMP";
        default:
            return "unknown";
    }
}

Result<ImageHeader> image_probe(std::span<const uint8_t> b) {
    if (has_prefix(b, "\x89PNG\r\n\x1a\n")) return probe_png(b);
    if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return probe_jpeg(b);
    if (has_prefix(b, "RIFF") && has_prefix(b, "WEBP", 8)) return probe_webp(b);
    if (has_prefix(b, "BM")) return probe_bmp(b);
    return make_error(ErrorCode::unsupported,
                      "not a supported image format (the data starts with no PNG, JPEG, WebP or "
                      "BMP signature); convert the image to PNG or JPEG");
}

}  // namespace gemma::media
