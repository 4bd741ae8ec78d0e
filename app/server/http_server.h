// The OpenAI-compatible HTTP server as a library: gemdesk-server and the desktop app both build
// one from a ServerConfig and a ChatService (or an upstream URL) and run it on background threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/chat_service.h"
#include "server/media.h"

namespace gemdesk::server {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;                        // 0: pick a free port (see HttpServer::port())
    std::string api_key;                    // "" = no key; only allowed on a loopback host
    std::vector<std::string> cors_origins;  // allowed browser Origins; empty = none
    size_t max_body_bytes = 32u << 20;      // larger bodies get 413
    int max_concurrent = 16;                // generation requests at once; more get 429
    int retry_after_s = 1;                  // Retry-After on 429 / 503
    int read_timeout_s = 30;                // reading a request
    int write_timeout_s = 30;               // writing a response chunk
    int keep_alive_timeout_s = 5;
    MediaPolicy media;
    std::string upstream_url;  // "http://host:port": forward generation to it
    std::string upstream_api_key;
};

// Refuses configurations that are unsafe or cannot work (non-loopback bind without an API key,
// malformed upstream URL, zero limits) with a message saying what to change.
gemma::Status validate_config(const ServerConfig & config);

class HttpServer {
public:
    // `service` may be null only when config.upstream_url is set. Starts nothing yet.
    static gemma::Result<std::unique_ptr<HttpServer>> create(ServerConfig config,
                                                             std::shared_ptr<ChatService> service);
    ~HttpServer();  // stops the server

    // Binds and serves on background threads. Fails when the address cannot be bound.
    gemma::Status start();
    int port() const;  // the bound port, valid after start()
    void stop();       // stops accepting, waits for the listener thread; idempotent

    HttpServer(const HttpServer &) = delete;
    HttpServer & operator=(const HttpServer &) = delete;

    struct Impl;  // opaque; public only so the .cpp's helpers can name it

private:
    explicit HttpServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace gemdesk::server
