// Builds the decoding constraint of a chat request: tool_choice required / named (a valid call in
// Gemma's syntax whose arguments satisfy the tool's schema) or response_format (JSON matching the
// schema), optionally after a thought, always finishing within the token budget.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/chat_types.h"
#include "runtime/constraint_token.h"
#include "tokenizer/tokenizer.h"

namespace gemma::runtime {

struct ChatConstraintSpec {
    enum class Kind { none, json, tools };
    Kind kind = Kind::none;
    const chat::Json * schema = nullptr;       // json: the schema; null = any JSON object
    std::vector<chat::ToolDeclaration> tools;  // tools: the ones the reply may call
    int max_calls = 1;
    bool allow_thought = false;     // enable_thinking: a thought may come first
    bool start_in_thought = false;  // the prompt ends inside an open thought
    int budget = -1;                // tokens the reply may take; -1 unlimited
};

// The grammar's control tokens and delimiters, found by their tokenizer_config.json names.
// `texts` holds every id's bytes (control tokens: their text).
std::shared_ptr<const ConstraintVocab> constraint_vocab_for(const tok::Tokenizer & tok,
                                                            std::vector<std::string> texts);

// nullptr for Kind::none. Errors: unsupported (a schema keyword or feature constrained decoding
// cannot enforce; the message names it), invalid_argument (malformed schema, a tool name the call
// syntax cannot carry, a vocabulary without the needed control tokens, or a budget smaller than
// the shortest valid reply).
Result<std::shared_ptr<GrammarConstraint>> chat_constraint_make(
    const ChatConstraintSpec & spec, std::shared_ptr<const ConstraintVocab> vocab);

}  // namespace gemma::runtime
