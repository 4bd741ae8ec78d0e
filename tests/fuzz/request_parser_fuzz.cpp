// libFuzzer target: arbitrary bytes as request bodies for the OpenAI and Anthropic parsers (and
// the media decoders they use). Any crash, sanitizer report or escaping exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/anthropic_request.h"
#include "server/media.h"
#include "server/openai_request.h"
#include "server/request_fields.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    using namespace gemdesk::server;
    std::string body(reinterpret_cast<const char *>(data), size);
    MediaPolicy policy;  // no local folders: files are always refused
    auto parsed = parse_json_object(body);
    if (parsed.ok()) {
        (void)parse_chat_request(parsed.value(), policy);
        (void)parse_completion_request(parsed.value());
        (void)parse_anthropic_request(parsed.value(), policy);
    }
    (void)base64_decode(body);
    (void)sniff_mime(body);
    (void)load_image_url(body, policy, "url");
    return 0;
}
