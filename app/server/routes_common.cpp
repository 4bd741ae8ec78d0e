// Helpers shared by the route files: error and JSON responses, streamed bodies, admission.
#include "server/request_fields.h"
#include "server/routes.h"
#include "server/sse.h"

namespace gemdesk::server {

void send_error(httplib::Response & res, const ApiError & error, ErrorStyle style) {
    res.status = error.status;
    if (error.status == 503) res.set_header("Retry-After", "1");
    res.set_content(
        style == ErrorStyle::anthropic ? anthropic_error_body(error) : openai_error_body(error),
        "application/json");
}

void send_json(httplib::Response & res, const nlohmann::json & body, int status) {
    res.status = status;
    res.set_content(json_text(body), "application/json");
}

PeerWatch peer_watch_for(const httplib::Request & req) {
    return PeerWatch(req.remote_addr, req.remote_port, req.local_addr, req.local_port);
}

void stream_body(httplib::Response & res, const std::string & content_type,
                 std::function<void(const StreamWrite &)> produce) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto fn = std::make_shared<std::function<void(const StreamWrite &)>>(std::move(produce));
    res.set_chunked_content_provider(content_type, [fn](size_t, httplib::DataSink & sink) {
        bool ok = true;
        StreamWrite write = [&](const std::string & s) {
            ok = ok && sink.write(s.data(), s.size());
            return ok;
        };
        (*fn)(write);
        if (ok) sink.done();
        return ok;
    });
}

std::shared_ptr<GateSlot> admit(const RouteContext & ctx, const std::string & model,
                                httplib::Response & res, ErrorStyle style) {
    if (auto e = check_model(ctx, model)) {
        send_error(res, *e, style);
        return nullptr;
    }
    if (auto e = check_ready(ctx)) {
        send_error(res, *e, style);
        return nullptr;
    }
    auto slot = std::make_shared<GateSlot>(*ctx.gate);
    if (!slot->held()) {
        ctx.metrics->count_rejected();
        send_error(
            res,
            too_many_requests("too many concurrent requests; retry after the Retry-After delay"),
            style);
        res.set_header("Retry-After", std::to_string(ctx.retry_after_s));
        return nullptr;
    }
    return slot;
}

std::shared_ptr<Job> submit_job(const RouteContext & ctx, const httplib::Request & req,
                                httplib::Response & res, ApiRequest request, ErrorStyle style,
                                const std::string & id_prefix,
                                std::chrono::steady_clock::time_point started) {
    auto slot = admit(ctx, request.model, res, style);
    if (!slot) return nullptr;
    FilterOptions fo{request.stop, request.job.tool_choice == ToolChoice::none,
                     !request.job.parallel_tool_calls};
    auto submitted = ctx.service->submit(request.job);
    if (!submitted.ok()) {
        send_error(res, api_error_from(submitted.error()), style);
        return nullptr;
    }
    ChunkHeader header{random_id(id_prefix), unix_time_now(), ctx.service->model().id};
    return std::shared_ptr<Job>(new Job{slot, std::move(submitted.value()), OutputFilter(fo),
                                        std::move(request), std::move(header), peer_watch_for(req),
                                        started, ctx.metrics, ctx.stopping});
}

std::shared_ptr<Job> start_job(const RouteContext & ctx, const httplib::Request & req,
                               httplib::Response & res, const ParseFn & parse, ErrorStyle style,
                               const std::string & id_prefix) {
    auto started = std::chrono::steady_clock::now();
    auto body = parse_json_object(req.body);
    if (!body.ok()) {
        send_error(res, body.error(), style);
        return nullptr;
    }
    auto parsed = parse(body.value());
    if (!parsed.ok()) {
        send_error(res, parsed.error(), style);
        return nullptr;
    }
    return submit_job(ctx, req, res, std::move(parsed.value()), style, id_prefix, started);
}

GenerationOutcome run_job(Job & job, const std::function<bool(const Event &)> & on_delta) {
    GenerationHooks hooks{on_delta,
                          [&job] { return job.watch.closed() || (job.stopping && *job.stopping); }};
    return run_generation(*job.stream, job.filter, hooks, *job.metrics, job.started);
}

}  // namespace gemdesk::server
