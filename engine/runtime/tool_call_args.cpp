// Recursive-descent parser for Gemma 4 tool-call arguments (tool_call_args.h).
#include "runtime/tool_call_args.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace gemma::chat {
namespace {

constexpr std::string_view kQuote = "<|\"|>";

struct ParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_ws(std::string_view s) {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

// A bare scalar: literal, JSON-style number (leading-zero integers such as 01234 stay strings so
// no digits are lost; a trailing dot "108." is a float), or else the text itself as a string.
Json bare_scalar(std::string_view s) {
    if (iequals(s, "true")) return true;
    if (iequals(s, "false")) return false;
    if (iequals(s, "null") || iequals(s, "none") || iequals(s, "nil")) return nullptr;
    size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    size_t int_begin = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    size_t n_int = i - int_begin;
    bool is_float = false;
    if (i < s.size() && s[i] == '.') {
        is_float = true;
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    }
    if (n_int > 0 && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        size_t exp_begin = j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j > exp_begin) {
            is_float = true;
            i = j;
        }
    }
    bool leading_zero = n_int > 1 && s[int_begin] == '0';
    if (i != s.size() || n_int == 0 || leading_zero) return std::string(s);
    std::string num(s);
    if (!is_float) {
        int64_t v = 0;
        auto r = std::from_chars(num.data(), num.data() + num.size(), v);
        if (r.ec == std::errc() && r.ptr == num.data() + num.size()) return v;
    }
    return std::strtod(num.c_str(), nullptr);
}

class Parser {
public:
    Parser(std::string_view text, bool repair) : s_(text), repair_(repair) {}

    Json value() {
        skip_ws();
        if (eof()) fail("expected a value");
        if (starts(kQuote)) return gemma_string();
        char c = s_[pos_];
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return json_string();
        if (c == '\'') return python_string();
        return bare();
    }

    void expect_end() {
        skip_ws();
        if (!eof()) fail("unexpected text after the value");
    }

    size_t pos() const { return pos_; }

private:
    [[noreturn]] void fail(const std::string & what) const {
        throw ParseError(what + " at offset " + std::to_string(pos_));
    }
    bool eof() const { return pos_ >= s_.size(); }
    bool starts(std::string_view t) const { return s_.substr(pos_).substr(0, t.size()) == t; }
    void skip_ws() {
        while (!eof() && is_ws(s_[pos_])) ++pos_;
    }

    std::string gemma_string() {
        pos_ += kQuote.size();
        size_t end = s_.find(kQuote, pos_);
        if (end == std::string_view::npos) {
            if (!repair_) fail("unterminated <|\"|> string");
            end = s_.size();
        }
        std::string out(s_.substr(pos_, end - pos_));
        pos_ = std::min(s_.size(), end + kQuote.size());
        return out;
    }

    // Recovery: a JSON "..." string (escapes decoded when valid, raw otherwise).
    std::string json_string() {
        size_t start = pos_++;
        while (!eof() && s_[pos_] != '"') pos_ += s_[pos_] == '\\' ? 2 : 1;
        if (eof()) {
            if (!repair_) fail("unterminated \" string");
            pos_ = s_.size();
            return std::string(s_.substr(start + 1));
        }
        ++pos_;
        std::string_view quoted = s_.substr(start, pos_ - start);
        Json j = Json::parse(quoted, nullptr, false);
        if (j.is_string()) return j.get<std::string>();
        return std::string(quoted.substr(1, quoted.size() - 2));
    }

    // Recovery: a Python '...' string with \\ \' \n \t escapes.
    std::string python_string() {
        ++pos_;
        std::string out;
        while (!eof() && s_[pos_] != '\'') {
            char c = s_[pos_++];
            if (c == '\\' && !eof()) {
                char e = s_[pos_++];
                out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
            } else {
                out += c;
            }
        }
        if (eof() && !repair_) fail("unterminated ' string");
        if (!eof()) ++pos_;
        return out;
    }

    Json bare() {
        size_t start = pos_;
        while (!eof() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']') ++pos_;
        std::string_view text = trim_ws(s_.substr(start, pos_ - start));
        if (text.empty()) fail("expected a value");
        return bare_scalar(text);
    }

    std::string key() {
        skip_ws();
        if (starts(kQuote)) return gemma_string();
        if (!eof() && s_[pos_] == '"') return json_string();
        if (!eof() && s_[pos_] == '\'') return python_string();
        size_t start = pos_;
        while (!eof() && s_[pos_] != ':' && s_[pos_] != '=' && s_[pos_] != '}' && s_[pos_] != ',')
            ++pos_;
        std::string_view k = trim_ws(s_.substr(start, pos_ - start));
        if (k.empty()) fail("expected a key");
        return std::string(k);
    }

    // Shared by objects and arrays: after an item, `,` continues and `close` ends; at the end of
    // the text a repair closes the container. Returns true when the container ended.
    bool after_item(char close) {
        skip_ws();
        if (eof()) {
            if (!repair_) fail(std::string("missing '") + close + "'");
            return true;
        }
        if (s_[pos_] == close) {
            ++pos_;
            return true;
        }
        if (s_[pos_] != ',') fail(std::string("expected ',' or '") + close + "'");
        ++pos_;
        return false;
    }

    // An empty container or a trailing comma before the close.
    bool at_close(char close) {
        skip_ws();
        if (eof() && repair_) return true;
        if (!eof() && s_[pos_] == close) {
            ++pos_;
            return true;
        }
        return false;
    }

    Json object() {
        ++pos_;
        Json obj = Json::object();
        if (at_close('}')) return obj;
        while (true) {
            std::string k = key();
            skip_ws();
            if (eof() || (s_[pos_] != ':' && s_[pos_] != '='))
                fail("expected ':' after key '" + k + "'");
            ++pos_;
            obj[k] = value();
            if (after_item('}') || at_close('}')) return obj;
        }
    }

    Json array() {
        ++pos_;
        Json arr = Json::array();
        if (at_close(']')) return arr;
        while (true) {
            arr.push_back(value());
            if (after_item(']') || at_close(']')) return arr;
        }
    }

    std::string_view s_;
    size_t pos_ = 0;
    bool repair_;
};

bool is_name_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '-' || c == '.' || u >= 0x80;
}

}  // namespace

Result<Json> tool_value_parse(std::string_view text, bool repair) {
    try {
        Parser p(text, repair);
        Json v = p.value();
        p.expect_end();
        return v;
    } catch (const ParseError & e) {
        return make_error(ErrorCode::invalid_argument, std::string("tool-call value: ") + e.what());
    }
}

Result<GemmaCall> tool_call_parse(std::string_view text, bool repair) {
    std::string_view t = trim_ws(text);
    size_t brace = t.find('{');
    std::string_view name = trim_ws(t.substr(0, brace));
    bool name_ok = !name.empty();
    for (char c : name) name_ok = name_ok && is_name_char(c);
    if (!name_ok) {
        return make_error(
            ErrorCode::invalid_argument,
            "tool call: '" + std::string(name.substr(0, 64)) + "' is not a function name");
    }
    GemmaCall call{std::string(name), Json::object()};
    if (brace == std::string_view::npos) {
        if (!repair)
            return make_error(ErrorCode::invalid_argument, "tool call: missing '{' after the name");
        return call;
    }
    auto args = tool_value_parse(t.substr(brace), repair);
    if (!args.ok()) return args.error();
    if (!args->is_object())
        return make_error(ErrorCode::invalid_argument, "tool call: arguments are not an object");
    call.arguments = std::move(*args);
    return call;
}

std::optional<size_t> tool_call_object_end(std::string_view text) {
    size_t i = text.find('{');
    if (i == std::string_view::npos) return std::nullopt;
    int depth = 0;
    bool in_string = false;
    while (i < text.size()) {
        if (text.substr(i, kQuote.size()) == kQuote) {
            in_string = !in_string;
            i += kQuote.size();
            continue;
        }
        char c = text[i++];
        if (in_string) continue;
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return i;
    }
    return std::nullopt;
}

std::string tool_args_dump(const Json & arguments) {
    return arguments.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace gemma::chat
