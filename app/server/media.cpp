// Base64, format sniffing and the allowed-folder check for local media files.
#include "server/media.h"

#include <fstream>
#include <system_error>

namespace gemdesk::server {

namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool is_inside(const std::filesystem::path & file, const std::filesystem::path & dir) {
    auto f = file.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++f) {
        if (d->empty()) continue;  // trailing slash
        if (f == file.end() || *f != *d) return false;
    }
    return true;
}

ApiResult<MediaInput> check_size(MediaInput media, const MediaPolicy & policy,
                                 const std::string & param) {
    if (media.bytes.size() > policy.max_bytes)
        return ApiError{413, "invalid_request_error",
                        gemma::format("'%s' is %zu bytes; the limit per media item is %zu bytes",
                                      param.c_str(), media.bytes.size(), policy.max_bytes),
                        param, "media_too_large"};
    return media;
}

ApiResult<MediaInput> load_local_file(const std::string & path_text, const MediaPolicy & policy,
                                      const std::string & param) {
    if (policy.allowed_dirs.empty())
        return bad_request("'" + param +
                               "' names a local file, but this server allows no media folders "
                               "(start it with --media-dir DIR, or send a data: URL)",
                           param);
    std::error_code ec;
    std::filesystem::path file = std::filesystem::canonical(path_text, ec);
    if (ec)
        return bad_request(
            "'" + param + "': cannot open local file '" + path_text + "' (" + ec.message() + ")",
            param);
    bool allowed = false;
    for (const auto & dir : policy.allowed_dirs) {
        std::filesystem::path canon = std::filesystem::canonical(dir, ec);
        if (!ec && is_inside(file, canon)) allowed = true;
    }
    if (!allowed)
        return bad_request(
            "'" + param + "': '" + path_text + "' is outside the folders this server may read",
            param);
    if (!std::filesystem::is_regular_file(file, ec))
        return bad_request("'" + param + "': '" + path_text + "' is not a regular file", param);
    auto size = std::filesystem::file_size(file, ec);
    if (ec || size > policy.max_bytes)
        return check_size(
            MediaInput{MediaInput::Kind::image, "", std::string(policy.max_bytes + 1, '\0')},
            policy, param);
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return MediaInput{MediaInput::Kind::image, sniff_mime(bytes), std::move(bytes)};
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v = base64_value(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | unsigned(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((buffer >> bits) & 0xFF));
        }
    }
    if (bits >= 6) return std::nullopt;  // a lone trailing character encodes no full byte
    return out;
}

std::string base64_encode(std::string_view bytes) {
    static const char * kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                     (unsigned char)bytes[i + 2];
        for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
    }
    if (i < bytes.size()) {
        unsigned v = (unsigned char)bytes[i] << 16;
        if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string sniff_mime(std::string_view b) {
    auto at = [&](size_t off, std::string_view magic) {
        return b.size() >= off + magic.size() && b.substr(off, magic.size()) == magic;
    };
    if (at(0, "\x89PNG\r\n\x1a\n")) return "image/png";
    if (at(0, "\xFF\xD8\xFF")) return "image/jpeg";
    if (at(0, "GIF87a") || at(0, "GIF89a")) return "image/gif";
    if (at(0, "RIFF") && at(8, "WEBP")) return "image/webp";
    if (at(0, "BM") && b.size() > 26) return "image/bmp";
    if (at(0, "RIFF") && at(8, "WAVE")) return "audio/wav";
    if (at(0, "fLaC")) return "audio/flac";
    if (at(0, "OggS")) return "audio/ogg";
    if (at(0, "ID3")) return "audio/mpeg";
    if (b.size() >= 2 && (unsigned char)b[0] == 0xFF && ((unsigned char)b[1] & 0xE0) == 0xE0)
        return "audio/mpeg";
    return "";
}

ApiResult<MediaInput> load_image_url(const std::string & url, const MediaPolicy & policy,
                                     const std::string & param) {
    MediaInput media;
    if (starts_with(url, "data:")) {
        size_t comma = url.find(',');
        std::string_view header =
            std::string_view(url).substr(0, comma == std::string::npos ? 0 : comma);
        if (comma == std::string::npos || header.size() < 7 ||
            header.substr(header.size() - 7) != ";base64")
            return bad_request(
                "'" + param + "' must be a data URL of the form data:image/png;base64,<data>",
                param);
        auto bytes = base64_decode(std::string_view(url).substr(comma + 1));
        if (!bytes) return bad_request("'" + param + "' holds invalid base64 data", param);
        media.bytes = std::move(*bytes);
        media.mime = sniff_mime(media.bytes);
    } else if (starts_with(url, "http://") || starts_with(url, "https://")) {
        return bad_request("'" + param +
                               "': remote image URLs are disabled on this server; send the image "
                               "as a data: URL (data:image/png;base64,...)",
                           param);
    } else if (starts_with(url, "file://") || starts_with(url, "/")) {
        auto loaded =
            load_local_file(starts_with(url, "file://") ? url.substr(7) : url, policy, param);
        if (!loaded.ok()) return loaded.error();
        media = std::move(loaded.value());
    } else {
        return bad_request("'" + param + "' must be a data: URL or an absolute local path", param);
    }
    if (!starts_with(media.mime, "image/"))
        return bad_request("'" + param + "' is not a PNG, JPEG, GIF, WebP or BMP image", param);
    media.kind = MediaInput::Kind::image;
    return check_size(std::move(media), policy, param);
}

ApiResult<MediaInput> audio_from_bytes(std::string bytes, const MediaPolicy & policy,
                                       const std::string & param) {
    MediaInput media{MediaInput::Kind::audio, sniff_mime(bytes), std::move(bytes)};
    if (!starts_with(media.mime, "audio/"))
        return bad_request("'" + param + "' is not a WAV, FLAC, OGG or MP3 audio file", param);
    return check_size(std::move(media), policy, param);
}

ApiResult<MediaInput> load_audio_base64(const std::string & data, const std::string & format,
                                        const MediaPolicy & policy, const std::string & param) {
    static const std::pair<const char *, const char *> kFormats[] = {
        {"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"flac", "audio/flac"}, {"ogg", "audio/ogg"}};
    std::string expected;
    for (const auto & [name, mime] : kFormats)
        if (format == name) expected = mime;
    if (expected.empty())
        return bad_request(
            "'" + param + ".format' must be wav, mp3, flac or ogg, got \"" + format + "\"",
            param + ".format");
    auto bytes = base64_decode(data);
    if (!bytes)
        return bad_request("'" + param + ".data' holds invalid base64 data", param + ".data");
    auto media = audio_from_bytes(std::move(*bytes), policy, param + ".data");
    if (media.ok() && media.value().mime != expected)
        return bad_request(
            "'" + param + ".data' is " + media.value().mime + ", not the declared format " + format,
            param);
    return media;
}

double wav_duration_seconds(const std::string & b) {
    if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0) return 0.0;
    auto u32 = [&](size_t at) {
        uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | (unsigned char)b[at + size_t(i)];
        return v;
    };
    uint32_t byte_rate = 0;
    for (size_t at = 12; at + 8 <= b.size();) {
        uint32_t size = u32(at + 4);
        if (b.compare(at, 4, "fmt ") == 0 && at + 16 <= b.size()) byte_rate = u32(at + 16);
        if (b.compare(at, 4, "data") == 0)
            return byte_rate ? double(std::min<size_t>(size, b.size() - at - 8)) / byte_rate : 0.0;
        at += 8 + size + (size & 1);
    }
    return 0.0;
}

}  // namespace gemdesk::server
