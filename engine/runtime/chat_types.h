// Native structs for a chat request (messages, content parts, tool declarations, tool calls)
// and for a parsed model reply. The renderer and the output parser work on these, never on raw
// request JSON; tool schemas, arguments and tool results stay JSON values because they are JSON.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gemma::chat {

// Insertion-ordered JSON: the template sorts keys itself (case-insensitively, stable), so ties and
// Python-style reprs need the client's key order.
using Json = nlohmann::ordered_json;

// One part of a list-form message content. `type` keeps the client's string: the template maps
// text, image/image_url, audio/input_audio and video; other types render nothing.
struct ContentPart {
    std::string type;
    std::string text;  // the part's "text" (empty when absent)
};

// Message content is a string, a list of parts, or absent/null: the template treats each
// differently (a string is trimmed as a whole, parts one by one).
struct MessageContent {
    enum class Kind { none, text, parts };
    Kind kind = Kind::none;
    std::string text;                // Kind::text
    std::vector<ContentPart> parts;  // Kind::parts
};

// An assistant tool call from the history. `arguments` is what the client sent: an object (the
// normal case), null (renders `{}`), or anything else, which the template rejects.
struct ToolCall {
    std::optional<std::string> id;
    std::string name;
    Json arguments;
};

// Legacy Gemma-native `tool_responses` entry on an assistant message.
struct ToolResponse {
    std::string name;  // empty renders as "unknown"
    Json response;     // mapping -> key:value pairs; anything else -> {value:...}
};

// One chat message. `role` is kept verbatim ("assistant" renders as "model"). `reasoning` is the
// first non-empty of the client's `reasoning` / `reasoning_content`.
struct ChatMessage {
    std::string role;
    MessageContent content;
    std::string reasoning;
    std::vector<ToolCall> tool_calls;
    std::vector<ToolResponse> tool_responses;
    std::string name;  // role "tool": optional function name (empty when absent)
    bool has_tool_call_id = false;
    std::string tool_call_id;  // role "tool": id of the call it answers
    // role "tool" with non-text content (number, bool...): rendered through the JSON formatter.
    std::optional<Json> tool_body;
};

// An OpenAI function tool. `parameters` is the JSON schema as sent (null when absent);
// `description` is already the text the template prints (Python str() of a non-string value).
struct ToolDeclaration {
    std::string name;
    std::string description;
    Json parameters;
    bool has_response = false;
    Json response;
};

// Everything the chat template reads. Defaults follow the template (thinking off) and the
// OpenAI server convention (generation prompt on).
struct ChatRequest {
    std::vector<ChatMessage> messages;
    std::vector<ToolDeclaration> tools;
    bool add_generation_prompt = true;
    bool enable_thinking = false;
    bool preserve_thinking = false;
};

// A tool call produced by the model, OpenAI-shaped: `arguments` is a JSON text.
struct ParsedToolCall {
    int index = 0;   // 0, 1, 2... in emission order
    std::string id;  // "chatcmpl-tool-" + 32 hex digits
    std::string name;
    std::string arguments;
};

// A parsed model reply. Empty `content` / `reasoning` map to JSON null in the API.
struct ParsedReply {
    std::string content;
    std::string reasoning;
    std::vector<ParsedToolCall> tool_calls;
};

}  // namespace gemma::chat
