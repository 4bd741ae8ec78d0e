// TextSink: incremental detokenization, stop-string matching with hold-back, parser events.
#include "runtime/text_sink.h"

#include <algorithm>

namespace gemma::runtime {

TextSink::TextSink(std::shared_ptr<EventQueue<StreamEvent>> q, const tok::Tokenizer & tok,
                   TextSinkOptions opts)
    : q_(std::move(q)), tok_(tok), opts_(std::move(opts)), dec_(tok), parser_(opts_.parser) {}

bool TextSink::on_token(const SampleResult & token) {
    auto piece = dec_.push(token.id);
    std::string text = piece.ok() ? *piece : std::string();
    if (opts_.token_events) {
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::token;
        ev.token = token;
        auto raw = tok_.decode(std::span<const int32_t>(&token.id, 1));
        ev.text = raw.ok() ? *raw : std::string();
        q_->push(std::move(ev));
    }
    if (stopped_) return true;
    return feed(text);
}

// Appends text; releases everything that can no longer be the start of a stop string.
bool TextSink::feed(const std::string & text) {
    pending_ += text;
    size_t cut = std::string::npos;
    for (const std::string & s : opts_.stop)
        if (!s.empty()) cut = std::min(cut, pending_.find(s));
    if (cut != std::string::npos) {
        release(pending_.substr(0, cut));
        pending_.clear();
        stopped_ = true;
        return true;
    }
    size_t keep = 0;  // longest tail of pending_ that is a proper prefix of a stop string
    for (const std::string & s : opts_.stop)
        for (size_t k = std::min(s.size() - 1, pending_.size()); k > keep; --k)
            if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
                keep = k;
                break;
            }
    release(pending_.substr(0, pending_.size() - keep));
    pending_.erase(0, pending_.size() - keep);
    return opts_.use_parser && parser_.stopped();
}

void TextSink::release(const std::string & text) {
    if (text.empty()) return;
    if (opts_.use_parser) {
        push_parsed(parser_.feed(text));
        return;
    }
    StreamEvent ev;
    ev.kind = StreamEvent::Kind::content;
    ev.text = text;
    q_->push(std::move(ev));
}

void TextSink::push_parsed(const std::vector<chat::ChatEvent> & events) {
    for (const chat::ChatEvent & e : events) {
        StreamEvent ev;
        if (e.kind == chat::ChatEvent::Kind::tool_call) {
            ev.kind = StreamEvent::Kind::tool_call;
            ev.tool_call = {e.call.id, e.call.name, e.call.arguments};
            ++n_calls_;
        } else {
            ev.kind = e.kind == chat::ChatEvent::Kind::content ? StreamEvent::Kind::content
                                                               : StreamEvent::Kind::reasoning;
            ev.text = e.text;
        }
        q_->push(std::move(ev));
    }
}

void TextSink::on_finish(FinishReason reason, const Usage & usage, const Error * error) {
    if (!stopped_) {
        feed(dec_.flush());
        if (!stopped_) release(pending_);
    }
    pending_.clear();
    if (opts_.use_parser) push_parsed(parser_.finish());
    StreamEvent ev;
    ev.kind = error ? StreamEvent::Kind::error : StreamEvent::Kind::finish;
    ev.finish = (reason == FinishReason::stop && n_calls_ > 0) ? FinishReason::tool_calls : reason;
    ev.usage = usage;
    if (error) ev.error = *error;
    q_->push(std::move(ev));
    q_->close();
}

}  // namespace gemma::runtime
