// The contract between the HTTP server and whatever generates text: a job goes in, a cancellable
// stream of events (content, reasoning, tool calls, finish) comes out. The server owns JSON and
// HTTP; a ChatService owns templating, tokenizing and decoding (real engine, fake, or none).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace gemdesk::server {

// An image or audio clip referenced by a message part ({"type":"image","media_index":i}).
struct MediaInput {
    enum class Kind { image, audio };
    Kind kind = Kind::image;
    std::string mime;   // "image/png", "audio/wav", ... (sniffed from the bytes)
    std::string bytes;  // encoded file contents, not decoded pixels/samples
};

enum class ToolChoice { auto_, none, required, named };

struct ResponseFormat {
    enum class Kind { text, json_object, json_schema };
    Kind kind = Kind::text;
    nlohmann::json schema;  // json_schema only: the JSON Schema the output must satisfy
};

struct SamplingParams {
    double temperature = 1.0;  // 0 = greedy
    double top_p = 1.0;
    int top_k = 0;  // 0 = off
    std::optional<uint64_t> seed;
};

// One generation request, already validated and normalized by the HTTP layer.
struct CompletionJob {
    enum class Kind { chat, text };
    Kind kind = Kind::chat;
    // chat: OpenAI-style messages, normalized: content is a list of parts {"type":"text","text"},
    // {"type":"image"|"audio","media_index":i}; assistant tool_calls carry parsed argument
    // objects; `reasoning` and `reasoning_content` both hold any previous thinking.
    nlohmann::json messages = nlohmann::json::array();
    nlohmann::json tools = nlohmann::json::array();  // [{"type":"function","function":{...}}]
    ToolChoice tool_choice = ToolChoice::auto_;
    std::string tool_choice_name;  // named only
    bool parallel_tool_calls = true;
    bool enable_thinking = false;
    bool preserve_thinking = false;
    std::string prompt;  // text only: the raw prompt, no template
    std::vector<MediaInput> media;
    int max_tokens = -1;  // -1: until a stop token or the context is full
    SamplingParams sampling;
    ResponseFormat response_format;
    int top_logprobs = -1;  // -1: no logprobs; 0..20: chosen token plus that many alternatives
};

struct TokenLogprob {
    std::string token;
    double logprob = 0.0;
    std::vector<std::pair<std::string, double>> top;
};

struct ToolCall {
    std::string id;  // unique, "chatcmpl-tool-<hex>"
    std::string name;
    std::string arguments;  // a JSON object as text
};

// persisted in API responses as strings: see finish_reason_name().
enum class FinishReason { stop, length, tool_calls, cancelled };
const char * finish_reason_name(FinishReason reason);

struct Usage {
    int prompt_tokens = 0;
    int completion_tokens = 0;
    int reasoning_tokens = 0;
};

struct Event {
    enum class Kind { content, reasoning, tool_call, finish, error };
    Kind kind = Kind::content;
    std::string text;                          // content / reasoning delta
    std::vector<TokenLogprob> logprobs;        // content only, when the job asked for them
    ToolCall tool_call;                        // tool_call: one complete call
    FinishReason finish = FinishReason::stop;  // finish
    Usage usage;                               // finish
    double audio_seconds = 0.0;                // finish: length of the job's audio input, if any
    gemma::Error error;                        // error: generation failed midway (stream ends)
};

// A running job. next() and cancel() may be called from different threads; after a finish or
// error event the stream is over. Destroying it cancels the job.
class EventStream {
public:
    virtual ~EventStream() = default;
    // Waits up to `wait` for the next event; false when none arrived in time.
    virtual bool next(Event & out, std::chrono::milliseconds wait) = 0;
    virtual void cancel() = 0;
};

enum class ServiceState { ready, loading, unavailable };

struct ModelInfo {
    std::string id;          // what clients send as "model"
    int context_length = 0;  // tokens
    bool supports_images = false;
    bool supports_audio = false;
};

struct ServiceStats {
    int queue_depth = 0;   // jobs waiting for a slot
    int running = 0;       // jobs decoding now
    double kv_used = 0.0;  // fraction of the KV cache in use, 0..1
};

// Thread-safe. submit() fails with invalid_argument (bad job, e.g. undecodable media),
// context_full (prompt longer than the context), unsupported (feature the model lacks) or
// not_found/internal when no engine is available.
class ChatService {
public:
    virtual ~ChatService() = default;
    virtual ModelInfo model() const = 0;
    virtual ServiceState state() const = 0;
    virtual std::string state_message() const = 0;  // why not ready, what to do
    virtual ServiceStats stats() const = 0;
    virtual gemma::Result<std::unique_ptr<EventStream>> submit(CompletionJob job) = 0;
};

}  // namespace gemdesk::server
