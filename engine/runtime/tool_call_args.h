// Gemma 4 tool-call syntax -> JSON: `NAME{key:value,...}` where strings are `<|"|>raw<|"|>`,
// keys are bare, and values are numbers, true/false/null, nested objects or arrays (spec §3.2),
// plus the recovery tolerances of spec §3.6 (JSON "x" / Python 'x' strings, `=` separators,
// quoted keys, and -- when the call was closed by a token -- an unterminated last string or
// missing closing brackets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "runtime/chat_types.h"

namespace gemma::chat {

struct GemmaCall {
    std::string name;
    Json arguments;  // always an object
};

// Parses the text that follows `call:` (e.g. `get_weather{city:<|"|>Paris<|"|>}`), allowing
// whitespace around it. `repair` closes an unterminated final string and missing `}`/`]` (use it
// only when a closing token proved the call finished). A bare `NAME` without braces means {}.
// Errors: invalid_argument naming the problem (bad name, unexpected character at offset N).
Result<GemmaCall> tool_call_parse(std::string_view text, bool repair);

// Parses one Gemma value (object, array, string, number, literal) filling the whole text.
Result<Json> tool_value_parse(std::string_view text, bool repair);

// For a bare `NAME{...` recovered without `<|tool_call>`: the offset just past the `}` that closes
// the top-level object (ignoring braces inside `<|"|>` strings), or nullopt while still open.
std::optional<size_t> tool_call_object_end(std::string_view text);

// The argument JSON as OpenAI's `function.arguments` string (compact; invalid UTF-8 replaced).
std::string tool_args_dump(const Json & arguments);

}  // namespace gemma::chat
