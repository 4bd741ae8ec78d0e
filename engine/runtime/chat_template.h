// Native rendering of the Gemma 4 chat template (the 2026-07-09 "July" revision): chat request
// structs -> the exact prompt text Jinja2 would produce from chat_template.jinja, without a Jinja
// engine. Also: loading and recognising a checkpoint's template text. Spec: gemma4-chat-protocol
// §2.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "runtime/chat_types.h"

namespace gemma::chat {

// What the native renderer needs to know about the checkpoint's own template text.
struct TemplateInfo {
    // Large-model variant (26B/31B): with thinking off the generation prompt also opens and closes
    // an empty thought block, `<|turn>model\n<|channel>thought\n<channel|>`. E2B/E4B: false.
    bool empty_thought_when_off = false;
    // The template has the July revision's markers (preserve_thinking, string-arguments error).
    // Older revisions render differently; the native renderer always follows July.
    bool july_revision = true;
};

// Checks that `template_text` is a Gemma 4 chat template and detects its variant.
// Errors: unsupported when it is not a Gemma 4 template (no <|turn> / <|tool_call> markers).
Result<TemplateInfo> chat_template_inspect(std::string_view template_text);

// Reads DIR/chat_template.jinja, or else the "chat_template" field of DIR/tokenizer_config.json.
// Errors: not_found (neither present), corrupt_file (unreadable / malformed JSON).
Result<std::string> chat_template_load(const std::string & model_dir);

// Renders the prompt, starting with "<bos>". Errors (invalid_argument) exactly where the template
// raises, e.g. tool-call arguments given as a string (message text identical to the template's
// raise_exception), plus malformed tool schemas the template cannot iterate.
Result<std::string> chat_render(const ChatRequest & request, const TemplateInfo & info = {});

// The template's strip_thinking on assistant text: removes every `<|channel>…<channel|>` span
// (and stray `<channel|>` markers), then trims.
std::string chat_strip_thinking(std::string_view text);

}  // namespace gemma::chat
