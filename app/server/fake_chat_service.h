// A deterministic ChatService for tests and the test-only server binary: it echoes the last user
// message token by token, thinks when asked, calls declared tools with arguments generated from
// their JSON Schema (as constrained decoding would), and honours max_tokens and cancellation.
// Never used by gemdesk-server itself.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "server/chat_service.h"
#include "server/media.h"  // wav_duration_seconds

namespace gemdesk::server {

struct FakeOptions {
    std::string model_id = "tiny-gemma4-chat";
    int context_length = 4096;
    std::chrono::milliseconds token_delay{2};  // time per generated token
};

// Counters shared with every stream, for tests that check cancellation.
struct FakeCounters {
    std::atomic<int> submitted{0}, finished{0}, cancelled{0}, active{0};
};

// A value satisfying `schema` (type, properties, required, items, enum, const, anyOf/oneOf,
// minimum/maximum, minItems): the fake's stand-in for schema-constrained decoding.
nlohmann::json fake_value_for_schema(const nlohmann::json & schema,
                                     const std::string & name = "value", int depth = 0);

// What the fake "generates" for a request; thread-safe.
//   - audio input: "Transcript of a N.NN second clip."
//   - tools with tool_choice required/named, or a user text containing "tool": one call (the
//     named tool, else the first declared tool whose name appears in the text, else the first);
//     every tool when the text contains "all tools" and parallel calls are allowed
//   - response_format json_object / json_schema: a JSON value, streamed 4 characters at a time
//   - otherwise "Echo: <last user text>"; a user text containing "[long]" continues with
//     filler words until max_tokens or cancellation
//   - enable_thinking: reasoning "The user said: <first words>" before the answer
class FakeChatService : public ChatService {
public:
    explicit FakeChatService(FakeOptions options = {});

    ModelInfo model() const override;
    ServiceState state() const override;
    std::string state_message() const override;
    ServiceStats stats() const override;
    gemma::Result<std::unique_ptr<EventStream>> submit(CompletionJob job) override;

    void set_state(ServiceState state, std::string message = "");
    const FakeCounters & counters() const { return *counters_; }

private:
    FakeOptions options_;
    mutable std::mutex mu_;
    ServiceState state_ = ServiceState::ready;
    std::string message_;
    std::shared_ptr<FakeCounters> counters_;
};

}  // namespace gemdesk::server
