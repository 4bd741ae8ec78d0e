// The compiled grammar behind schema-constrained decoding: JSON Schema (response_format
// json_schema, tool parameters) turned into a small graph of value nodes and literal tries, in
// either JSON syntax or Gemma's tool-call syntax (`call:NAME{key:value,...}` with `<|"|>` strings,
// spec §3.2). constraint_matcher.h walks it symbol by symbol; nothing here knows about tokens.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/chat_types.h"

namespace gemma::runtime::cg {

// Input symbols: bytes 0..255, then the control tokens the grammars use. Control tokens are whole
// symbols: a grammar never accepts them spelled out in ordinary pieces.
enum Sym : int32_t {
    kQuote = 256,      // <|"|>          Gemma string delimiter
    kCallOpen = 257,   // <|tool_call>
    kCallClose = 258,  // <tool_call|>
    kChanOpen = 259,   // <|channel>     opens a thought
    kChanClose = 260,  // <channel|>     closes it
    kCallsEnd = 261,   // <|tool_response> after the last call (a stop token)
    kNumSyms = 262
};
using SymSet = std::bitset<kNumSyms>;

enum class Syntax : uint8_t { json, gemma };

// Limits that keep states small and fixed-size; schemas beyond them are rejected (unsupported).
constexpr int kMaxDepth = 24;          // nested values, including free-form ("any") ones
constexpr int kMaxProps = 64;          // declared properties per object
constexpr int kMaxWsRun = 40;          // consecutive whitespace bytes (JSON syntax only)
constexpr int kMaxIntDigits = 15;      // integer part of a number
constexpr int kMaxFracDigits = 15;     // fraction / exponent digits
constexpr int kMaxBoundedDigits = 15;  // integer + fraction digits of a bounded number

// A trie over symbol sequences (enum literals, object keys, "call:NAME"). Node 0 of each trie is
// its root; `value` >= 0 marks the end of a sequence (literal index, property, tool).
struct TrieNode {
    std::vector<std::pair<int32_t, int32_t>> next;  // (symbol, child), sorted by symbol
    int32_t value = -1;
    int32_t depth = 0;
    int32_t min_rest = 0;  // fewest symbols to reach an end below (plus its value's extra cost)
    uint64_t mask = 0;     // key tries: properties whose keys pass through here
};

struct Prop {
    std::string name;
    int32_t node = -1;
    int32_t key_len =
        0;              // symbols of its key sequence (JSON "name"; Gemma name: / <|"|>name<|"|>:)
    int32_t entry = 0;  // key_len + separator + the value's min cost
};

struct Node {
    enum class Kind : uint8_t { object, array, string, number, integer, literal, union_ };
    Kind kind = Kind::union_;
    // object: declared properties (key trie `keys`), or free-form keys when `extra` >= 0
    std::vector<Prop> props;
    uint64_t required = 0;
    int32_t keys = -1;   // trie root of declared keys
    int32_t extra = -1;  // free keys: node of every value
    // array
    int32_t items = -1;
    int32_t min_items = 0, max_items = -1;
    // number / integer bounds (minimum, maximum, exclusive*); with bounds, numbers have at most
    // kMaxBoundedDigits digits in all and no exponent, so every check is exact in doubles
    bool bounded = false;
    double lo = 0, hi = 0;  // -inf / +inf when absent
    bool lo_x = false, hi_x = false;
    // string (lengths in code points)
    int32_t min_len = 0, max_len = -1;
    // literal: trie root of the allowed sequences (enum, const, true/false/null)
    int32_t lits = -1;
    // union: branches with pairwise disjoint first symbols
    std::vector<int32_t> branches;
    bool container = false;  // object / array (depth-limited)
    SymSet starts;           // symbols a value of this node can begin with
    int32_t min_cost = 0;    // fewest symbols of a complete value
};

struct Tool {
    std::string name;
    int32_t params = -1;  // object node of its arguments
};

// One grammar per request; immutable once built, shared by the matcher.
struct Grammar {
    Syntax syntax = Syntax::json;
    std::vector<Node> nodes;
    std::vector<TrieNode> trie;
    // json_value mode: one value of `root`, then done.
    int32_t root = -1;
    // tool mode: [thought] <|tool_call>call:NAME{args}<tool_call|> repeated up to max_calls.
    std::vector<Tool> tools;
    int32_t names = -1;  // trie over "call:NAME" for each tool
    int max_calls = 1;
    int32_t min_call_cost = 0;
    // Output may open with a thought (<|channel>…<channel|>); start_in_thought: the prompt already
    // opened it (post-tool cue), so output begins inside it.
    bool allow_thought = false;
    bool start_in_thought = false;
    // Texts that must never appear inside free text (strings, thoughts), because the output
    // parser would read them as control tokens; each starts with '<' and has no other '<'.
    std::vector<std::string> delimiters;
    std::vector<TrieNode> delim_trie;  // built from `delimiters` by grammar_finish()
    // Internal nodes every grammar has (see grammar_begin()).
    int32_t any = -1, key_string = -1;

    bool tool_mode() const { return names >= 0; }
};

struct GrammarOptions {
    Syntax syntax = Syntax::json;
    bool allow_thought = false;
    bool start_in_thought = false;
    std::vector<std::string> delimiters;
};

// response_format: one JSON value. `schema` null means any JSON object (json_object); otherwise
// the root must be an object or an array. Errors: unsupported (a keyword constrained decoding
// cannot enforce, e.g. `pattern`, named with its path), invalid_argument (a malformed schema).
Result<std::shared_ptr<const Grammar>> grammar_for_json(const chat::Json * schema,
                                                        GrammarOptions options);

// tool_choice required / named: calls to one of `tools` (already filtered to the allowed names)
// whose arguments satisfy each tool's `parameters` schema. Errors as grammar_for_json, plus
// invalid_argument for an empty list or a name the call syntax cannot carry.
Result<std::shared_ptr<const Grammar>> grammar_for_tools(
    const std::vector<chat::ToolDeclaration> & tools, int max_calls, GrammarOptions options);

}  // namespace gemma::runtime::cg
