// ConstraintVocab (sorted-text byte trie) and GrammarConstraint. A full mask walks the trie once
// with the matcher, so tokens that share a prefix share its work and a refused prefix prunes its
// whole subtree: in structural states only a few branches survive the first byte.
#include "runtime/constraint_token.h"

#include <algorithm>
#include <numeric>

namespace gemma::runtime {

bool ConstraintVocab::has(int32_t s) const {
    return std::any_of(controls.begin(), controls.end(), [s](auto & c) { return c.second == s; });
}

std::shared_ptr<const ConstraintVocab> constraint_vocab_build(ConstraintVocabInput in) {
    auto v = std::make_shared<ConstraintVocab>();
    v->n_vocab = int32_t(in.texts.size());
    v->sym.assign(in.texts.size(), -1);
    for (size_t id = 0; id < in.texts.size(); ++id)
        if (id < in.special.size() && in.special[id]) v->sym[id] = -2;
    for (const auto & [id, s] : in.controls) {
        if (id < 0 || id >= v->n_vocab) continue;
        v->sym[size_t(id)] = s;
        v->controls.push_back({id, s});
        v->delimiters.push_back(in.texts[size_t(id)]);
    }
    for (std::string & d : in.delimiters) v->delimiters.push_back(std::move(d));
    v->texts = std::move(in.texts);
    for (size_t id = 0; id < v->texts.size(); ++id)
        if (v->sym[id] != -1) v->texts[id].clear();
    // Sorted texts: a node's children are created in byte order and identical texts are
    // adjacent, so each node's ids form one contiguous run.
    std::vector<int32_t> order(v->texts.size());
    std::iota(order.begin(), order.end(), 0);
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](int32_t id) { return v->texts[size_t(id)].empty(); }),
                order.end());
    std::sort(order.begin(), order.end(),
              [&](int32_t a, int32_t b) { return v->texts[size_t(a)] < v->texts[size_t(b)]; });
    v->trie.emplace_back();
    std::vector<int32_t> last_child(1, -1);
    std::vector<int32_t> path{0};  // path[k]: node after k bytes of the previous text
    std::string prev;
    for (int32_t id : order) {
        const std::string & t = v->texts[size_t(id)];
        size_t common = 0;
        while (common < prev.size() && common < t.size() && prev[common] == t[common]) ++common;
        path.resize(common + 1);
        for (size_t k = common; k < t.size(); ++k) {
            const int32_t parent = path.back(), node = int32_t(v->trie.size());
            ConstraintVocab::Node n;
            n.byte = uint8_t(t[k]);
            n.ids_begin = n.ids_end = int32_t(v->ids.size());
            v->trie.push_back(n);
            last_child.push_back(-1);
            if (last_child[size_t(parent)] < 0)
                v->trie[size_t(parent)].first_child = node;
            else
                v->trie[size_t(last_child[size_t(parent)])].next_sibling = node;
            last_child[size_t(parent)] = node;
            path.push_back(node);
        }
        ConstraintVocab::Node & end = v->trie[size_t(path.back())];
        if (end.ids_begin == end.ids_end) end.ids_begin = int32_t(v->ids.size());
        v->ids.push_back(id);
        end.ids_end = int32_t(v->ids.size());
        prev = t;
        v->max_len = std::max(v->max_len, t.size());
    }
    return v;
}

GrammarConstraint::GrammarConstraint(std::shared_ptr<const cg::Grammar> grammar,
                                     std::shared_ptr<const ConstraintVocab> vocab, int budget)
    : grammar_(std::move(grammar)),
      vocab_(std::move(vocab)),
      state_(grammar_.get()),
      budget_(budget) {}

bool GrammarConstraint::feed_token(cg::Matcher & m, int32_t id) const {
    if (id < 0 || id >= vocab_->n_vocab) return false;
    const int32_t s = vocab_->sym[size_t(id)];
    if (s >= 0) return m.feed(s);
    const std::string & t = vocab_->texts[size_t(id)];
    return s == -1 && !t.empty() && m.feed_bytes(t);
}

bool GrammarConstraint::allows(int32_t id) const {
    if (broken_ || state_.done()) return false;
    cg::Matcher m = state_;
    return feed_token(m, id) && fits(m);
}

void GrammarConstraint::visit(int32_t first_child, const cg::Matcher & m, size_t depth,
                              std::vector<uint8_t> & allowed) const {
    for (int32_t c = first_child; c >= 0; c = vocab_->trie[size_t(c)].next_sibling) {
        const ConstraintVocab::Node & n = vocab_->trie[size_t(c)];
        cg::Matcher & next = scratch_[depth];
        next = m;
        if (!next.feed(n.byte)) continue;
        if (n.ids_end > n.ids_begin && fits(next))
            for (int32_t i = n.ids_begin; i < n.ids_end; ++i)
                allowed[size_t(vocab_->ids[size_t(i)])] = 1;
        if (n.first_child >= 0) visit(n.first_child, next, depth + 1, allowed);
    }
}

bool GrammarConstraint::fill_mask(std::vector<uint8_t> & allowed) const {
    allowed.assign(size_t(vocab_->n_vocab), 0);
    if (broken_ || state_.done()) return true;
    for (const auto & [id, s] : vocab_->controls) {
        cg::Matcher m = state_;
        if (m.feed(s) && fits(m)) allowed[size_t(id)] = 1;
    }
    scratch_.resize(vocab_->max_len + 1);  // sized up front: visit() holds references into it
    visit(vocab_->trie[0].first_child, state_, 0, allowed);
    return true;
}

void GrammarConstraint::accept(int32_t id) {
    if (budget_ > 0) --budget_;
    cg::Matcher m = state_;
    if (!feed_token(m, id)) {
        broken_ = true;  // only reachable when a caller forces a token past the filter
        return;
    }
    state_ = m;
}

}  // namespace gemma::runtime
