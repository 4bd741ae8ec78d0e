// Route registration for the HTTP server and the small httplib helpers the route files share
// (error responses, streaming bodies, hang-up detection). Internal to app/server.
#pragma once

#include <httplib.h>

#include <functional>
#include <string>

#include "server/generation.h"
#include "server/http_errors.h"
#include "server/openai_request.h"
#include "server/openai_response.h"
#include "server/peer_watch.h"

namespace gemdesk::server {

enum class ErrorStyle { openai, anthropic };

void send_error(httplib::Response & res, const ApiError & error,
                ErrorStyle style = ErrorStyle::openai);
void send_json(httplib::Response & res, const nlohmann::json & body, int status = 200);
PeerWatch peer_watch_for(const httplib::Request & req);

// Writes one piece of a streamed body; false once the client cannot be written to.
using StreamWrite = std::function<bool(const std::string &)>;
// Streams the body produced by `produce` (run on the connection's thread after the handler
// returns); everything it needs must be owned by the function object.
void stream_body(httplib::Response & res, const std::string & content_type,
                 std::function<void(const StreamWrite &)> produce);

// Admission shared by generation routes: model name, readiness and a concurrency slot. Sends
// the error and returns nullptr when the request must be refused.
std::shared_ptr<GateSlot> admit(const RouteContext & ctx, const std::string & model,
                                httplib::Response & res, ErrorStyle style);

// A generation in progress and everything it needs, kept alive by the streaming body.
struct Job {
    std::shared_ptr<GateSlot> slot;
    std::unique_ptr<EventStream> stream;
    OutputFilter filter;
    ApiRequest request;
    ChunkHeader header;  // response id, creation time, model id
    PeerWatch watch;
    std::chrono::steady_clock::time_point started;
    Metrics * metrics = nullptr;
    const std::atomic<bool> * stopping = nullptr;
};

// Admits and submits an already parsed request; on failure sends the error, returns nullptr.
std::shared_ptr<Job> submit_job(const RouteContext & ctx, const httplib::Request & req,
                                httplib::Response & res, ApiRequest request, ErrorStyle style,
                                const std::string & id_prefix,
                                std::chrono::steady_clock::time_point started);
// Parses the JSON body with `parse`, then submit_job().
using ParseFn = std::function<ApiResult<ApiRequest>(const nlohmann::json &)>;
std::shared_ptr<Job> start_job(const RouteContext & ctx, const httplib::Request & req,
                               httplib::Response & res, const ParseFn & parse, ErrorStyle style,
                               const std::string & id_prefix);
// run_generation() for a job, cancelling when the client leaves or the server stops.
GenerationOutcome run_job(Job & job, const std::function<bool(const Event &)> & on_delta);

void register_openai_routes(httplib::Server & server, const RouteContext & ctx);
void register_anthropic_routes(httplib::Server & server, const RouteContext & ctx);
void register_audio_routes(httplib::Server & server, const RouteContext & ctx);

}  // namespace gemdesk::server
