// What a generation hands back: a cancellable stream of events (token, content / reasoning
// deltas, tool calls, the final usage + finish reason, or an error), read with a timeout from any
// thread, or pushed to a callback. The app, the server and the CLI all read this type.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/event_queue.h"
#include "runtime/scheduler.h"

namespace gemma::runtime {

struct StreamToolCall {
    std::string id;  // "chatcmpl-tool-<32 hex>"
    std::string name;
    std::string arguments;  // JSON object text
};

struct StreamEvent {
    enum class Kind { token, content, reasoning, tool_call, finish, error };
    Kind kind = Kind::token;
    SampleResult token;        // token: the id with its logprobs (when asked for)
    std::string text;          // token: its decoded text (when a tokenizer is known);
                               // content / reasoning: the delta
    StreamToolCall tool_call;  // tool_call: one complete call
    FinishReason finish = FinishReason::stop;  // finish
    Usage usage;                               // finish
    Error error;                               // error (the stream ends after it)
};

// Thread-safe. next() and cancel() may be called from different threads; after a finish or
// error event the stream is over. Destroying the stream cancels its request; the Engine that
// made it must outlive it.
class ResponseStream {
public:
    ResponseStream(std::shared_ptr<EventQueue<StreamEvent>> queue, std::function<void()> cancel)
        : queue_(std::move(queue)), cancel_(std::move(cancel)) {}
    ~ResponseStream() { cancel(); }
    ResponseStream(const ResponseStream &) = delete;
    ResponseStream & operator=(const ResponseStream &) = delete;

    // Waits up to `wait` for the next event; false when none arrived in time or the stream ended.
    bool next(StreamEvent & out, std::chrono::milliseconds wait) { return queue_->pop(out, wait); }
    // True once the last event (finish / error) has been read.
    bool ended() const { return queue_->closed(); }
    // Ends the request within one scheduler step; a finish event with cancelled follows.
    void cancel() {
        if (cancel_) cancel_();  // idempotent: the scheduler ignores finished requests
    }

private:
    std::shared_ptr<EventQueue<StreamEvent>> queue_;
    std::function<void()> cancel_;
};

// Reads every event of `stream` until it ends, calling `on_event` for each (on this thread).
// Returns the last event (finish or error).
StreamEvent stream_drain(ResponseStream & stream,
                         const std::function<void(const StreamEvent &)> & on_event);

}  // namespace gemma::runtime
