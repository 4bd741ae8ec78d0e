// Parses Anthropic Messages API requests (POST /v1/messages) into the same normalized
// CompletionJob as the OpenAI routes: system, text/image/tool_use/tool_result/thinking blocks,
// tools with input_schema, tool_choice auto/any/tool/none, thinking on/off, stop_sequences.
#pragma once

#include <nlohmann/json.hpp>

#include "server/media.h"
#include "server/openai_request.h"

namespace gemdesk::server {

// 400 naming the field for malformed requests (Anthropic requires max_tokens).
ApiResult<ApiRequest> parse_anthropic_request(const nlohmann::json & body,
                                              const MediaPolicy & media);

}  // namespace gemdesk::server
