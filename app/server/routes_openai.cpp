// OpenAI routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions (streaming
// and not). Requests are parsed by openai_request, generated through the ChatService, filtered
// by OutputFilter and shaped by openai_response.
#include <memory>

#include "server/openai_request.h"
#include "server/openai_response.h"
#include "server/request_fields.h"
#include "server/routes.h"
#include "server/sse.h"

namespace gemdesk::server {

namespace {

using nlohmann::json;

json model_json(const ModelInfo & m) {
    return {{"id", m.id},
            {"object", "model"},
            {"created", 0},
            {"owned_by", "gemdesk"},
            {"max_model_len", m.context_length}};
}

json error_event(const gemma::Error & error) {
    ApiError e = api_error_from(error);
    return {{"error", {{"message", e.message}, {"type", e.type}, {"code", e.status}}}};
}

void chat_stream(std::shared_ptr<Job> job, const StreamWrite & write) {
    const ChunkHeader & h = job->header;
    if (!write(sse_data(chat_chunk(h, {{"role", "assistant"}, {"content", ""}}, nullptr))))
        return job->stream->cancel();
    int tool_index = 0;
    auto outcome = run_job(*job, [&](const Event & d) {
        json lp = job->request.logprobs && d.kind == Event::Kind::content
                      ? logprobs_json(d.logprobs)
                      : json();
        for (const json & delta : chat_deltas(d, tool_index))
            if (!write(sse_data(chat_chunk(h, delta, nullptr, lp)))) return false;
        if (d.kind == Event::Kind::tool_call) tool_index++;
        return true;
    });
    if (outcome.client_gone) return;
    if (outcome.error) {
        write(sse_data(error_event(*outcome.error)));
    } else {
        write(sse_data(chat_chunk(h, json::object(), finish_reason_name(outcome.finish))));
        if (job->request.include_usage) {
            json u = chat_chunk(h, json::object(), nullptr);
            u["choices"] = json::array();
            u["usage"] = usage_json(outcome.usage);
            write(sse_data(u));
        }
    }
    write(kSseDone);
}

void chat_whole(Job & job, httplib::Response & res) {
    ChatAccumulator acc;
    auto outcome = run_job(job, [&](const Event & d) {
        acc.add(d);
        return true;
    });
    if (outcome.client_gone) return;
    if (outcome.error) return send_error(res, api_error_from(*outcome.error));
    json choice = {{"index", 0},
                   {"message", acc.message()},
                   {"logprobs", job.request.logprobs ? acc.logprobs() : json()},
                   {"finish_reason", finish_reason_name(outcome.finish)}};
    send_json(res, {{"id", job.header.id},
                    {"object", "chat.completion"},
                    {"created", job.header.created},
                    {"model", job.header.model},
                    {"choices", json::array({choice})},
                    {"usage", usage_json(outcome.usage)}});
}

void text_stream(std::shared_ptr<Job> job, const StreamWrite & write) {
    size_t offset = 0;
    auto outcome = run_job(*job, [&](const Event & d) {
        if (d.kind != Event::Kind::content) return true;
        json lp = job->request.logprobs ? completion_logprobs_json(d.logprobs, offset) : json();
        offset += d.text.size();
        return write(sse_data(text_chunk(job->header, d.text, nullptr, lp)));
    });
    if (outcome.client_gone) return;
    if (outcome.error) {
        write(sse_data(error_event(*outcome.error)));
    } else {
        write(sse_data(text_chunk(job->header, "", finish_reason_name(outcome.finish))));
        if (job->request.include_usage) {
            json u = text_chunk(job->header, "", nullptr);
            u["choices"] = json::array();
            u["usage"] = usage_json(outcome.usage);
            write(sse_data(u));
        }
    }
    write(kSseDone);
}

void text_whole(Job & job, httplib::Response & res) {
    ChatAccumulator acc;
    auto outcome = run_job(job, [&](const Event & d) {
        acc.add(d);
        return true;
    });
    if (outcome.client_gone) return;
    if (outcome.error) return send_error(res, api_error_from(*outcome.error));
    json body = text_chunk(
        job.header, acc.content(), finish_reason_name(outcome.finish),
        job.request.logprobs ? completion_logprobs_json(acc.token_logprobs(), 0) : json());
    body["usage"] = usage_json(outcome.usage);
    send_json(res, body);
}

void handle_generation(const RouteContext & ctx, const httplib::Request & req,
                       httplib::Response & res, bool chat) {
    ParseFn parse = [&ctx, chat](const json & body) {
        return chat ? parse_chat_request(body, ctx.media) : parse_completion_request(body);
    };
    auto job = start_job(ctx, req, res, parse, ErrorStyle::openai, chat ? "chatcmpl-" : "cmpl-");
    if (!job) return;
    if (!job->request.stream) return chat ? chat_whole(*job, res) : text_whole(*job, res);
    stream_body(res, "text/event-stream", [job, chat](const StreamWrite & write) {
        chat ? chat_stream(job, write) : text_stream(job, write);
    });
}

}  // namespace

void register_openai_routes(httplib::Server & server, const RouteContext & ctx) {
    server.Get("/v1/models", [ctx](const httplib::Request &, httplib::Response & res) {
        json data = json::array();
        if (ctx.service) data.push_back(model_json(ctx.service->model()));
        send_json(res, {{"object", "list"}, {"data", data}});
    });
    server.Get(R"(/v1/models/(.+))", [ctx](const httplib::Request & req, httplib::Response & res) {
        std::string id = req.matches[1];
        if (!ctx.service || ctx.service->model().id != id)
            return send_error(
                res, not_found_error("The model '" + id + "' does not exist (see GET /v1/models)",
                                     "model_not_found"));
        send_json(res, model_json(ctx.service->model()));
    });
    server.Post("/v1/chat/completions",
                [ctx](const httplib::Request & req, httplib::Response & res) {
                    handle_generation(ctx, req, res, true);
                });
    server.Post("/v1/completions", [ctx](const httplib::Request & req, httplib::Response & res) {
        handle_generation(ctx, req, res, false);
    });
}

}  // namespace gemdesk::server
