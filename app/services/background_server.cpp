// BackgroundServer: one worker thread that applies the latest wanted server configuration.
#include "services/background_server.h"

namespace gemdesk::services {

BackgroundServer::BackgroundServer(StatusFn on_status)
    : on_status_(std::move(on_status)), thread_([this] { loop(); }) {}

BackgroundServer::~BackgroundServer() {
    {
        std::lock_guard lock(mu_);
        quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void BackgroundServer::set_wanted(std::optional<ServerWanted> wanted) {
    {
        std::lock_guard lock(mu_);
        wanted_ = std::move(wanted);
        dirty_ = true;
    }
    cv_.notify_all();
}

ServerStatus BackgroundServer::status() const {
    std::lock_guard lock(mu_);
    return status_;
}

void BackgroundServer::report(ServerStatus status) {
    {
        std::lock_guard lock(mu_);
        status_ = status;
    }
    if (on_status_) on_status_(status);
}

void BackgroundServer::loop() {
    std::unique_ptr<server::HttpServer> running;
    for (;;) {
        std::optional<ServerWanted> wanted;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return dirty_ || quit_; });
            if (quit_) break;
            wanted = std::move(wanted_);
            wanted_.reset();
            dirty_ = false;
        }
        if (running) {
            running->stop();
            running.reset();
        }
        if (!wanted) {
            report({ServerStatus::State::off, 0, ""});
            continue;
        }
        report({ServerStatus::State::starting, 0, ""});
        auto created = server::HttpServer::create(wanted->config, wanted->service);
        if (!created.ok()) {
            report({ServerStatus::State::failed, 0, created.error().message});
            continue;
        }
        auto started = (*created)->start();
        if (!started.ok()) {
            report({ServerStatus::State::failed, 0, started.error().message});
            continue;
        }
        running = std::move(*created);
        report({ServerStatus::State::running, running->port(), ""});
    }
    if (running) running->stop();
}

}  // namespace gemdesk::services
