// Parses and validates OpenAI request bodies (/v1/chat/completions, /v1/completions) into a
// CompletionJob plus the response options the HTTP layer handles itself (stream, stop, usage).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/chat_service.h"
#include "server/http_errors.h"
#include "server/media.h"
#include "server/request_fields.h"

namespace gemdesk::server {

struct ApiRequest {
    CompletionJob job;
    std::string model;  // "" when the client sent none
    bool stream = false;
    bool include_usage = false;     // stream_options.include_usage
    std::vector<std::string> stop;  // applied to content by the server
    bool logprobs = false;
};

// 400 for malformed fields (naming the field), 422 for well-formed requests this server cannot
// honour (n > 1, a named tool_choice that is not declared, tool_choice "required" without tools).
ApiResult<ApiRequest> parse_chat_request(const nlohmann::json & body, const MediaPolicy & media);
ApiResult<ApiRequest> parse_completion_request(const nlohmann::json & body);

// Shared with the Anthropic parser: max_tokens bound and the common sampling fields.
inline constexpr long long kMaxTokensLimit = 1 << 20;
void read_sampling(FieldReader & r, SamplingParams & out);

// A tool_choice that asks for a call needs tools, and a named one a tool of that name (422 naming
// `param`); shared by the OpenAI and Anthropic request parsers.
std::optional<ApiError> check_tool_choice(const CompletionJob & job, const std::string & param);

}  // namespace gemdesk::server
