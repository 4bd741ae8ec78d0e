// The pushdown matcher over a constraint grammar: fed one symbol at a time (a byte or a control
// token), it accepts exactly the prefixes of outputs the grammar allows, and knows the fewest
// symbols still needed to finish (min_cost), which lets decoding close every value before the
// token budget runs out.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "runtime/constraint_grammar.h"

namespace gemma::runtime::cg {

// One open value (or the document root). Trivially copyable; 40 bytes.
struct Frame {
    enum class K : uint8_t { root, tools, value, object, array, string, number, literal };
    K k = K::value;
    uint8_t ph = 0;
    uint8_t u8need = 0;  // UTF-8 continuation bytes still due (strings, thoughts)
    uint8_t u8lo = 0x80, u8hi = 0xBF;
    uint8_t hex = 0;   // JSON \u digits still due
    uint8_t ndig = 0;  // digits in the current number part
    uint8_t flag = 0;  // JSON \u: the first hex digit was D (surrogates); number: negative
    int32_t node = -1;
    int32_t t = 0;      // trie node: literal / key / tool name; delimiter trie in free text
    int32_t cur = -1;   // object: property being written; tools: unused
    int32_t count = 0;  // array items, string code points, free key bytes, tool calls made;
                        // number: integer digits
    uint64_t seen = 0;  // object: properties written; number: integer part
    uint64_t aux = 0;   // number: fraction digits as an integer
};

// Bounded numbers (Node::bounded): the fewest symbols that turn the number prefix in `f` into a
// complete number within the bounds (0: it already is one), kBig when none exists.
int32_t number_rest(const Node & n, const Frame & f);
// The same from an empty prefix: the node's min_cost.
int32_t number_min_cost(const Node & n);

// Copyable state; copies only the open frames. The grammar must outlive it. Thread-compatible.
class Matcher {
public:
    Matcher() = default;
    explicit Matcher(const Grammar * g);
    Matcher(const Matcher & o) { *this = o; }
    Matcher & operator=(const Matcher & o);

    // Advances by one symbol; false when the grammar does not allow it (the state is then
    // unspecified: feed a copy when only checking).
    bool feed(int32_t sym);
    bool feed_bytes(std::string_view bytes);
    // The output is complete: nothing more may follow.
    bool done() const;
    // Fewest symbols that complete the output from here (0 when done).
    int32_t min_cost() const;

private:
    enum class Step : uint8_t { ok, reject, refeed };

    Frame & top() { return f_[depth_ - 1]; }
    bool push(Frame f);
    void push_value(int32_t node);
    void pop_done();
    Step step(int32_t sym);
    Step step_root(Frame & f, int32_t sym);
    Step step_tools(Frame & f, int32_t sym);
    Step step_value(Frame & f, int32_t sym);
    Step step_object(Frame & f, int32_t sym);
    Step step_key(Frame & f, int32_t sym);
    Step step_array(Frame & f, int32_t sym);
    Step step_string(Frame & f, int32_t sym);
    Step step_number(Frame & f, int32_t sym);
    Step number_symbol(Frame & f, int32_t sym, const Node & n) const;
    Step step_literal(Frame & f, int32_t sym);
    bool text_byte(Frame & f, uint8_t b);
    int32_t frame_cost(const Frame & f) const;
    int32_t object_cost(const Frame & f) const;
    int32_t key_cost(const Frame & f, int32_t t, uint64_t missing) const;
    int32_t tail(const Node & n, uint64_t missing) const;
    int32_t calls_tail(const Frame & f) const;

    const Grammar * g_ = nullptr;
    uint8_t depth_ = 0;
    uint8_t ws_run_ = 0;
    std::array<Frame, kMaxDepth> f_{};
};

}  // namespace gemma::runtime::cg
