// The per-request text pipeline on the inference thread: generated ids -> incremental UTF-8 text
// (special tokens visible) -> stop strings (held back until they can no longer match) -> the
// Gemma 4 output parser (content / reasoning / tool calls) -> stream events.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/response_stream.h"
#include "runtime/tool_protocol.h"
#include "tokenizer/stream_decoder.h"

namespace gemma::runtime {

struct TextSinkOptions {
    bool use_parser = false;  // chat: parse; raw completion: text is content
    chat::ChatParserOptions parser;
    std::vector<std::string> stop;  // stop strings, excluded from the output
    bool token_events = false;      // also emit a token event per id (logprobs)
};

// Thread-compatible: called by the scheduler thread only. `tok` must outlive it.
class TextSink : public TokenSink {
public:
    TextSink(std::shared_ptr<EventQueue<StreamEvent>> q, const tok::Tokenizer & tok,
             TextSinkOptions opts);

    bool on_token(const SampleResult & token) override;
    void on_finish(FinishReason reason, const Usage & usage, const Error * error) override;

private:
    bool feed(const std::string & text);  // true: a stop string matched
    void release(const std::string & text);
    void push_parsed(const std::vector<chat::ChatEvent> & events);

    std::shared_ptr<EventQueue<StreamEvent>> q_;
    const tok::Tokenizer & tok_;
    TextSinkOptions opts_;
    tok::StreamDecoder dec_;
    chat::ChatOutputParser parser_;
    std::string pending_;  // text that may still turn out to start a stop string
    bool stopped_ = false;
    int n_calls_ = 0;
};

}  // namespace gemma::runtime
