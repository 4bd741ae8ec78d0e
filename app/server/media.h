// Media inputs for requests: base64 data: URLs, local files restricted to allowed folders, and
// format sniffing, so only real images/audio clips reach the engine. Remote URLs are refused.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/chat_service.h"
#include "server/http_errors.h"

namespace gemdesk::server {

struct MediaPolicy {
    std::vector<std::filesystem::path> allowed_dirs;  // local files must resolve inside one
    size_t max_bytes = 20u << 20;                     // per media item, decoded
};

// Standard base64 (RFC 4648, padding optional); nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

// "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "audio/wav", "audio/flac",
// "audio/ogg", "audio/mpeg"; "" when the bytes are none of these.
std::string sniff_mime(std::string_view bytes);

// Resolves an image_url.url: "data:image/...;base64,..." or a local path / file:// URL inside an
// allowed folder. 400 naming `param` otherwise (remote http(s) URLs included).
ApiResult<MediaInput> load_image_url(const std::string & url, const MediaPolicy & policy,
                                     const std::string & param);

// Base64 audio with a declared format (wav, mp3, flac, ogg); the bytes must match the format.
ApiResult<MediaInput> load_audio_base64(const std::string & data, const std::string & format,
                                        const MediaPolicy & policy, const std::string & param);

// Raw uploaded bytes (multipart) that must be one of the audio formats.
ApiResult<MediaInput> audio_from_bytes(std::string bytes, const MediaPolicy & policy,
                                       const std::string & param);

// Seconds of audio in a RIFF/WAVE file; 0 when the bytes are not a readable WAV.
double wav_duration_seconds(const std::string & bytes);

}  // namespace gemdesk::server
