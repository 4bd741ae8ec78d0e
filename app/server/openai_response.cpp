// Building OpenAI response JSON from the server's filtered events.
#include "server/openai_response.h"

namespace gemdesk::server {

using nlohmann::json;

void ChatAccumulator::add(const Event & delta) {
    switch (delta.kind) {
        case Event::Kind::content:
            content_ += delta.text;
            has_content_ = has_content_ || !delta.text.empty();
            logprobs_.insert(logprobs_.end(), delta.logprobs.begin(), delta.logprobs.end());
            break;
        case Event::Kind::reasoning:
            reasoning_ += delta.text;
            break;
        case Event::Kind::tool_call:
            tool_calls_.push_back(delta.tool_call);
            break;
        default:
            break;
    }
}

json ChatAccumulator::message() const {
    json m = {{"role", "assistant"}, {"content", has_content_ ? json(content_) : json()}};
    json reasoning = reasoning_.empty() ? json() : json(reasoning_);
    m["reasoning"] = reasoning;
    m["reasoning_content"] = reasoning;
    if (!tool_calls_.empty()) {
        json calls = json::array();
        for (const auto & c : tool_calls_)
            calls.push_back({{"id", c.id},
                             {"type", "function"},
                             {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
        m["tool_calls"] = calls;
    }
    return m;
}

json ChatAccumulator::logprobs() const { return logprobs_json(logprobs_); }

json usage_json(const Usage & usage) {
    return {{"prompt_tokens", usage.prompt_tokens},
            {"completion_tokens", usage.completion_tokens},
            {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
            {"completion_tokens_details", {{"reasoning_tokens", usage.reasoning_tokens}}}};
}

namespace {
json bytes_of(const std::string & s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(int(c));
    return b;
}
}  // namespace

json logprobs_json(const std::vector<TokenLogprob> & tokens) {
    json content = json::array();
    for (const auto & t : tokens) {
        json top = json::array();
        for (const auto & [tok, lp] : t.top)
            top.push_back({{"token", tok}, {"logprob", lp}, {"bytes", bytes_of(tok)}});
        content.push_back({{"token", t.token},
                           {"logprob", t.logprob},
                           {"bytes", bytes_of(t.token)},
                           {"top_logprobs", top}});
    }
    return {{"content", content}};
}

json completion_logprobs_json(const std::vector<TokenLogprob> & tokens, size_t text_offset) {
    json out = {{"tokens", json::array()},
                {"token_logprobs", json::array()},
                {"top_logprobs", json::array()},
                {"text_offset", json::array()}};
    for (const auto & t : tokens) {
        out["tokens"].push_back(t.token);
        out["token_logprobs"].push_back(t.logprob);
        json top = json::object();
        for (const auto & [tok, lp] : t.top) top[tok] = lp;
        out["top_logprobs"].push_back(top);
        out["text_offset"].push_back(text_offset);
        text_offset += t.token.size();
    }
    return out;
}

std::vector<json> chat_deltas(const Event & delta, int tool_index) {
    switch (delta.kind) {
        case Event::Kind::content:
            return {{{"content", delta.text}}};
        case Event::Kind::reasoning:
            return {{{"reasoning", delta.text}, {"reasoning_content", delta.text}}};
        case Event::Kind::tool_call: {
            const ToolCall & c = delta.tool_call;
            json header = {{"index", tool_index},
                           {"id", c.id},
                           {"type", "function"},
                           {"function", {{"name", c.name}, {"arguments", ""}}}};
            json args = {{"index", tool_index}, {"function", {{"arguments", c.arguments}}}};
            return {{{"tool_calls", json::array({header})}}, {{"tool_calls", json::array({args})}}};
        }
        default:
            return {};
    }
}

json chat_chunk(const ChunkHeader & h, const json & delta, const json & finish_reason,
                const json & logprobs) {
    json choice = {
        {"index", 0}, {"delta", delta}, {"logprobs", logprobs}, {"finish_reason", finish_reason}};
    return {{"id", h.id},
            {"object", "chat.completion.chunk"},
            {"created", h.created},
            {"model", h.model},
            {"choices", json::array({choice})}};
}

json text_chunk(const ChunkHeader & h, const std::string & text, const json & finish_reason,
                const json & logprobs) {
    json choice = {
        {"index", 0}, {"text", text}, {"logprobs", logprobs}, {"finish_reason", finish_reason}};
    return {{"id", h.id},
            {"object", "text_completion"},
            {"created", h.created},
            {"model", h.model},
            {"choices", json::array({choice})}};
}

}  // namespace gemdesk::server
