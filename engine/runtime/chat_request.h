// OpenAI-style chat request JSON (`messages`, `tools`, `chat_template_kwargs`,
// `add_generation_prompt`) -> native ChatRequest. Validation happens here, with errors that name
// the offending field; the renderer then works on structs only.
#pragma once

#include <string_view>

#include "core/status.h"
#include "runtime/chat_types.h"

namespace gemma::chat {

struct ChatRequestOptions {
    // vLLM-style normalisation (spec §4.2/§4.7), off by default so that the renderer sees exactly
    // what the template would: decode JSON-string `arguments` into objects (empty -> {}, invalid
    // JSON -> error) and default a missing `parameters.type` to "object".
    bool decode_string_arguments = false;
    bool default_parameters_type = false;

    static ChatRequestOptions server() { return {true, true}; }
};

// Errors: invalid_argument naming the field, e.g. "messages[2].tool_calls[0].function.name must
// be a string". Unknown request keys (model, temperature, ...) are ignored.
Result<ChatRequest> chat_request_from_json(const Json & request,
                                           const ChatRequestOptions & options = {});

// Parses request text first. Errors: invalid_argument for malformed JSON (with the parser's
// position), then as above.
Result<ChatRequest> chat_request_parse(std::string_view request_text,
                                       const ChatRequestOptions & options = {});

}  // namespace gemma::chat
