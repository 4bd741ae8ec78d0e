// OpenAI response shapes (vLLM flavour, see spec §4.3-4.4): the non-streaming chat message built
// from deltas, streaming chunk deltas, usage and logprobs objects, legacy text completions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/chat_service.h"

namespace gemdesk::server {

// Collects filtered deltas into one assistant message.
class ChatAccumulator {
public:
    void add(const Event & delta);
    // {"role":"assistant","content":...,"reasoning":...,"reasoning_content":...,"tool_calls":[...]}
    nlohmann::json message() const;
    nlohmann::json logprobs() const;  // {"content":[...]}
    const std::string & content() const { return content_; }
    const std::string & reasoning() const { return reasoning_; }
    const std::vector<ToolCall> & tool_calls() const { return tool_calls_; }
    const std::vector<TokenLogprob> & token_logprobs() const { return logprobs_; }

private:
    std::string content_, reasoning_;
    bool has_content_ = false;
    std::vector<ToolCall> tool_calls_;
    std::vector<TokenLogprob> logprobs_;
};

nlohmann::json usage_json(const Usage & usage);
nlohmann::json logprobs_json(const std::vector<TokenLogprob> & tokens);
// Legacy /v1/completions logprobs: {"tokens","token_logprobs","top_logprobs","text_offset"}.
nlohmann::json completion_logprobs_json(const std::vector<TokenLogprob> & tokens,
                                        size_t text_offset);

// The delta objects for one filtered event: one for content/reasoning, two for a tool call
// (header with empty arguments, then the arguments), as vLLM streams them.
std::vector<nlohmann::json> chat_deltas(const Event & delta, int tool_index);

struct ChunkHeader {
    std::string id;
    long long created = 0;
    std::string model;
};
nlohmann::json chat_chunk(const ChunkHeader & h, const nlohmann::json & delta,
                          const nlohmann::json & finish_reason,
                          const nlohmann::json & logprobs = nullptr);
nlohmann::json text_chunk(const ChunkHeader & h, const std::string & text,
                          const nlohmann::json & finish_reason,
                          const nlohmann::json & logprobs = nullptr);

}  // namespace gemdesk::server
