// Server-sent events framing and JSON text output that never throws (engine text may carry a
// split UTF-8 sequence; invalid bytes become U+FFFD instead of an exception).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gemdesk::server {

inline std::string json_text(const nlohmann::json & j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "data: {json}\n\n"
inline std::string sse_data(const nlohmann::json & j) { return "data: " + json_text(j) + "\n\n"; }

// "event: NAME\ndata: {json}\n\n" (Anthropic's framing)
inline std::string sse_event(const std::string & name, const nlohmann::json & j) {
    return "event: " + name + "\n" + sse_data(j);
}

inline constexpr const char * kSseDone = "data: [DONE]\n\n";

}  // namespace gemdesk::server
