// gemdesk-server-fake: gemdesk-server's command line over the deterministic FakeChatService, for
// client tests (tests/app/node) and the load benchmark. Test-only; never installed.
// GEMDESK_FAKE_TOKEN_MS sets the time per generated token (default 2).
#include <cstdlib>
#include <filesystem>

#include "server/fake_chat_service.h"
#include "server/server_cli.h"

int main(int argc, char ** argv) {
    using namespace gemdesk::server;
    auto factory = [](const ServiceOptions & o) -> gemma::Result<std::shared_ptr<ChatService>> {
        const std::string & model_dir = o.model_dir;
        std::error_code ec;
        if (!std::filesystem::is_regular_file(std::filesystem::path(model_dir) / "config.json", ec))
            return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                     "--model must name a directory with config.json");
        FakeOptions options;
        options.model_id =
            std::filesystem::absolute(model_dir).lexically_normal().filename().string();
        if (const char * ms = std::getenv("GEMDESK_FAKE_TOKEN_MS"))
            options.token_delay = std::chrono::milliseconds(std::atoi(ms));
        return std::shared_ptr<ChatService>(std::make_shared<FakeChatService>(options));
    };
    return run_server_cli(argc, argv, factory);
}
