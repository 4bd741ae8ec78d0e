// Admission checks, ids and the event-draining loop for generation routes.
#include "server/generation.h"

#include <random>

namespace gemdesk::server {

std::string random_id(const std::string & prefix) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return prefix + gemma::format("%08llx%016llx", (unsigned long long)(rng() & 0xFFFFFFFFull),
                                  (unsigned long long)rng());
}

long long unix_time_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<ApiError> check_model(const RouteContext & ctx, const std::string & requested) {
    if (requested.empty() || !ctx.service) return std::nullopt;
    std::string id = ctx.service->model().id;
    if (requested == id) return std::nullopt;
    ApiError e =
        not_found_error("The model '" + requested + "' does not exist; this server serves '" + id +
                            "' (see GET /v1/models)",
                        "model_not_found");
    e.param = "model";
    return e;
}

std::optional<ApiError> check_ready(const RouteContext & ctx) {
    if (!ctx.service) return unavailable("no inference engine is configured on this server");
    switch (ctx.service->state()) {
        case ServiceState::ready:
            return std::nullopt;
        case ServiceState::loading:
            return unavailable("the model is still loading; retry in a few seconds");
        case ServiceState::unavailable:
            return unavailable(ctx.service->state_message());
    }
    return std::nullopt;
}

namespace {

bool is_delta(const Event & e) {
    return e.kind == Event::Kind::content || e.kind == Event::Kind::reasoning ||
           e.kind == Event::Kind::tool_call;
}

// After cancelling, wait briefly for the job's own finish event (it carries usage).
void drain_after_cancel(EventStream & stream, GenerationOutcome & out) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    Event e;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!stream.next(e, std::chrono::milliseconds(50))) continue;
        if (e.kind == Event::Kind::finish) {
            out.usage = e.usage;
            out.audio_seconds = e.audio_seconds;
            return;
        }
        if (e.kind == Event::Kind::error) return;
    }
}

}  // namespace

GenerationOutcome run_generation(EventStream & stream, OutputFilter & filter,
                                 const GenerationHooks & hooks, Metrics & metrics,
                                 std::chrono::steady_clock::time_point started) {
    GenerationOutcome out;
    bool first = true;
    std::vector<Event> deltas;
    auto deliver = [&]() {
        for (const Event & d : deltas) {
            if (first) {
                metrics.observe_ttft(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count());
                first = false;
            }
            if (!hooks.on_delta(d)) return false;
        }
        deltas.clear();
        return true;
    };
    Event e;
    auto next_check = std::chrono::steady_clock::now();
    for (;;) {
        // Check for a hang-up every 50 ms, whether or not events keep coming.
        if (hooks.client_gone && std::chrono::steady_clock::now() >= next_check) {
            next_check = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
            if (hooks.client_gone()) {
                out.client_gone = true;
                stream.cancel();
                break;
            }
        }
        if (!stream.next(e, std::chrono::milliseconds(50))) continue;
        if (is_delta(e)) {
            bool stop = filter.feed(e, deltas);
            if (!deliver()) {
                out.client_gone = true;
                stream.cancel();
                break;
            }
            if (stop) {
                out.stop_hit = true;
                stream.cancel();
                drain_after_cancel(stream, out);
                out.finish = filter.finish_reason(FinishReason::stop);
                break;
            }
        } else if (e.kind == Event::Kind::finish) {
            filter.flush(deltas);
            if (!deliver()) out.client_gone = true;
            out.finish = filter.finish_reason(e.finish);
            out.usage = e.usage;
            out.audio_seconds = e.audio_seconds;
            break;
        } else {
            out.error = e.error;
            break;
        }
    }
    if (out.client_gone) {
        metrics.count_cancelled();
        drain_after_cancel(stream, out);  // the engine's usage for what it did produce
    }
    metrics.count_tokens(out.usage.prompt_tokens, out.usage.completion_tokens);
    metrics.observe_latency(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return out;
}

}  // namespace gemdesk::server
