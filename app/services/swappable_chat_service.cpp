// SwappableChatService: forwards to the current target, or reports loading without one.
#include "services/swappable_chat_service.h"

namespace gemdesk::services {

void SwappableChatService::set_target(std::shared_ptr<server::ChatService> target) {
    std::lock_guard lock(mu_);
    if (target) last_model_ = target->model();
    target_ = std::move(target);
}

void SwappableChatService::set_no_target(server::ServiceState state, std::string why) {
    std::lock_guard lock(mu_);
    target_.reset();
    no_target_state_ = state;
    loading_message_ = std::move(why);
}

std::shared_ptr<server::ChatService> SwappableChatService::target() const {
    std::lock_guard lock(mu_);
    return target_;
}

server::ModelInfo SwappableChatService::model() const {
    std::lock_guard lock(mu_);
    return target_ ? target_->model() : last_model_;
}

server::ServiceState SwappableChatService::state() const {
    std::lock_guard lock(mu_);
    return target_ ? target_->state() : no_target_state_;
}

std::string SwappableChatService::state_message() const {
    std::lock_guard lock(mu_);
    return target_ ? target_->state_message() : loading_message_;
}

server::ServiceStats SwappableChatService::stats() const {
    auto t = target();
    return t ? t->stats() : server::ServiceStats{};
}

gemma::Result<std::unique_ptr<server::EventStream>> SwappableChatService::submit(
    server::CompletionJob job) {
    auto t = target();
    if (!t) {
        std::lock_guard lock(mu_);
        return gemma::make_error(gemma::ErrorCode::not_found, loading_message_);
    }
    return t->submit(std::move(job));
}

}  // namespace gemdesk::services
