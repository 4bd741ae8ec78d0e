// The upstream relay: one worker thread per request runs the httplib client and hands response
// chunks to the downstream connection through a small queue.
#include "server/upstream_proxy.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "server/routes.h"

namespace gemdesk::server {

namespace {

struct Relay {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> chunks;
    bool headers = false, done = false;
    int status = 0;
    std::string content_type, failure;
    std::atomic<bool> cancelled{false};
    httplib::Client * client = nullptr;  // while the worker runs; guarded by mu
    std::thread worker;

    ~Relay() {
        {
            std::lock_guard lock(mu);
            cancelled = true;
            if (client) client->stop();  // unblocks a read waiting on a silent upstream
        }
        if (worker.joinable()) worker.join();
    }
};

std::string sanitize(std::string s) {
    std::erase_if(s, [](char c) { return c == '"' || c == '\r' || c == '\n'; });
    return s;
}

// httplib parsed the multipart upload into req.files; encode it again for the upstream.
std::string encode_multipart(const httplib::Request & req, const std::string & boundary) {
    std::string body;
    for (const auto & [name, file] : req.files) {
        body +=
            "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + sanitize(name) + "\"";
        if (!file.filename.empty()) body += "; filename=\"" + sanitize(file.filename) + "\"";
        body += "\r\n";
        if (!file.content_type.empty())
            body += "Content-Type: " + sanitize(file.content_type) + "\r\n";
        body += "\r\n" + file.content + "\r\n";
    }
    return body + "--" + boundary + "--\r\n";
}

void start_worker(Relay & relay, const UpstreamTarget & target, httplib::Request up) {
    relay.worker = std::thread([&relay, target, up = std::move(up)]() mutable {
        httplib::Client client(target.host, target.port);
        client.set_connection_timeout(5);
        client.set_read_timeout(600);
        client.set_write_timeout(30);
        {
            std::lock_guard lock(relay.mu);
            if (relay.cancelled) return;
            relay.client = &client;
        }
        up.response_handler = [&relay](const httplib::Response & r) {
            std::lock_guard lock(relay.mu);
            relay.status = r.status;
            relay.content_type = r.get_header_value("Content-Type");
            relay.headers = true;
            relay.cv.notify_all();
            return !relay.cancelled.load();
        };
        up.content_receiver = [&relay](const char * data, size_t n, uint64_t, uint64_t) {
            std::lock_guard lock(relay.mu);
            relay.chunks.emplace_back(data, n);
            relay.cv.notify_all();
            return !relay.cancelled.load();
        };
        httplib::Response res;
        httplib::Error err = httplib::Error::Success;
        bool ok = client.send(up, res, err);
        std::lock_guard lock(relay.mu);
        relay.client = nullptr;
        if (!ok && !relay.headers) relay.failure = httplib::to_string(err);
        relay.done = true;
        relay.cv.notify_all();
    });
}

void forward(const RouteContext & ctx, const UpstreamTarget & target, const std::string & key,
             const httplib::Request & req, httplib::Response & res) {
    ErrorStyle style = req.path == "/v1/messages" ? ErrorStyle::anthropic : ErrorStyle::openai;
    auto slot = std::make_shared<GateSlot>(*ctx.gate);
    if (!slot->held()) {
        ctx.metrics->count_rejected();
        send_error(
            res,
            too_many_requests("too many concurrent requests; retry after the Retry-After delay"),
            style);
        res.set_header("Retry-After", std::to_string(ctx.retry_after_s));
        return;
    }
    httplib::Request up;
    up.method = req.method;
    up.path = target.base_path + req.target;
    if (req.is_multipart_form_data()) {
        std::string boundary = random_id("gemdesk-");
        up.body = encode_multipart(req, boundary);
        up.set_header("Content-Type", "multipart/form-data; boundary=" + boundary);
    } else if (req.method == "POST") {
        up.body = req.body;
        std::string type = req.get_header_value("Content-Type");
        up.set_header("Content-Type", type.empty() ? "application/json" : type);
    }
    for (const char * h : {"Accept", "anthropic-version"})
        if (req.has_header(h)) up.set_header(h, req.get_header_value(h));
    if (!key.empty()) up.set_header("Authorization", "Bearer " + key);

    auto relay = std::make_shared<Relay>();
    start_worker(*relay, target, std::move(up));
    {
        std::unique_lock lock(relay->mu);
        relay->cv.wait(lock, [&] { return relay->headers || relay->done; });
        if (!relay->headers) {
            ApiError e{
                502, "upstream_error",
                gemma::format("the upstream server %s:%d did not answer (%s); check --upstream",
                              target.host.c_str(), target.port, relay->failure.c_str()),
                "", "upstream_unreachable"};
            lock.unlock();
            return send_error(res, e, style);
        }
        res.status = relay->status;
    }
    auto watch = std::make_shared<PeerWatch>(peer_watch_for(req));
    const std::atomic<bool> * stopping = ctx.stopping;
    stream_body(res, relay->content_type.empty() ? "application/json" : relay->content_type,
                [relay, slot, watch, stopping](const StreamWrite & write) {
                    for (;;) {
                        std::unique_lock lock(relay->mu);
                        relay->cv.wait_for(lock, std::chrono::milliseconds(100),
                                           [&] { return !relay->chunks.empty() || relay->done; });
                        while (!relay->chunks.empty()) {
                            std::string chunk = std::move(relay->chunks.front());
                            relay->chunks.pop_front();
                            lock.unlock();
                            if (!write(chunk)) {
                                relay->cancelled = true;
                                return;
                            }
                            lock.lock();
                        }
                        if (relay->done) return;
                        if (watch->closed() || (stopping && *stopping)) {
                            relay->cancelled = true;
                            return;
                        }
                    }
                });
}

}  // namespace

gemma::Result<UpstreamTarget> parse_upstream_url(const std::string & url) {
    auto bad = [&](const std::string & why) {
        return gemma::make_error(
            gemma::ErrorCode::invalid_argument,
            "--upstream '" + url + "': " + why + " (expected http://host:port)");
    };
    const std::string scheme = "http://";
    if (url.rfind("https://", 0) == 0)
        return bad("https upstreams are not supported; use http on a trusted network");
    if (url.rfind(scheme, 0) != 0) return bad("must start with http://");
    std::string rest = url.substr(scheme.size());
    size_t slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    UpstreamTarget t;
    t.base_path = slash == std::string::npos ? "" : rest.substr(slash);
    while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
    if (t.base_path.size() >= 3 && t.base_path.compare(t.base_path.size() - 3, 3, "/v1") == 0)
        t.base_path.resize(t.base_path.size() - 3);
    size_t colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    if (colon != std::string::npos) {
        std::string port = hostport.substr(colon + 1);
        char * end = nullptr;
        long p = std::strtol(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || p < 1 || p > 65535) return bad("invalid port");
        t.port = int(p);
    }
    if (t.host.empty()) return bad("missing host");
    return t;
}

void register_upstream_routes(httplib::Server & server, const RouteContext & ctx,
                              const UpstreamTarget & target, const std::string & upstream_api_key) {
    auto handler = [ctx, target, upstream_api_key](const httplib::Request & req,
                                                   httplib::Response & res) {
        forward(ctx, target, upstream_api_key, req, res);
    };
    server.Get("/v1/models", handler);
    server.Get(R"(/v1/models/(.+))", handler);
    for (const char * path :
         {"/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/audio/transcriptions"})
        server.Post(path, handler);
}

}  // namespace gemdesk::server
