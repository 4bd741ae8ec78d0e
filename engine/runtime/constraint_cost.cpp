// Matcher::min_cost(): what each open frame still needs at least, summed over the stack. The
// sum drops by exactly one along the cheapest continuation, which is what lets the token budget
// close every value in time (constraint_token.h).
#include <algorithm>
#include <bit>

#include "runtime/constraint_matcher.h"
#include "runtime/constraint_phases.h"

namespace gemma::runtime::cg {

int32_t Matcher::tail(const Node & n, uint64_t missing) const {
    int32_t c = 0;
    for (uint64_t m = missing; m; m &= m - 1) c += 1 + n.props[size_t(std::countr_zero(m))].entry;
    return c;
}

// Cheapest way to finish a key at trie node t, its value, the missing required entries and '}'.
int32_t Matcher::key_cost(const Frame & f, int32_t t, uint64_t missing) const {
    const Node & n = g_->nodes[size_t(f.node)];
    const TrieNode & tn = g_->trie[size_t(t)];
    const int32_t sep = g_->syntax == Syntax::json ? 1 : 0;
    const int32_t rest = tail(n, missing);
    int32_t best = kBig;
    for (uint64_t m = tn.mask & ~f.seen; m; m &= m - 1) {
        const int c = std::countr_zero(m);
        const Prop & p = n.props[size_t(c)];
        int32_t cost = p.key_len - tn.depth + sep + g_->nodes[size_t(p.node)].min_cost + rest;
        if (missing >> c & 1) cost -= 1 + p.entry;
        best = std::min(best, cost + 1);
    }
    return best;
}

int32_t Matcher::object_cost(const Frame & f) const {
    const Node & n = g_->nodes[size_t(f.node)];
    const bool json = g_->syntax == Syntax::json;
    if (n.extra >= 0) {  // free keys
        const int32_t value = g_->nodes[size_t(n.extra)].min_cost;
        switch (f.ph) {
            case O_OPEN:
                return n.min_cost;
            case O_NEXT:
                return (json ? 2 : 1) + 1 + value + 1;
            case O_COLON:
                return 1 + value + 1;
            case O_FKEY:
                return (json ? 0 : (f.count == 0 ? 1 : 0)) + 1 + value + 1;
            default:
                return 1;
        }
    }
    const uint64_t missing = n.required & ~f.seen;
    switch (f.ph) {
        case O_OPEN:
            return n.min_cost;
        case O_FIRST:
            return missing ? tail(n, missing) : 1;
        case O_NEXT:
            return key_cost(f, n.keys, missing);
        case O_KEY:
            return key_cost(f, f.t, missing);
        case O_COLON:
            return 1 + g_->nodes[size_t(n.props[size_t(f.cur)].node)].min_cost + tail(n, missing) +
                   1;
        default:
            return tail(n, missing) + 1;
    }
}

int32_t Matcher::calls_tail(const Frame & f) const { return f.count + 1 < g_->max_calls ? 1 : 0; }

int32_t Matcher::frame_cost(const Frame & f) const {
    const Node * n = f.node >= 0 ? &g_->nodes[size_t(f.node)] : nullptr;
    switch (f.k) {
        case Frame::K::root:
            if (f.ph == R_THOUGHT) return f.u8need + 1 + g_->nodes[size_t(g_->root)].min_cost;
            if (f.ph == R_PRE || f.ph == R_START) return g_->nodes[size_t(g_->root)].min_cost;
            return 0;
        case Frame::K::tools:
            switch (f.ph) {
                case T_PRE:
                case T_CALL:
                    return g_->min_call_cost + calls_tail(f);
                case T_THOUGHT:
                    return f.u8need + 1 + g_->min_call_cost + calls_tail(f);
                case T_NAME:
                    return g_->trie[size_t(f.t)].min_rest + 1 + calls_tail(f);
                case T_ARGS:
                case T_CLOSE:
                    return 1 + calls_tail(f);
                case T_AFTER:
                    return 1;
                default:
                    return 0;
            }
        case Frame::K::value:
            return n->min_cost;
        case Frame::K::object:
            return object_cost(f);
        case Frame::K::array: {
            if (f.ph == A_OPEN) return n->min_cost;
            const int32_t item = g_->nodes[size_t(n->items)].min_cost;
            if (f.ph == A_FIRST)
                return n->min_items == 0 ? 1 : n->min_items * item + (n->min_items - 1) + 1;
            return std::max(0, n->min_items - f.count) * (1 + item) + 1;
        }
        case Frame::K::string:
            if (f.ph == S_OPEN) return n->min_cost;
            return std::max(0, n->min_len - f.count) + f.u8need +
                   (f.ph == S_ESC   ? 1
                    : f.ph == S_HEX ? f.hex
                                    : 0) +
                   1;
        case Frame::K::number:
            if (n->bounded) return number_rest(*n, f);
            return (f.ph == N_START || f.ph == N_SIGN || f.ph == N_DOT || f.ph == N_E ||
                    f.ph == N_ESIGN)
                       ? 1
                       : 0;
        case Frame::K::literal:
            return g_->trie[size_t(f.t)].min_rest;
    }
    return 0;
}

int32_t Matcher::min_cost() const {
    int32_t c = 0;
    for (int i = 0; i < depth_; ++i) c += frame_cost(f_[size_t(i)]);
    return c;
}

}  // namespace gemma::runtime::cg
