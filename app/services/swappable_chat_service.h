// The ChatService the desktop app's API server answers with: it forwards to the service over the
// engine loaded now and answers `loading` (routes: 503 with Retry-After) while the model reloads,
// so the server keeps its port and its clients across model reloads. Jobs already running keep
// the service (and engine) they started on.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "server/chat_service.h"

namespace gemdesk::services {

// Thread-safe: the GUI thread swaps the target while server threads call the rest.
class SwappableChatService : public server::ChatService {
public:
    // Forwards to `target` from now on (non-null).
    void set_target(std::shared_ptr<server::ChatService> target);
    // No target: state() is `state` (loading or unavailable: routes answer 503), and
    // state_message() and submit() say `why`.
    void set_no_target(server::ServiceState state, std::string why);
    std::shared_ptr<server::ChatService> target() const;

    server::ModelInfo model() const override;  // the last target's while loading
    server::ServiceState state() const override;
    std::string state_message() const override;
    server::ServiceStats stats() const override;
    // not_found (the model is loading, retry) without a target.
    gemma::Result<std::unique_ptr<server::EventStream>> submit(server::CompletionJob job) override;

private:
    mutable std::mutex mu_;
    std::shared_ptr<server::ChatService> target_;
    server::ModelInfo last_model_;
    server::ServiceState no_target_state_ = server::ServiceState::loading;
    std::string loading_message_ = "the model is loading; retry in a few seconds";
};

}  // namespace gemdesk::services
