// Shared machinery of the generation routes: the context every route sees, admission (model
// name, readiness, concurrency cap), and the loop that drains a job's event stream through the
// OutputFilter while watching for a client that hung up.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/chat_service.h"
#include "server/http_errors.h"
#include "server/media.h"
#include "server/metrics.h"
#include "server/output_filter.h"
#include "server/security.h"

namespace gemdesk::server {

struct RouteContext {
    ChatService * service = nullptr;  // null in upstream mode
    Metrics * metrics = nullptr;
    ConcurrencyGate * gate = nullptr;
    MediaPolicy media;
    int retry_after_s = 1;
    const std::atomic<bool> * stopping = nullptr;  // set when the server shuts down
};

// "prefix-<24 hex digits>" from a per-thread random generator.
std::string random_id(const std::string & prefix);
long long unix_time_now();

// The model id requests must name; checks a request's "model" (empty = default).
std::optional<ApiError> check_model(const RouteContext & ctx, const std::string & requested);
// 503 while loading / without an engine, with a message saying what to do.
std::optional<ApiError> check_ready(const RouteContext & ctx);

struct GenerationOutcome {
    FinishReason finish = FinishReason::stop;
    Usage usage;
    double audio_seconds = 0.0;
    std::optional<gemma::Error> error;  // the job failed midway
    bool client_gone = false;           // cancelled because the client left
    bool stop_hit = false;              // a stop string ended generation
};

struct GenerationHooks {
    // Delivers one filtered delta; false when the client can no longer be written to.
    std::function<bool(const Event &)> on_delta;
    // Polled while waiting for events; true when the client hung up.
    std::function<bool()> client_gone;
};

// Drains `stream` until it finishes, fails, or the client leaves (then cancels it). Records TTFT,
// latency and token metrics.
GenerationOutcome run_generation(EventStream & stream, OutputFilter & filter,
                                 const GenerationHooks & hooks, Metrics & metrics,
                                 std::chrono::steady_clock::time_point started);

}  // namespace gemdesk::server
