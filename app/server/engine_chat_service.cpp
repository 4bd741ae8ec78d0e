// The engine-backed ChatService; without a runtime it is an honest "unavailable" (never a fake).
#include "server/engine_chat_service.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace gemdesk::server {

namespace {

class UnavailableChatService : public ChatService {
public:
    UnavailableChatService(ModelInfo info, std::string why)
        : info_(std::move(info)), why_(std::move(why)) {}
    ModelInfo model() const override { return info_; }
    ServiceState state() const override { return ServiceState::unavailable; }
    std::string state_message() const override { return why_; }
    ServiceStats stats() const override { return {}; }
    gemma::Result<std::unique_ptr<EventStream>> submit(CompletionJob) override {
        return gemma::make_error(gemma::ErrorCode::unsupported, why_);
    }

private:
    ModelInfo info_;
    std::string why_;
};

// text_config.max_position_embeddings, when the config has it.
int context_length_of(const std::filesystem::path & config_path) {
    std::ifstream in(config_path);
    nlohmann::json config = nlohmann::json::parse(in, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return 0;
    auto text = config.find("text_config");
    const nlohmann::json & tc = text != config.end() && text->is_object() ? *text : config;
    auto it = tc.find("max_position_embeddings");
    return it != tc.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(const std::string & model_dir,
                                                                     const std::string & backend) {
    std::filesystem::path dir(model_dir);
    std::error_code ec;
    if (model_dir.empty() || !std::filesystem::is_regular_file(dir / "config.json", ec))
        return gemma::make_error(
            gemma::ErrorCode::invalid_argument,
            "--model must name a model directory containing config.json (got '" + model_dir + "')");
    ModelInfo info;
    info.id = std::filesystem::absolute(dir).lexically_normal().filename().string();
    if (info.id.empty())
        info.id =
            std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
    info.context_length = context_length_of(dir / "config.json");
    std::string why =
        "this build of gemdesk-server has no inference runtime yet (backend '" +
        (backend.empty() ? std::string("auto") : backend) +
        "'); generation is unavailable until the runtime lands. Use --upstream URL to forward to "
        "another OpenAI-compatible server meanwhile.";
    return std::shared_ptr<ChatService>(
        std::make_shared<UnavailableChatService>(std::move(info), std::move(why)));
}

}  // namespace gemdesk::server
