// chat_constraint_make(): spec -> grammar -> GrammarConstraint, with the checks that need both the
// grammar and the vocabulary (control tokens present, shortest reply within the budget).
#include "runtime/constraint_chat.h"

#include <algorithm>

#include "runtime/engine_chat.h"

namespace gemma::runtime {

std::shared_ptr<const ConstraintVocab> constraint_vocab_for(const tok::Tokenizer & tok,
                                                            std::vector<std::string> texts) {
    ConstraintVocabInput in;
    in.special.resize(texts.size());
    for (size_t id = 0; id < texts.size(); ++id) in.special[id] = tok.is_special(int32_t(id));
    const std::pair<const char *, cg::Sym> controls[] = {
        {"escape_token", cg::kQuote}, {"stc_token", cg::kCallOpen},  {"etc_token", cg::kCallClose},
        {"soc_token", cg::kChanOpen}, {"eoc_token", cg::kChanClose}, {"str_token", cg::kCallsEnd}};
    for (const auto & [name, s] : controls)
        if (auto id = tok.special_id(name); id.ok() && *id >= 0 && size_t(*id) < texts.size())
            in.controls.push_back({*id, s});
    // Markers the output parser reacts to besides the grammar's own (spec §3.1).
    for (const char * name : {"eot_token", "sot_token", "eos_token", "bos_token", "etr_token"})
        if (auto id = tok.special_id(name); id.ok() && *id >= 0 && size_t(*id) < texts.size())
            in.delimiters.push_back(texts[size_t(*id)]);
    in.texts = std::move(texts);
    return constraint_vocab_build(std::move(in));
}

Result<std::shared_ptr<GrammarConstraint>> chat_constraint_make(
    const ChatConstraintSpec & spec, std::shared_ptr<const ConstraintVocab> vocab) {
    if (spec.kind == ChatConstraintSpec::Kind::none) return std::shared_ptr<GrammarConstraint>();
    cg::GrammarOptions o;
    o.allow_thought = spec.allow_thought;
    o.start_in_thought = spec.start_in_thought;
    o.delimiters = vocab->delimiters;
    std::vector<int32_t> needed;
    Result<std::shared_ptr<const cg::Grammar>> g = make_error(ErrorCode::internal, "");
    if (spec.kind == ChatConstraintSpec::Kind::tools) {
        g = cg::grammar_for_tools(spec.tools, spec.max_calls, o);
        needed = {cg::kQuote, cg::kCallOpen, cg::kCallClose};
    } else {
        o.syntax = cg::Syntax::json;
        g = cg::grammar_for_json(spec.schema, o);
    }
    if (!g.ok()) return g.error();
    if (o.allow_thought) needed.insert(needed.end(), {cg::kChanOpen, cg::kChanClose});
    for (int32_t s : needed)
        if (!vocab->has(s))
            return make_error(ErrorCode::invalid_argument,
                              "constrained decoding needs Gemma 4's control tokens (<|\"|>, "
                              "<|tool_call>, <tool_call|>, <|channel>, <channel|>), and this "
                              "tokenizer lacks one; check tokenizer_config.json");
    auto c = std::make_shared<GrammarConstraint>(std::move(*g), std::move(vocab), spec.budget);
    if (spec.budget >= 0 && c->min_cost() > spec.budget)
        return make_error(ErrorCode::invalid_argument,
                          format("max_tokens is too small for the requested output: the shortest "
                                 "valid reply needs %d tokens but at most %d are available",
                                 c->min_cost(), spec.budget));
    return c;
}

// ChatEngine's side (kept here so engine_chat.cpp only calls it): the shared vocabulary index and
// the spec for one request.
std::shared_ptr<const ConstraintVocab> ChatEngine::constraint_vocab() {
    auto texts = token_texts();
    std::lock_guard<std::mutex> lock(texts_mu_);
    if (!cvocab_) cvocab_ = constraint_vocab_for(*tok_, *texts);
    return cvocab_;
}

Result<std::shared_ptr<Constraint>> ChatEngine::make_constraint(const ChatGenerateRequest & req,
                                                                const chat::ChatRequest & cr,
                                                                const chat::ChatParserOptions & po,
                                                                size_t n_prompt) {
    ChatConstraintSpec spec;
    if (req.tool_choice == ToolChoice::required || req.tool_choice == ToolChoice::named) {
        spec.kind = ChatConstraintSpec::Kind::tools;
        for (const chat::ToolDeclaration & t : cr.tools)
            if (req.tool_choice == ToolChoice::required || t.name == req.tool_name)
                spec.tools.push_back(t);
        if (spec.tools.empty())
            return make_error(ErrorCode::invalid_argument,
                              req.tool_choice == ToolChoice::named
                                  ? "tool_choice names '" + req.tool_name +
                                        "', which is not among the declared tools"
                                  : std::string("tool_choice 'required' needs at least one tool"));
        spec.max_calls = req.tool_choice == ToolChoice::required && req.parallel_tool_calls ? 8 : 1;
    } else if (req.json_object || !req.json_schema.is_null()) {
        spec.kind = ChatConstraintSpec::Kind::json;
        spec.schema = req.json_schema.is_null() ? nullptr : &req.json_schema;
    } else {
        return std::shared_ptr<Constraint>();
    }
    spec.allow_thought = cr.enable_thinking;
    spec.start_in_thought = po.start_in_reasoning || po.start_in_reasoning_label;
    // Generated tokens need a KV position each (the last one excepted): keep one spare.
    const int ctx_left = std::max(0, info().context_length - int(n_prompt) - 1);
    spec.budget = req.max_tokens >= 0 ? std::min(req.max_tokens, ctx_left) : ctx_left;
    auto c = chat_constraint_make(spec, constraint_vocab());
    if (!c.ok()) return c.error();
    return std::shared_ptr<Constraint>(std::move(*c));
}

}  // namespace gemma::runtime
