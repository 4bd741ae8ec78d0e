// POST /v1/messages: the Anthropic Messages API over the same ChatService, with thinking,
// text and tool_use content blocks, and the Anthropic SSE event sequence when streaming.
#include "server/anthropic_request.h"
#include "server/request_fields.h"
#include "server/routes.h"
#include "server/sse.h"

namespace gemdesk::server {

namespace {

using nlohmann::json;

const char * stop_reason(const GenerationOutcome & o) {
    if (o.stop_hit) return "stop_sequence";
    switch (o.finish) {
        case FinishReason::length:
            return "max_tokens";
        case FinishReason::tool_calls:
            return "tool_use";
        default:
            return "end_turn";
    }
}

json stop_sequence(const Job & job, const GenerationOutcome & o) {
    return o.stop_hit ? json(job.filter.matched_stop()) : json();
}

json tool_input(const ToolCall & call) {
    auto parsed = parse_json_object(call.arguments);
    return parsed.ok() ? parsed.value() : json::object();
}

json usage(const Usage & u) {
    return {{"input_tokens", u.prompt_tokens}, {"output_tokens", u.completion_tokens}};
}

json message_shell(const Job & job) {
    return {{"id", job.header.id},       {"type", "message"},        {"role", "assistant"},
            {"model", job.header.model}, {"content", json::array()}, {"stop_reason", nullptr},
            {"stop_sequence", nullptr}};
}

void whole(Job & job, httplib::Response & res) {
    ChatAccumulator acc;
    auto outcome = run_job(job, [&](const Event & d) {
        acc.add(d);
        return true;
    });
    if (outcome.client_gone) return;
    if (outcome.error)
        return send_error(res, api_error_from(*outcome.error), ErrorStyle::anthropic);
    json msg = message_shell(job);
    if (!acc.reasoning().empty())
        msg["content"].push_back(
            {{"type", "thinking"}, {"thinking", acc.reasoning()}, {"signature", ""}});
    if (!acc.content().empty())
        msg["content"].push_back({{"type", "text"}, {"text", acc.content()}});
    for (const auto & c : acc.tool_calls())
        msg["content"].push_back(
            {{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", tool_input(c)}});
    msg["stop_reason"] = stop_reason(outcome);
    msg["stop_sequence"] = stop_sequence(job, outcome);
    msg["usage"] = usage(outcome.usage);
    send_json(res, msg);
}

// Opens and closes content blocks as the kind of delta changes.
class BlockWriter {
public:
    explicit BlockWriter(const StreamWrite & write) : write_(write) {}

    bool delta(const Event & d) {
        if (d.kind == Event::Kind::tool_call) {
            if (!open("tool_use", {{"type", "tool_use"},
                                   {"id", d.tool_call.id},
                                   {"name", d.tool_call.name},
                                   {"input", json::object()}}))
                return false;
            return send_delta(
                       {{"type", "input_json_delta"}, {"partial_json", d.tool_call.arguments}}) &&
                   close();
        }
        if (d.text.empty()) return true;
        if (d.kind == Event::Kind::reasoning) {
            if (type_ != "thinking" && !open("thinking", {{"type", "thinking"}, {"thinking", ""}}))
                return false;
            return send_delta({{"type", "thinking_delta"}, {"thinking", d.text}});
        }
        if (type_ != "text" && !open("text", {{"type", "text"}, {"text", ""}})) return false;
        return send_delta({{"type", "text_delta"}, {"text", d.text}});
    }

    bool close() {
        if (type_.empty()) return true;
        if (type_ == "thinking" && !send_delta({{"type", "signature_delta"}, {"signature", ""}}))
            return false;
        type_.clear();
        return write_(
            sse_event("content_block_stop", {{"type", "content_block_stop"}, {"index", index_}}));
    }

private:
    bool open(const std::string & type, const json & block) {
        if (!close()) return false;
        type_ = type;
        index_++;
        return write_(sse_event(
            "content_block_start",
            {{"type", "content_block_start"}, {"index", index_}, {"content_block", block}}));
    }
    bool send_delta(const json & delta) {
        return write_(
            sse_event("content_block_delta",
                      {{"type", "content_block_delta"}, {"index", index_}, {"delta", delta}}));
    }

    const StreamWrite & write_;
    std::string type_;
    int index_ = -1;
};

void streamed(std::shared_ptr<Job> job, const StreamWrite & write) {
    json start = message_shell(*job);
    start["usage"] = {{"input_tokens", 0}, {"output_tokens", 0}};
    if (!write(sse_event("message_start", {{"type", "message_start"}, {"message", start}})))
        return job->stream->cancel();
    BlockWriter blocks(write);
    auto outcome = run_job(*job, [&](const Event & d) { return blocks.delta(d); });
    if (outcome.client_gone) return;
    if (outcome.error) {
        ApiError e = api_error_from(*outcome.error);
        write(sse_event("error", json::parse(anthropic_error_body(e), nullptr, false)));
        return;
    }
    if (!blocks.close()) return;
    json delta = {{"stop_reason", stop_reason(outcome)},
                  {"stop_sequence", stop_sequence(*job, outcome)}};
    if (!write(sse_event(
            "message_delta",
            {{"type", "message_delta"}, {"delta", delta}, {"usage", usage(outcome.usage)}})))
        return;
    write(sse_event("message_stop", {{"type", "message_stop"}}));
}

}  // namespace

void register_anthropic_routes(httplib::Server & server, const RouteContext & ctx) {
    server.Post("/v1/messages", [ctx](const httplib::Request & req, httplib::Response & res) {
        ParseFn parse = [&ctx](const json & body) {
            return parse_anthropic_request(body, ctx.media);
        };
        auto job = start_job(ctx, req, res, parse, ErrorStyle::anthropic, "msg_");
        if (!job) return;
        if (!job->request.stream) return whole(*job, res);
        stream_body(res, "text/event-stream",
                    [job](const StreamWrite & write) { streamed(job, write); });
    });
}

}  // namespace gemdesk::server
