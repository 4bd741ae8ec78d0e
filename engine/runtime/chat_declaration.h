// Tool declarations as the Gemma 4 July template writes them inside the system turn:
// `declaration:NAME{description:<|"|>…<|"|>,parameters:{properties:{…},required:[…],type:…}}`,
// including its JSON-schema subset (nested objects, arrays, enums, nullable) and its quirks.
#pragma once

#include <string>

#include "core/status.h"
#include "runtime/chat_types.h"

namespace gemma::chat {

// The text between `<|tool>` and `<tool|>` for one tool, already trimmed as the template does.
// Errors (invalid_argument) where the template itself fails: a non-object `parameters`, a
// non-object `parameters.properties`, a `required`/`items.type` that is not a list or string.
Result<std::string> chat_render_tool_declaration(const ToolDeclaration & tool);

}  // namespace gemma::chat
