// JsonPrefix: the RFC 8259 grammar as a pushdown automaton over characters (strings with escapes
// and \uXXXX, numbers, literals, nested objects/arrays); JsonConstraint / PrefixConstraint on top.
#include "runtime/json_constraint.h"

#include <cctype>

namespace gemma::runtime {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool JsonPrefix::feed(char c) {
    JsonPrefix saved = *this;
    if (step(c)) return true;
    *this = saved;
    return false;
}

bool JsonPrefix::feed(std::string_view s) {
    JsonPrefix saved = *this;
    for (char c : s)
        if (!step(c)) {
            *this = saved;
            return false;
        }
    return true;
}

bool JsonPrefix::complete() const {
    if (!stack_.empty()) return false;
    switch (st_) {
        case St::done:
            return true;
        case St::num_zero:
        case St::num_int:
        case St::num_frac:
        case St::num_exp:
            return true;
        default:
            return false;
    }
}

// A value starts with c (whitespace already skipped).
bool JsonPrefix::begin_value(char c) {
    if (object_only_ && stack_.empty() && c != '{') return false;
    switch (c) {
        case '{':
            stack_.push_back('{');
            st_ = St::obj_key_or_end;
            return true;
        case '[':
            stack_.push_back('[');
            st_ = St::arr_value_or_end;
            return true;
        case '"':
            str_is_key_ = false;
            st_ = St::str;
            return true;
        case '-':
            st_ = St::num_sign;
            return true;
        case '0':
            st_ = St::num_zero;
            return true;
        case 't':
            lit_ = "rue";
            st_ = St::literal;
            return true;
        case 'f':
            lit_ = "alse";
            st_ = St::literal;
            return true;
        case 'n':
            lit_ = "ull";
            st_ = St::literal;
            return true;
        default:
            if (c >= '1' && c <= '9') {
                st_ = St::num_int;
                return true;
            }
            return false;
    }
}

// A value just ended: what may follow depends on the enclosing container.
bool JsonPrefix::end_value() {
    st_ = stack_.empty() ? St::done : St::after_value;
    return true;
}

// Numbers have no terminator: a character that cannot extend one ends it and is then read as
// what follows the value (consumed = false).
bool JsonPrefix::number_char(char c, bool & consumed) {
    consumed = true;
    switch (st_) {
        case St::num_sign:
            if (c == '0') return st_ = St::num_zero, true;
            if (is_digit(c)) return st_ = St::num_int, true;
            return false;
        case St::num_zero:
        case St::num_int:
            if (st_ == St::num_int && is_digit(c)) return true;
            if (c == '.') return st_ = St::num_dot, true;
            if (c == 'e' || c == 'E') return st_ = St::num_e, true;
            break;
        case St::num_dot:
            if (is_digit(c)) return st_ = St::num_frac, true;
            return false;
        case St::num_frac:
            if (is_digit(c)) return true;
            if (c == 'e' || c == 'E') return st_ = St::num_e, true;
            break;
        case St::num_e:
            if (c == '+' || c == '-') return st_ = St::num_esign, true;
            if (is_digit(c)) return st_ = St::num_exp, true;
            return false;
        case St::num_esign:
            if (is_digit(c)) return st_ = St::num_exp, true;
            return false;
        case St::num_exp:
            if (is_digit(c)) return true;
            break;
        default:
            return false;
    }
    consumed = false;
    return end_value();
}

bool JsonPrefix::step(char c) {
    switch (st_) {
        case St::value:
        case St::arr_value_or_end:
            if (is_ws(c)) return true;
            if (st_ == St::arr_value_or_end && c == ']') {
                stack_.pop_back();
                return end_value();
            }
            return begin_value(c);
        case St::obj_key_or_end:
        case St::obj_key:
            if (is_ws(c)) return true;
            if (st_ == St::obj_key_or_end && c == '}') {
                stack_.pop_back();
                return end_value();
            }
            if (c != '"') return false;
            str_is_key_ = true;
            st_ = St::str;
            return true;
        case St::colon:
            if (is_ws(c)) return true;
            if (c != ':') return false;
            st_ = St::value;
            return true;
        case St::after_value:
            if (is_ws(c)) return true;
            if (c == ',') {
                st_ = stack_.back() == '{' ? St::obj_key : St::value;
                return true;
            }
            if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
                stack_.pop_back();
                return end_value();
            }
            return false;
        case St::str:
            if (c == '"') {
                if (str_is_key_) {
                    st_ = St::colon;
                    return true;
                }
                return end_value();
            }
            if (c == '\\') return st_ = St::str_esc, true;
            return static_cast<unsigned char>(c) >= 0x20;  // control characters must be escaped
        case St::str_esc:
            if (c == 'u') {
                hex_left_ = 4;
                st_ = St::str_hex;
                return true;
            }
            if (std::string_view("\"\\/bfnrt").find(c) == std::string_view::npos) return false;
            st_ = St::str;
            return true;
        case St::str_hex:
            if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
            if (--hex_left_ == 0) st_ = St::str;
            return true;
        case St::literal:
            if (*lit_ != c) return false;
            ++lit_;
            if (*lit_ == '\0') return end_value();
            return true;
        case St::done:
            return is_ws(c);
        default: {
            bool consumed = false;
            if (!number_char(c, consumed)) return false;
            return consumed ? true : step(c);
        }
    }
}

bool JsonConstraint::allows(int32_t id) const {
    if (id < 0 || size_t(id) >= texts_->size()) return false;
    const std::string & t = (*texts_)[size_t(id)];
    if (t.empty()) return false;
    JsonPrefix s = state_;
    return s.feed(t);
}

void JsonConstraint::accept(int32_t id) {
    if (id >= 0 && size_t(id) < texts_->size()) (void)state_.feed((*texts_)[size_t(id)]);
}

bool PrefixConstraint::allows(int32_t id) const {
    if (n_ids_ < ids_.size()) return id == ids_[n_ids_];
    if (id < 0 || size_t(id) >= texts_->size()) return false;
    const std::string & t = (*texts_)[size_t(id)];
    if (t.empty()) return false;
    std::string_view rest = std::string_view(prefix_).substr(pos_);
    // The token lies inside the rest of the prefix, or completes it and goes on.
    return rest.starts_with(t) || std::string_view(t).starts_with(rest);
}

void PrefixConstraint::accept(int32_t id) {
    if (n_ids_ < ids_.size()) {
        ++n_ids_;
        return;
    }
    if (id < 0 || size_t(id) >= texts_->size()) return;
    pos_ = std::min(prefix_.size(), pos_ + (*texts_)[size_t(id)].size());
}

}  // namespace gemma::runtime
