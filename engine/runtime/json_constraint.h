// Constrained decoding to JSON (response_format json_object / json_schema, tool arguments): a
// character-level pushdown checker that accepts exactly the prefixes of valid JSON texts, and a
// Constraint that allows a token only when its whole text keeps the output such a prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/scheduler.h"

namespace gemma::runtime {

// Copyable state; feed() leaves it unchanged when it returns false.
class JsonPrefix {
public:
    explicit JsonPrefix(bool object_only = false) : object_only_(object_only) {}
    // Whether c can continue the text read so far toward a valid JSON value.
    bool feed(char c);
    bool feed(std::string_view s);
    // A complete top-level value has been read (a number counts once something ends it or the
    // text could end here).
    bool complete() const;
    // A complete top-level value that something has terminated (closing bracket, quote, literal
    // end, or whitespace after a number): nothing but whitespace may follow.
    bool finished() const { return stack_.empty() && st_ == St::done; }

private:
    enum class St : uint8_t {
        value,
        obj_key_or_end,
        obj_key,
        colon,
        after_value,
        arr_value_or_end,
        str,
        str_esc,
        str_hex,
        num_sign,
        num_zero,
        num_int,
        num_dot,
        num_frac,
        num_e,
        num_esign,
        num_exp,
        literal,
        done
    };
    bool step(char c);
    bool begin_value(char c);
    bool end_value();
    bool number_char(char c, bool & consumed);

    bool object_only_;
    St st_ = St::value;
    std::string stack_;  // '{' / '[' per open container
    bool str_is_key_ = false;
    int hex_left_ = 0;
    const char * lit_ = "";  // remaining characters of true/false/null
};

// Output must be one JSON value (an object when object_only), then generation ends. `texts[id]`
// is each token's decoded text; tokens with empty text (control tokens) are never allowed.
class JsonConstraint : public Constraint, public TokenFilter {
public:
    JsonConstraint(std::shared_ptr<const std::vector<std::string>> texts, bool object_only)
        : texts_(std::move(texts)), state_(object_only) {}

    const TokenFilter * filter() override { return this; }
    bool allows(int32_t id) const override;
    void accept(int32_t id) override;
    bool done() const override { return state_.finished(); }

private:
    std::shared_ptr<const std::vector<std::string>> texts_;
    JsonPrefix state_;
};

// Output must start with the tokens `ids` (e.g. the <|tool_call> control token, which must not be
// spelled out in ordinary pieces), then with the text `prefix` (e.g. "call:" for
// tool_choice=required), then is free. Token texts as for JsonConstraint.
class PrefixConstraint : public Constraint, public TokenFilter {
public:
    PrefixConstraint(std::shared_ptr<const std::vector<std::string>> texts,
                     std::vector<int32_t> ids, std::string prefix)
        : texts_(std::move(texts)), ids_(std::move(ids)), prefix_(std::move(prefix)) {}

    const TokenFilter * filter() override {
        return n_ids_ < ids_.size() || pos_ < prefix_.size() ? this : nullptr;
    }
    bool allows(int32_t id) const override;
    void accept(int32_t id) override;
    bool done() const override { return false; }

private:
    std::shared_ptr<const std::vector<std::string>> texts_;
    std::vector<int32_t> ids_;
    size_t n_ids_ = 0;  // forced ids emitted
    std::string prefix_;
    size_t pos_ = 0;
};

}  // namespace gemma::runtime
