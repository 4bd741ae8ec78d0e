// HttpServer: cpp-httplib wiring, security checks before routing (CORS allowlist, API key),
// error bodies for unknown routes and oversized bodies, request metrics, health and metrics.
#include "server/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <set>
#include <thread>

#include "server/routes.h"
#include "server/security.h"
#include "server/sse.h"
#include "server/upstream_proxy.h"

namespace gemdesk::server {

struct HttpServer::Impl {
    ServerConfig config;
    std::shared_ptr<ChatService> service;
    Metrics metrics;
    ConcurrencyGate gate;
    httplib::Server http;
    std::thread listener;
    int port = -1;
    std::atomic<bool> stopping{false};

    Impl(ServerConfig c, std::shared_ptr<ChatService> s)
        : config(std::move(c)), service(std::move(s)), gate(config.max_concurrent) {}
};

namespace {

const std::set<std::string> kKnownRoutes = {"/health",         "/metrics",
                                            "/v1/models",      "/v1/chat/completions",
                                            "/v1/completions", "/v1/audio/transcriptions",
                                            "/v1/messages"};

std::string route_label(const std::string & path) {
    if (kKnownRoutes.count(path)) return path;
    if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
    return "other";
}

ErrorStyle style_for(const httplib::Request & req) {
    return req.path == "/v1/messages" ? ErrorStyle::anthropic : ErrorStyle::openai;
}

// CORS and authentication, before any route runs.
httplib::Server::HandlerResponse pre_route(const ServerConfig & config,
                                           const httplib::Request & req, httplib::Response & res) {
    std::string origin = req.get_header_value("Origin");
    if (!origin.empty()) {
        if (!origin_allowed(config.cors_origins, origin)) {
            ApiError e{403, "permission_error",
                       "browser origin '" + origin + "' is not allowed; add it with --cors-origin",
                       "", "origin_not_allowed"};
            send_error(res, e, style_for(req));
            return httplib::Server::HandlerResponse::Handled;
        }
        res.set_header("Access-Control-Allow-Origin", origin);
        res.set_header("Vary", "Origin");
        if (req.method == "OPTIONS") {
            res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            res.set_header("Access-Control-Allow-Headers",
                           "Authorization, Content-Type, x-api-key, anthropic-version");
            res.set_header("Access-Control-Max-Age", "600");
            res.status = 204;
            return httplib::Server::HandlerResponse::Handled;
        }
    }
    if (!config.api_key.empty() && req.path != "/health") {
        std::string key = api_key_from_headers(req.get_header_value("Authorization"),
                                               req.get_header_value("x-api-key"));
        if (!constant_time_equal(key, config.api_key)) {
            send_error(
                res,
                unauthorized(key.empty() ? "missing API key; send 'Authorization: Bearer <key>'"
                                         : "invalid API key"),
                style_for(req));
            res.set_header("WWW-Authenticate", "Bearer");
            return httplib::Server::HandlerResponse::Handled;
        }
    }
    return httplib::Server::HandlerResponse::Unhandled;
}

// Fills in bodies for errors httplib produces itself (no route, body too large, bad request line).
httplib::Server::HandlerResponse on_error(const ServerConfig & config, const httplib::Request & req,
                                          httplib::Response & res) {
    if (!res.body.empty() || res.status == 204) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    if (res.status == 404) {
        e = not_found_error(
            "unknown route " + req.method + " " + req.path +
            "; this server offers /v1/models, /v1/chat/completions, /v1/completions, "
            "/v1/audio/transcriptions, /v1/messages, /health, /metrics");
    } else if (res.status == 413) {
        e = {413, "invalid_request_error",
             gemma::format("request body is larger than the %zu-byte limit", config.max_body_bytes),
             "", "request_too_large"};
    } else if (res.status == 400) {
        e = bad_request("malformed HTTP request");
    } else {
        e = {res.status, "server_error",
             "request failed with HTTP status " + std::to_string(res.status), "", ""};
    }
    int status = res.status;
    send_error(res, e, style_for(req));
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
}

void register_service_routes(httplib::Server & http, HttpServer::Impl & impl) {
    HttpServer::Impl * p = &impl;  // outlives the server's handlers
    http.Get("/health", [p](const httplib::Request &, httplib::Response & res) {
        if (!p->service) return send_json(res, {{"status", "ok"}});
        ServiceState state = p->service->state();
        const char * name = state == ServiceState::ready     ? "ok"
                            : state == ServiceState::loading ? "loading"
                                                             : "unavailable";
        nlohmann::json body = {{"status", name}, {"model", p->service->model().id}};
        if (state != ServiceState::ready) body["message"] = p->service->state_message();
        send_json(res, body, state == ServiceState::ready ? 200 : 503);
    });
    http.Get("/metrics", [p](const httplib::Request &, httplib::Response & res) {
        ServiceStats stats = p->service ? p->service->stats() : ServiceStats{};
        res.set_content(p->metrics.render(stats, p->gate.in_use()), "text/plain; version=0.0.4");
    });
}

}  // namespace

gemma::Status validate_config(const ServerConfig & c) {
    using gemma::ErrorCode;
    if (!c.api_key.empty() && c.api_key.size() < 8)
        return gemma::make_error(ErrorCode::invalid_argument,
                                 "the API key is shorter than 8 characters; use a longer one");
    if (c.api_key.empty() && !is_loopback_host(c.host))
        return gemma::make_error(
            ErrorCode::invalid_argument,
            "binding to non-loopback address '" + c.host +
                "' requires an API key (--api-key or --api-key-file), or bind to 127.0.0.1");
    if (c.port < 0 || c.port > 65535)
        return gemma::make_error(ErrorCode::invalid_argument,
                                 gemma::format("port %d is outside 0-65535", c.port));
    if (c.max_concurrent < 1 || c.max_body_bytes < 1024 || c.read_timeout_s < 1 ||
        c.write_timeout_s < 1)
        return gemma::make_error(
            ErrorCode::invalid_argument,
            "limits must be positive (max concurrent >= 1, body limit >= 1 KiB, timeouts >= 1 s)");
    if (!c.upstream_url.empty()) {
        auto target = parse_upstream_url(c.upstream_url);
        if (!target.ok()) return target.error();
    }
    return gemma::Status::success();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { stop(); }

gemma::Result<std::unique_ptr<HttpServer>> HttpServer::create(
    ServerConfig config, std::shared_ptr<ChatService> service) {
    GEMMA_TRY(validate_config(config));
    if (!service && config.upstream_url.empty())
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "the server needs a chat service or an upstream URL");
    auto impl = std::make_unique<Impl>(std::move(config), std::move(service));
    const ServerConfig & c = impl->config;
    httplib::Server & http = impl->http;
    // Threads: every slot of the cap plus room for health/metrics/429 answers and idle keep-alives.
    size_t n_threads = size_t(c.max_concurrent) * 2 + 16;
    http.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
    http.set_payload_max_length(c.max_body_bytes);
    http.set_read_timeout(c.read_timeout_s);
    http.set_write_timeout(c.write_timeout_s);
    http.set_keep_alive_timeout(c.keep_alive_timeout_s);
    http.set_keep_alive_max_count(100);  // httplib's default of 5 reconnects streaming clients often
    http.set_pre_routing_handler([&c](const httplib::Request & req, httplib::Response & res) {
        return pre_route(c, req, res);
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [&c](const httplib::Request & req, httplib::Response & res) {
            return on_error(c, req, res);
        }));
    http.set_exception_handler([](const httplib::Request & req, httplib::Response & res,
                                  std::exception_ptr ep) {
        std::string what = "unexpected error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception & e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res,
                   ApiError{500, "server_error", "internal error: " + what, "", "internal_error"},
                   style_for(req));
    });
    Metrics * metrics = &impl->metrics;
    http.set_logger([metrics](const httplib::Request & req, const httplib::Response & res) {
        metrics->count_request(route_label(req.path), res.status);
    });
    RouteContext ctx{impl->service.get(), &impl->metrics, &impl->gate, c.media,
                     c.retry_after_s,     &impl->stopping};
    register_service_routes(http, *impl);
    if (!c.upstream_url.empty()) {
        register_upstream_routes(http, ctx, parse_upstream_url(c.upstream_url).value(),
                                 c.upstream_api_key);
    } else {
        register_openai_routes(http, ctx);
        register_anthropic_routes(http, ctx);
        register_audio_routes(http, ctx);
    }
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

gemma::Status HttpServer::start() {
    // A client that vanishes mid-write must surface as a failed write, not kill the process.
    ::signal(SIGPIPE, SIG_IGN);
    Impl & p = *impl_;
    if (p.config.port == 0) {
        p.port = p.http.bind_to_any_port(p.config.host);
    } else {
        p.port = p.http.bind_to_port(p.config.host, p.config.port) ? p.config.port : -1;
    }
    if (p.port <= 0)
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 gemma::format("cannot listen on %s:%d (address in use or not "
                                               "local? try another --port or --host)",
                                               p.config.host.c_str(), p.config.port));
    p.listener = std::thread([&p] { p.http.listen_after_bind(); });
    return gemma::Status::success();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::stop() {
    if (!impl_) return;
    impl_->stopping = true;  // running generations see it and cancel
    impl_->http.stop();
    if (impl_->listener.joinable()) impl_->listener.join();
}

}  // namespace gemdesk::server
