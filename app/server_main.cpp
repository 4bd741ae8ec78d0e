// gemdesk-server: the headless OpenAI-compatible API server. Until the server issue (#6) lands
// this serves only GET /health and GET /v1/models for the configured model directory.
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/args.h"

namespace {
httplib::Server * g_server = nullptr;
void on_signal(int) {
    if (g_server) g_server->stop();
}
}  // namespace

int main(int argc, char ** argv) {
    gemdesk::cli::Args args(argc, argv, {});
    std::string err = args.check_known({"model", "host", "port"});
    if (!err.empty()) {
        std::fprintf(stderr, "gemdesk-server: %s\nusage: gemdesk-server --model DIR [--host 127.0.0.1] [--port 8080]\n", err.c_str());
        return 2;
    }
    std::string model = args.get("model");
    if (model.empty() || !std::filesystem::exists(std::filesystem::path(model) / "config.json")) {
        std::fprintf(stderr, "gemdesk-server: --model must name a model directory with config.json (got '%s')\n", model.c_str());
        return 2;
    }
    std::string host = args.get("host", "127.0.0.1");
    int port = int(args.get_int("port", 8080));
    std::string model_id = std::filesystem::path(model).filename().string();

    httplib::Server server;
    server.Get("/health", [](const httplib::Request &, httplib::Response & res) {
        res.set_content(R"({"status":"ok"})", "application/json");
    });
    server.Get("/v1/models", [&](const httplib::Request &, httplib::Response & res) {
        nlohmann::json body = {{"object", "list"},
                               {"data", {{{"id", model_id}, {"object", "model"}, {"owned_by", "gemdesk"}}}}};
        res.set_content(body.dump(), "application/json");
    });
    g_server = &server;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("gemdesk-server: serving %s on http://%s:%d\n", model.c_str(), host.c_str(), port);
    std::fflush(stdout);
    if (!server.listen(host, port)) {
        std::fprintf(stderr, "gemdesk-server: cannot listen on %s:%d (port in use? try --port)\n", host.c_str(), port);
        return 1;
    }
    return 0;
}
