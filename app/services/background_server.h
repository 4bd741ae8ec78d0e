// The desktop app's optional API server: the same HttpServer as gemdesk-server, started and
// stopped on its own thread (binding and draining connections never block the caller, e.g. the
// GUI thread). The caller states the wanted configuration; the worker converges to it.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/chat_service.h"
#include "server/http_server.h"

namespace gemdesk::services {

struct ServerWanted {
    server::ServerConfig config;
    std::shared_ptr<server::ChatService> service;  // what answers the generation routes
};

struct ServerStatus {
    enum class State { off, starting, running, failed };
    State state = State::off;
    int port = 0;         // running: the bound port
    std::string message;  // failed: why, and what to change
};

// Thread-safe. Status callbacks run on the worker thread; keep them short (post to a queue).
class BackgroundServer {
public:
    using StatusFn = std::function<void(const ServerStatus &)>;
    explicit BackgroundServer(StatusFn on_status);
    ~BackgroundServer();  // stops the server and joins the worker
    BackgroundServer(const BackgroundServer &) = delete;
    BackgroundServer & operator=(const BackgroundServer &) = delete;

    // nullopt: off. Otherwise (re)starts with this configuration; the latest call wins.
    void set_wanted(std::optional<ServerWanted> wanted);
    ServerStatus status() const;

private:
    void loop();
    void report(ServerStatus status);

    StatusFn on_status_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::optional<ServerWanted> wanted_;
    bool dirty_ = false, quit_ = false;
    ServerStatus status_;
    std::thread thread_;  // last member: starts after the others exist
};

}  // namespace gemdesk::services
