// Gemma 4 model-output parsing (spec §3): a streaming parser fed detokenized text (special tokens
// visible) that splits it into content, reasoning and tool calls, and the non-streaming wrapper.
// Tool calls are buffered until complete and then emitted whole (name + JSON arguments), which
// OpenAI clients accept as one delta (spec §3.5.6).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/chat_types.h"

namespace gemma::chat {

struct ChatParserOptions {
    // The prompt ended inside an open thought channel (the post-tool `<|channel>thought\n` cue):
    // output starts as reasoning. A plain `<|turn>model\n` prompt starts in content.
    bool start_in_reasoning = false;
    // Like start_in_reasoning, but the prompt ended right after `<|channel>`, so the `thought\n`
    // label is still to come.
    bool start_in_reasoning_label = false;
    // Function names for which a bare `call:NAME{…}` (no `<|tool_call>`) is recovered as a call;
    // empty: never (prose mentioning call: stays content).
    std::vector<std::string> declared_tools;
    // Seed for tool-call ids; 0 draws one from std::random_device.
    uint64_t id_seed = 0;
};

// Parser options for a rendered prompt: the initial state from the prompt's tail (spec §3.4).
ChatParserOptions chat_parser_options_for_prompt(std::string_view prompt);

struct ChatEvent {
    enum class Kind { content, reasoning, tool_call };
    Kind kind = Kind::content;
    std::string text;     // content / reasoning delta
    ParsedToolCall call;  // Kind::tool_call
};

// Streaming parser. Rules (spec §3.4-§3.6; choices documented where the spec leaves one open):
// - `<|channel>` opens reasoning; a leading `thought\n` label is dropped (`thousand…` is kept);
//   `<channel|>` closes it. Reasoning and content are trimmed at their ends: trailing whitespace
//   is held back and dropped at a boundary, leading whitespace of the reply's first content (and of
//   the reasoning) is dropped.
// - `<|tool_call>` followed by `call:` (or the recovered `:call:`) starts a call, also from inside
//   reasoning; not followed by `call:` it stays literal text. A call ends at `<tool_call|>`, or in
//   recovery at `<turn|>`, `<eos>`, `<|tool_response>` or the next `<|tool_call>`.
// - `<turn|>`, `<eos>` and `<|tool_response>` end the reply; later text is ignored. A stray
//   `<channel|>` or `<tool_call|>` is swallowed.
// - Unclosed reasoning at the end stays reasoning. An unterminated call at the end is kept as a
//   call only if its text is complete (`{…}` balanced); otherwise its raw text becomes content.
// - A bare `thought\n` at the very start of a content-start reply is dropped (spec P24: the vLLM
//   offline choice; the rest is content).
// - A call whose arguments cannot be parsed becomes content, raw, so nothing is silently lost.
// Results do not depend on how the text is chunked. Thread-compatible.
class ChatOutputParser {
public:
    explicit ChatOutputParser(ChatParserOptions options = {});

    // Feeds the next piece of decoded text; returns the events it completes.
    std::vector<ChatEvent> feed(std::string_view chunk);
    // End of generation: flushes held-back text and any unterminated call.
    std::vector<ChatEvent> finish();
    // A stop marker (<turn|>, <eos>, <|tool_response>) was seen; further input is ignored.
    bool stopped() const { return mode_ == Mode::done; }

private:
    enum class Mode { content, label, reasoning, tool, done };

    void process(bool final, std::vector<ChatEvent> & events);
    bool step_content(bool final, std::vector<ChatEvent> & events);
    bool step_label(bool final);
    bool step_reasoning(bool final, std::vector<ChatEvent> & events);
    bool step_tool(bool final, std::vector<ChatEvent> & events);
    using EmitFn = void (ChatOutputParser::*)(std::string_view, std::vector<ChatEvent> &);
    std::optional<bool> text_until_marker(bool final, EmitFn emit, std::string & ws,
                                          std::vector<ChatEvent> & events,
                                          std::string_view * token);
    int call_opener_length(size_t at, bool final) const;
    void begin_tool_call(size_t n);
    bool bare_call_start(bool final, bool & wait);
    void emit_content(std::string_view text, std::vector<ChatEvent> & events);
    void emit_reasoning(std::string_view text, std::vector<ChatEvent> & events);
    void complete_call(bool closed, std::vector<ChatEvent> & events);
    std::string next_id();

    ChatParserOptions options_;
    Mode mode_ = Mode::content;
    std::string buf_;  // received, not yet consumed
    bool at_output_start_ = true;
    bool content_emitted_ = false;
    bool reasoning_emitted_ = false;
    bool segment_start_ = true;  // where a bare `call:` may begin
    std::string content_ws_;     // held-back trailing whitespace
    std::string reasoning_ws_;
    std::string tool_opener_;  // raw text that opened the current call ("<|tool_call>call:")
    std::string tool_body_;    // text after the opener
    bool tool_bare_ = false;
    int n_calls_ = 0;
    std::mt19937_64 rng_;
};

// Non-streaming: the whole completion at once.
ParsedReply chat_parse_reply(std::string_view text, const ChatParserOptions & options = {});

// Adds one event to a reply (content/reasoning appended, calls pushed).
void chat_reply_apply(ParsedReply & reply, const ChatEvent & event);

// OpenAI finish_reason: "tool_calls" when the reply has calls, else the engine's reason.
std::string chat_finish_reason(const ParsedReply & reply, const std::string & engine_reason);

// The OpenAI message fields (spec §4.3): content / reasoning / reasoning_content (null when
// empty), tool_calls ([] when none) with JSON-string arguments.
Json chat_reply_to_json(const ParsedReply & reply);

// Names of the request's tools, for ChatParserOptions::declared_tools.
std::vector<std::string> chat_tool_names(const ChatRequest & request);

}  // namespace gemma::chat
