// ChatEngine: loading (engine, tokenizer, template, stop ids) and request -> TokenRequest
// translation. The per-request text pipeline (detokenize, stop strings, parser) is TextSink.
#include "runtime/engine_chat.h"

#include <algorithm>

#include "runtime/chat_stop_tokens.h"
#include "runtime/chat_template.h"
#include "runtime/text_sink.h"

namespace gemma::runtime {

Result<std::unique_ptr<ChatEngine>> ChatEngine::load(const std::string & dir, EngineOptions opts,
                                                     const LoadProgressFn & progress) {
    std::unique_ptr<ChatEngine> ce(new ChatEngine());
    auto tok = tok::load_tokenizer(dir);
    if (!tok.ok()) return tok.error();
    ce->tok_ = std::move(*tok);
    auto tmpl = chat::chat_template_load(dir);
    if (!tmpl.ok()) return tmpl.error();
    ce->template_text_ = std::move(*tmpl);
    auto stops = chat::chat_stop_ids_read(dir);
    if (!stops.ok()) return stops.error();
    std::vector<int32_t> required;  // spec §1.3: <eos>, <turn|>, <|tool_response>
    for (const char * name : {"eos_token", "eot_token", "str_token"}) {
        auto id = ce->tok_->special_id(name);
        if (id.ok()) required.push_back(*id);
    }
    ce->stop_ids_ = chat::chat_stop_ids_merge(std::move(*stops), required);
    auto e = Engine::load(dir, opts, progress);
    if (!e.ok()) return e.error();
    ce->engine_ = std::move(*e);
    if (ce->tok_->vocab_size() > ce->engine_->info().vocab_size)
        return make_error(
            ErrorCode::corrupt_file,
            format("the tokenizer in %s has %d tokens but the model only %d; the "
                   "files do not belong together",
                   dir.c_str(), ce->tok_->vocab_size(), ce->engine_->info().vocab_size));
    return ce;
}

Result<std::string> ChatEngine::render(const chat::ChatRequest & req) const {
    auto info = chat::chat_template_inspect(template_text_);
    if (!info.ok()) return info.error();
    return chat::chat_render(req, *info);
}

std::shared_ptr<const std::vector<std::string>> ChatEngine::token_texts() {
    std::lock_guard<std::mutex> lock(texts_mu_);
    if (texts_) return texts_;
    auto t = std::make_shared<std::vector<std::string>>(size_t(engine_->info().vocab_size));
    for (int32_t id = 0; id < tok_->vocab_size(); ++id)  // raw bytes: <0xXX> tokens give one byte
        tok_->vocab().append_token_bytes(id, (*t)[size_t(id)]);
    texts_ = std::move(t);
    return texts_;
}

Result<std::unique_ptr<ResponseStream>> ChatEngine::generate(const ChatGenerateRequest & req) {
    chat::ChatRequest cr = req.chat;
    if (req.tool_choice == ToolChoice::none) cr.tools.clear();
    auto prompt = render(cr);
    if (!prompt.ok()) return prompt.error();
    auto ids = tok_->encode(*prompt);
    if (!ids.ok()) return ids.error();
    TokenRequest tr;
    tr.prompt = std::move(*ids);
    tr.sampling = req.sampling;
    tr.max_tokens = req.max_tokens;
    tr.stop_ids = stop_ids_;
    tr.use_prefix_cache = req.use_prefix_cache;
    chat::ChatParserOptions po = chat::chat_parser_options_for_prompt(*prompt);
    po.declared_tools = chat::chat_tool_names(cr);
    auto constraint = make_constraint(req, cr, po, tr.prompt.size());
    if (!constraint.ok()) return constraint.error();
    tr.constraint = std::move(*constraint);
    if (req.sampling.has_seed) po.id_seed = req.sampling.seed + 1;
    TextSinkOptions so;
    so.parser = po;
    so.use_parser = true;
    so.stop = req.stop;
    so.token_events = req.sampling.top_logprobs >= 0;
    auto q = std::make_shared<EventQueue<StreamEvent>>();
    auto id = submit_media(std::move(tr), req, std::make_shared<TextSink>(q, *tok_, so));
    if (!id.ok()) return id.error();
    Engine * e = engine_.get();
    uint64_t rid = *id;
    return std::make_unique<ResponseStream>(q, [e, rid] { e->cancel(rid); });
}

// Through the media worker (which checks the rendered markers against req.media, encodes and
// expands them), or straight to the scheduler for text.
Result<uint64_t> ChatEngine::submit_media(TokenRequest tr, const ChatGenerateRequest & req,
                                          std::shared_ptr<TokenSink> sink) {
    MediaRequest mr;
    mr.tokens = std::move(tr);
    mr.media = req.media;
    mr.image_budget = req.image_budget;
    const tok::Tokenizer * tok = tok_.get();
    mr.tokenize = [tok](const std::string & text) -> Result<std::vector<int32_t>> {
        return tok->encode(text, tok::EncodeOptions{false});
    };
    return engine_->generate(std::move(mr), std::move(sink));
}

Result<std::unique_ptr<ResponseStream>> ChatEngine::complete(const TextGenerateRequest & req) {
    TokenRequest tr;
    if (!req.prompt_ids.empty()) {
        tr.prompt = req.prompt_ids;
    } else {
        auto ids = tok_->encode(req.prompt);
        if (!ids.ok()) return ids.error();
        tr.prompt = std::move(*ids);
    }
    tr.sampling = req.sampling;
    tr.max_tokens = req.max_tokens;
    tr.stop_ids = stop_ids_;
    tr.use_prefix_cache = req.use_prefix_cache;
    TextSinkOptions so;
    so.stop = req.stop;
    so.token_events = req.sampling.top_logprobs >= 0;
    auto q = std::make_shared<EventQueue<StreamEvent>>();
    auto id = engine_->generate(std::move(tr), std::make_shared<TextSink>(q, *tok_, so));
    if (!id.ok()) return id.error();
    Engine * e = engine_.get();
    uint64_t rid = *id;
    return std::make_unique<ResponseStream>(q, [e, rid] { e->cancel(rid); });
}

}  // namespace gemma::runtime
