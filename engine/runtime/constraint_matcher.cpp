// Matcher: one step function per frame kind. Values without a terminator (numbers, literals such
// as enum numbers) end when a symbol cannot extend them; the frame is then popped and the symbol
// fed again to its parent ("refeed").
#include "runtime/constraint_matcher.h"

#include <algorithm>
#include <bit>

#include "runtime/constraint_phases.h"

namespace gemma::runtime::cg {
namespace {

bool is_ws(int32_t s) { return s == ' ' || s == '\t' || s == '\n' || s == '\r'; }
bool is_digit(int32_t s) { return s >= '0' && s <= '9'; }
bool is_hex(int32_t s) { return is_digit(s) || (s >= 'a' && s <= 'f') || (s >= 'A' && s <= 'F'); }
bool is_key_byte(int32_t s) {
    return (s >= 'a' && s <= 'z') || (s >= 'A' && s <= 'Z') || is_digit(s) || s == '_';
}

int32_t trie_next(const std::vector<TrieNode> & trie, int32_t t, int32_t sym) {
    const auto & next = trie[size_t(t)].next;
    for (const auto & [s, child] : next)
        if (s == sym) return child;
    return -1;
}

}  // namespace

Matcher::Matcher(const Grammar * g) : g_(g) {
    Frame f;
    if (g->tool_mode()) {
        f.k = Frame::K::tools;
        f.ph = g->start_in_thought ? T_THOUGHT : T_PRE;
    } else {
        f.k = Frame::K::root;
        f.ph = g->start_in_thought ? R_THOUGHT : R_PRE;
    }
    f_[0] = f;
    depth_ = 1;
}

Matcher & Matcher::operator=(const Matcher & o) {
    g_ = o.g_;
    depth_ = o.depth_;
    ws_run_ = o.ws_run_;
    std::copy_n(o.f_.begin(), depth_, f_.begin());
    return *this;
}

bool Matcher::push(Frame f) {
    if (depth_ >= kMaxDepth) return false;
    f_[depth_++] = f;
    return true;
}

void Matcher::push_value(int32_t node) {
    Frame f;
    f.k = Frame::K::value;
    f.node = node;
    push(f);  // depth is checked before containers open (step_value)
}

// The top value is complete: pop it and move its parent past it.
void Matcher::pop_done() {
    --depth_;
    Frame & p = top();
    switch (p.k) {
        case Frame::K::root:
            p.ph = R_AFTER;
            break;
        case Frame::K::tools:
            p.ph = T_CLOSE;
            break;
        case Frame::K::object:
            p.ph = p.ph == O_FKEY ? O_COLON : O_AFTER;
            break;
        case Frame::K::array:
            p.ph = A_AFTER;
            break;
        default:
            break;
    }
}

bool Matcher::feed(int32_t sym) {
    const bool ws = g_->syntax == Syntax::json && is_ws(sym);
    if (ws && ws_run_ >= kMaxWsRun) return false;
    for (int guard = 0; guard <= kMaxDepth + 2 && depth_ > 0; ++guard) {
        Step r = step(sym);
        if (r == Step::reject) return false;
        if (r == Step::ok) {
            ws_run_ = ws ? uint8_t(ws_run_ + 1) : 0;
            return true;
        }
    }
    return false;
}

bool Matcher::feed_bytes(std::string_view bytes) {
    for (unsigned char c : bytes)
        if (!feed(c)) return false;
    return true;
}

bool Matcher::done() const {
    const Frame & f = f_[0];
    return depth_ == 1 && (f.k == Frame::K::root ? f.ph == R_AFTER : f.ph == T_DONE);
}

Matcher::Step Matcher::step(int32_t sym) {
    Frame & f = top();
    switch (f.k) {
        case Frame::K::root:
            return step_root(f, sym);
        case Frame::K::tools:
            return step_tools(f, sym);
        case Frame::K::value:
            return step_value(f, sym);
        case Frame::K::object:
            return step_object(f, sym);
        case Frame::K::array:
            return step_array(f, sym);
        case Frame::K::string:
            return step_string(f, sym);
        case Frame::K::number:
            return step_number(f, sym);
        case Frame::K::literal:
            return step_literal(f, sym);
    }
    return Step::reject;
}

// Free text (string bodies, thoughts): valid UTF-8 that never spells a delimiter.
bool Matcher::text_byte(Frame & f, uint8_t b) {
    if (f.u8need > 0) {
        if (b < f.u8lo || b > f.u8hi) return false;
        --f.u8need;
        f.u8lo = 0x80;
        f.u8hi = 0xBF;
        f.t = 0;
        return true;
    }
    if (b >= 0x80) {
        if (b >= 0xC2 && b <= 0xDF) {
            f.u8need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            f.u8need = 2;
            if (b == 0xE0) f.u8lo = 0xA0;
            if (b == 0xED) f.u8hi = 0x9F;  // no UTF-16 surrogates
        } else if (b >= 0xF0 && b <= 0xF4) {
            f.u8need = 3;
            if (b == 0xF0) f.u8lo = 0x90;
            if (b == 0xF4) f.u8hi = 0x8F;
        } else {
            return false;
        }
        f.t = 0;
        return true;
    }
    if (b < 0x20 && b != '\n' && b != '\t' && b != '\r') return false;
    const auto & d = g_->delim_trie;
    int32_t n = trie_next(d, f.t, b);
    if (n < 0) n = f.t == 0 ? -1 : trie_next(d, 0, b);
    if (n >= 0 && d[size_t(n)].value >= 0) return false;
    f.t = n < 0 ? 0 : n;
    return true;
}

Matcher::Step Matcher::step_root(Frame & f, int32_t sym) {
    const bool json = g_->syntax == Syntax::json;
    switch (f.ph) {
        case R_PRE:
        case R_START:
            if (json && is_ws(sym)) return Step::ok;
            if (f.ph == R_PRE && sym == kChanOpen && g_->allow_thought) {
                f.ph = R_THOUGHT;
                return Step::ok;
            }
            f.ph = R_VALUE;
            push_value(g_->root);
            return Step::refeed;
        case R_THOUGHT:
            if (sym == kChanClose && f.u8need == 0) {
                f.ph = R_START;
                return Step::ok;
            }
            return sym < 256 && text_byte(f, uint8_t(sym)) ? Step::ok : Step::reject;
        case R_AFTER:
            return json && is_ws(sym) ? Step::ok : Step::reject;
        default:
            return Step::reject;
    }
}

Matcher::Step Matcher::step_tools(Frame & f, int32_t sym) {
    switch (f.ph) {
        case T_PRE:
            if (sym == kChanOpen && g_->allow_thought) {
                f.ph = T_THOUGHT;
                return Step::ok;
            }
            [[fallthrough]];
        case T_CALL:
        case T_AFTER:
            if (sym == kCallOpen) {
                f.ph = T_NAME;
                f.t = g_->names;
                return Step::ok;
            }
            if (f.ph == T_AFTER && sym == kCallsEnd) {
                f.ph = T_DONE;
                return Step::ok;
            }
            return Step::reject;
        case T_THOUGHT:
            if (sym == kChanClose && f.u8need == 0) {
                f.ph = T_CALL;
                return Step::ok;
            }
            return sym < 256 && text_byte(f, uint8_t(sym)) ? Step::ok : Step::reject;
        case T_NAME: {
            int32_t n = trie_next(g_->trie, f.t, sym);
            if (n >= 0) {
                f.t = n;
                return Step::ok;
            }
            int32_t tool = g_->trie[size_t(f.t)].value;
            if (tool < 0) return Step::reject;
            f.ph = T_ARGS;
            push_value(g_->tools[size_t(tool)].params);
            return Step::refeed;
        }
        case T_CLOSE:
            if (sym != kCallClose) return Step::reject;
            ++f.count;
            f.ph = f.count >= g_->max_calls ? T_DONE : T_AFTER;
            return Step::ok;
        default:
            return Step::reject;
    }
}

// A value starts: pick the union branch by its first symbol, become that kind, refeed.
Matcher::Step Matcher::step_value(Frame & f, int32_t sym) {
    if (g_->syntax == Syntax::json && is_ws(sym)) return Step::ok;
    int32_t n = f.node;
    while (g_->nodes[size_t(n)].kind == Node::Kind::union_) {
        int32_t pick = -1;
        for (int32_t b : g_->nodes[size_t(n)].branches)
            if (g_->nodes[size_t(b)].starts.test(size_t(sym))) pick = b;
        if (pick < 0) return Step::reject;
        n = pick;
    }
    const Node & node = g_->nodes[size_t(n)];
    if (!node.starts.test(size_t(sym))) return Step::reject;
    if (node.container && depth_ >= kMaxDepth - 1) return Step::reject;
    Frame v;
    v.node = n;
    switch (node.kind) {
        case Node::Kind::object:
            v.k = Frame::K::object;
            break;
        case Node::Kind::array:
            v.k = Frame::K::array;
            break;
        case Node::Kind::string:
            v.k = Frame::K::string;
            break;
        case Node::Kind::number:
        case Node::Kind::integer:
            v.k = Frame::K::number;
            break;
        case Node::Kind::literal:
            v.k = Frame::K::literal;
            v.t = node.lits;
            break;
        default:
            return Step::reject;
    }
    f = v;
    return Step::refeed;
}

// The first symbol of a key (after '{' or ',').
Matcher::Step Matcher::step_key(Frame & f, int32_t sym) {
    const Node & n = g_->nodes[size_t(f.node)];
    if (n.extra >= 0) {
        if (g_->syntax == Syntax::json) {
            f.ph = O_FKEY;
            Frame s;
            s.k = Frame::K::string;
            s.node = g_->key_string;
            if (!push(s)) return Step::reject;
            return Step::refeed;
        }
        if (!is_key_byte(sym)) return Step::reject;
        f.ph = O_FKEY;
        f.count = 1;
        return Step::ok;
    }
    if (n.keys < 0) return Step::reject;
    f.ph = O_KEY;
    f.t = n.keys;
    return Step::refeed;
}

Matcher::Step Matcher::step_object(Frame & f, int32_t sym) {
    const bool json = g_->syntax == Syntax::json;
    const Node & n = g_->nodes[size_t(f.node)];
    const uint64_t all = n.props.size() >= 64 ? ~uint64_t(0) : (uint64_t(1) << n.props.size()) - 1;
    switch (f.ph) {
        case O_OPEN:
            if (sym != '{') return Step::reject;
            f.ph = O_FIRST;
            return Step::ok;
        case O_FIRST:
        case O_AFTER:
            if (json && is_ws(sym)) return Step::ok;
            if (sym == '}') {
                if ((n.required & ~f.seen) != 0) return Step::reject;
                pop_done();
                return Step::ok;
            }
            if (f.ph == O_FIRST) return step_key(f, sym);
            if (sym != ',') return Step::reject;
            if (n.extra < 0 && (all & ~f.seen) == 0) return Step::reject;
            f.ph = O_NEXT;
            return Step::ok;
        case O_NEXT:
            if (json && is_ws(sym)) return Step::ok;
            return step_key(f, sym);
        case O_KEY: {
            int32_t c = trie_next(g_->trie, f.t, sym);
            if (c < 0 || (g_->trie[size_t(c)].mask & ~f.seen) == 0) return Step::reject;
            f.t = c;
            const int32_t prop = g_->trie[size_t(c)].value;
            if (prop < 0) return Step::ok;
            f.cur = prop;
            f.seen |= uint64_t(1) << prop;
            if (json) {
                f.ph = O_COLON;
            } else {
                f.ph = O_VALUE;
                push_value(n.props[size_t(prop)].node);
            }
            return Step::ok;
        }
        case O_COLON:
            if (json && is_ws(sym)) return Step::ok;
            if (sym != ':') return Step::reject;
            f.ph = O_VALUE;
            push_value(f.cur >= 0 ? n.props[size_t(f.cur)].node : n.extra);
            return Step::ok;
        case O_FKEY:  // Gemma bare free key (JSON keys are a string frame above)
            if (is_key_byte(sym) && f.count < 64) {
                ++f.count;
                return Step::ok;
            }
            if (sym != ':') return Step::reject;
            f.ph = O_VALUE;
            f.cur = -1;
            push_value(n.extra);
            return Step::ok;
        default:
            return Step::reject;
    }
}

Matcher::Step Matcher::step_array(Frame & f, int32_t sym) {
    const bool json = g_->syntax == Syntax::json;
    const Node & n = g_->nodes[size_t(f.node)];
    switch (f.ph) {
        case A_OPEN:
            if (sym != '[') return Step::reject;
            f.ph = A_FIRST;
            return Step::ok;
        case A_FIRST:
            if (json && is_ws(sym)) return Step::ok;
            if (sym == ']') {
                if (n.min_items > 0) return Step::reject;
                pop_done();
                return Step::ok;
            }
            if (n.max_items == 0) return Step::reject;
            f.ph = A_VALUE;
            f.count = 1;
            push_value(n.items);
            return Step::refeed;  // the first item begins with this symbol
        case A_AFTER:
            if (json && is_ws(sym)) return Step::ok;
            if (sym == ']') {
                if (f.count < n.min_items) return Step::reject;
                pop_done();
                return Step::ok;
            }
            if (sym != ',' || (n.max_items >= 0 && f.count >= n.max_items)) return Step::reject;
            f.ph = A_VALUE;
            ++f.count;
            push_value(n.items);
            return Step::ok;
        default:
            return Step::reject;
    }
}

Matcher::Step Matcher::step_string(Frame & f, int32_t sym) {
    const bool json = g_->syntax == Syntax::json;
    const Node & n = g_->nodes[size_t(f.node)];
    const int32_t quote = json ? int32_t('"') : int32_t(kQuote);
    switch (f.ph) {
        case S_OPEN:
            if (sym != quote) return Step::reject;
            f.ph = S_BODY;
            return Step::ok;
        case S_BODY: {
            if (sym == quote) {
                if (f.u8need > 0 || f.count < n.min_len) return Step::reject;
                pop_done();
                return Step::ok;
            }
            if (sym >= 256) return Step::reject;
            const bool lead = f.u8need == 0;
            if (lead && n.max_len >= 0 && f.count >= n.max_len) return Step::reject;
            if (json && sym < 0x20) return Step::reject;
            if (json && sym == '\\') {
                if (!lead) return Step::reject;
                f.ph = S_ESC;
                f.t = 0;
                ++f.count;
                return Step::ok;
            }
            if (!text_byte(f, uint8_t(sym))) return Step::reject;
            if (lead) ++f.count;
            return Step::ok;
        }
        case S_ESC:
            if (sym == 'u') {
                f.ph = S_HEX;
                f.hex = 4;
                return Step::ok;
            }
            if (sym < 256 &&
                std::string_view("\"\\/bfnrt").find(char(sym)) != std::string_view::npos) {
                f.ph = S_BODY;
                return Step::ok;
            }
            return Step::reject;
        case S_HEX:
            if (!is_hex(sym)) return Step::reject;
            if (f.hex == 4) f.flag = (sym == 'd' || sym == 'D');
            if (f.hex == 3 && f.flag && !(sym >= '0' && sym <= '7')) return Step::reject;
            if (--f.hex == 0) f.ph = S_BODY;
            return Step::ok;
        default:
            return Step::reject;
    }
}

// One number symbol: ok (consumed), reject, or refeed (the number ended before it). Tracks the
// value (sign in flag, integer part in seen, fraction in aux) for bounded numbers.
Matcher::Step Matcher::number_symbol(Frame & f, int32_t sym, const Node & n) const {
    const bool frac_ok = n.kind == Node::Kind::number;
    const bool exp_ok = frac_ok && !n.bounded && g_->syntax == Syntax::json;
    const int max_int = n.bounded ? kMaxBoundedDigits : kMaxIntDigits;
    const int max_frac = n.bounded ? kMaxBoundedDigits - f.count : kMaxFracDigits;
    const uint64_t digit = is_digit(sym) ? uint64_t(sym - '0') : 0;
    switch (f.ph) {
        case N_START:
            if (sym == '-') return f.ph = N_SIGN, f.flag = 1, Step::ok;
            [[fallthrough]];
        case N_SIGN:
            if (!is_digit(sym)) return Step::reject;
            f.ph = digit == 0 ? N_ZERO : N_INT;
            f.seen = digit;
            f.ndig = 1;
            f.count = 1;
            return Step::ok;
        case N_INT:
            if (is_digit(sym)) {
                if (f.ndig >= max_int) return Step::reject;
                f.seen = f.seen * 10 + digit;
                f.count = ++f.ndig;
                return Step::ok;
            }
            [[fallthrough]];
        case N_ZERO:
            if (sym == '.' && frac_ok) return f.ph = N_DOT, f.ndig = 0, f.aux = 0, Step::ok;
            if ((sym == 'e' || sym == 'E') && exp_ok) return f.ph = N_E, Step::ok;
            return Step::refeed;
        case N_DOT:
        case N_FRAC:
            if (is_digit(sym)) {
                if (f.ndig >= max_frac) return Step::reject;
                f.aux = f.aux * 10 + digit;
                ++f.ndig;
                f.ph = N_FRAC;
                return Step::ok;
            }
            if (f.ph == N_DOT) return Step::reject;
            if ((sym == 'e' || sym == 'E') && exp_ok) return f.ph = N_E, Step::ok;
            return Step::refeed;
        case N_E:
            if (sym == '+' || sym == '-') return f.ph = N_ESIGN, Step::ok;
            [[fallthrough]];
        case N_ESIGN:
            if (is_digit(sym)) return f.ph = N_EXP, f.ndig = 1, Step::ok;
            return Step::reject;
        case N_EXP:
            if (is_digit(sym)) {
                if (f.ndig >= 2) return Step::reject;  // |exponent| < 100 keeps doubles finite
                ++f.ndig;
                return Step::ok;
            }
            return Step::refeed;
        default:
            return Step::reject;
    }
}

Matcher::Step Matcher::step_number(Frame & f, int32_t sym) {
    const Node & n = g_->nodes[size_t(f.node)];
    Step r = number_symbol(f, sym, n);
    if (r == Step::ok) return n.bounded && number_rest(n, f) >= kBig ? Step::reject : Step::ok;
    if (r == Step::reject) return r;
    if (n.bounded && number_rest(n, f) != 0) return Step::reject;  // ends outside the bounds
    pop_done();  // a complete number, ended by a symbol that belongs to the parent
    return Step::refeed;
}

Matcher::Step Matcher::step_literal(Frame & f, int32_t sym) {
    int32_t n = trie_next(g_->trie, f.t, sym);
    if (n >= 0) {
        f.t = n;
        return Step::ok;
    }
    if (g_->trie[size_t(f.t)].value < 0) return Step::reject;
    pop_done();
    return Step::refeed;
}

}  // namespace gemma::runtime::cg
