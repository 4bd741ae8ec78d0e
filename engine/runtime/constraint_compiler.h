// Private to the constraint grammar: the JSON Schema compiler (constraint_schema.cpp), used by
// the grammar builders (constraint_build.cpp). Appends nodes and tries to one Grammar.
#pragma once

#include <cctype>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/constraint_grammar.h"

namespace gemma::runtime::cg {

// Bytes allowed in tool names and bare keys (the call parser's name characters).
inline bool is_name_byte(unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c >= 0x80;
}

inline std::vector<int32_t> bytes_of(const std::string & s) {
    std::vector<int32_t> out;
    for (unsigned char c : s) out.push_back(c);
    return out;
}

// Compiles schemas into `g`. Errors: unsupported (a keyword we cannot enforce, named with its
// JSON path), invalid_argument (a malformed or unsatisfiable schema).
class SchemaCompiler {
public:
    explicit SchemaCompiler(Grammar & g) : g_(g) {}

    void begin();
    Result<int32_t> compile(const chat::Json & s, const std::string & path, int depth);
    Result<std::vector<int32_t>> string_seq(const std::string & s, const std::string & path);
    int32_t add(Node n) {
        g_.nodes.push_back(std::move(n));
        return int32_t(g_.nodes.size() - 1);
    }
    // Builds one trie from (sequence, value) pairs; `extra(value)` adds to min_rest at an end.
    int32_t build_trie(const std::vector<std::pair<std::vector<int32_t>, int32_t>> & seqs,
                       const std::function<int32_t(int32_t)> & extra, bool key_masks);

private:
    Result<int32_t> compile_typed(const chat::Json & s, const std::string & type,
                                  const std::string & path, int depth);
    Result<int32_t> compile_object(const chat::Json & s, const std::string & path, int depth);
    Result<int32_t> compile_array(const chat::Json & s, const std::string & path, int depth);
    Result<int32_t> compile_literals(const std::vector<chat::Json> & values,
                                     const std::string & path);
    Result<int32_t> make_union(std::vector<int32_t> branches, const std::string & path);
    Result<std::vector<int32_t>> key_seq(const std::string & name, const std::string & path);
    Status check_keywords(const chat::Json & s, const std::string & path) const;

    Grammar & g_;
};

}  // namespace gemma::runtime::cg
