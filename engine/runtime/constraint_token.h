// Token-level masking for the constraint grammars: a vocabulary index built once per tokenizer
// (each id's bytes, the control tokens the grammars use, a byte trie over all token texts) and the
// GrammarConstraint the scheduler applies, which allows a token only when its text keeps the
// output a valid prefix and the rest still fits the token budget.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/constraint_matcher.h"
#include "runtime/scheduler.h"

namespace gemma::runtime {

// Immutable after build; shared by every request of a ChatEngine.
struct ConstraintVocab {
    int32_t n_vocab = 0;
    std::vector<std::string> texts;  // bytes of each ordinary token ("" for control tokens)
    std::vector<int32_t> sym;        // per id: -1 ordinary, a cg::Sym for the grammar's control
                                     // tokens, -2 for any other control token (never allowed)
    std::vector<std::pair<int32_t, int32_t>> controls;  // (id, cg::Sym) of the grammar's tokens
    std::vector<std::string> delimiters;  // control-token texts free text must never spell
    // Byte trie over ordinary token texts: children as first-child / next-sibling lists; the
    // ids whose text ends at a node are ids[ids_begin, ids_end).
    struct Node {
        int32_t first_child = -1, next_sibling = -1;
        int32_t ids_begin = 0, ids_end = 0;
        uint8_t byte = 0;
    };
    std::vector<Node> trie;  // trie[0] is the root (no byte)
    std::vector<int32_t> ids;
    size_t max_len = 0;  // longest token text (the trie's depth)

    bool has(int32_t s) const;  // whether the vocabulary has the control token for cg::Sym s
};

struct ConstraintVocabInput {
    std::vector<std::string> texts;                     // bytes per id
    std::vector<bool> special;                          // control tokens (texts are their names)
    std::vector<std::pair<int32_t, int32_t>> controls;  // (id, cg::Sym)
    std::vector<std::string> delimiters;  // other control-token texts the output parser reacts to
};

std::shared_ptr<const ConstraintVocab> constraint_vocab_build(ConstraintVocabInput in);

// Constraint over a grammar. `budget`: most tokens the reply may still take (-1: unlimited);
// within it, every value is closed in time, so a finished reply always matches the grammar.
class GrammarConstraint : public Constraint, public TokenFilter {
public:
    GrammarConstraint(std::shared_ptr<const cg::Grammar> grammar,
                      std::shared_ptr<const ConstraintVocab> vocab, int budget);

    const TokenFilter * filter() override { return this; }
    bool allows(int32_t id) const override;
    bool fill_mask(std::vector<uint8_t> & allowed) const override;
    void accept(int32_t id) override;
    bool done() const override { return state_.done(); }

    int32_t min_cost() const { return state_.min_cost(); }

private:
    bool fits(const cg::Matcher & m) const { return budget_ < 0 || m.min_cost() <= budget_ - 1; }
    bool feed_token(cg::Matcher & m, int32_t id) const;
    void visit(int32_t first_child, const cg::Matcher & m, size_t depth,
               std::vector<uint8_t> & allowed) const;

    std::shared_ptr<const cg::Grammar> grammar_;
    std::shared_ptr<const ConstraintVocab> vocab_;
    cg::Matcher state_;
    int budget_;
    bool broken_ = false;                       // a token the grammar refused was forced in
    mutable std::vector<cg::Matcher> scratch_;  // one matcher per trie depth (fill_mask)
};

}  // namespace gemma::runtime
