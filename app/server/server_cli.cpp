// Option parsing and the run loop of gemdesk-server.
#include "server/server_cli.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/args.h"
#include "core/kv_quant.h"
#include "server/http_server.h"

namespace gemdesk::server {

namespace {

const char * kUsage =
    "usage: gemdesk-server --model DIR [--host 127.0.0.1] [--port 8080] [--api-key KEY | "
    "--api-key-file F]\n"
    "                      [--backend cpu] [--ctx 8192] [--parallel 4] [--weights bf16|q8_0|q4_0]\n"
    "                      [--kv-cache f32|bf16|q8_0] [--ple-host]\n"
    "                      [--upstream http://HOST:PORT [--upstream-api-key KEY]]\n"
    "                      [--cors-origin ORIGIN,...] [--media-dir DIR,...] [--max-concurrent 16]\n"
    "                      [--max-body-mb 32] [--timeout 30]\n"
    "  --port 0 picks a free port. A host other than loopback requires an API key.\n"
    "  --ctx is the context per request, --parallel how many requests decode at once,\n"
    "  --kv-cache the KV cache type: f32, bf16 (half the memory) or q8_0 (about a quarter).\n"
    "  --ple-host keeps the per-layer embedding table in host memory (less GPU memory).\n"
    "  With --upstream, requests are forwarded to that server and --model is optional.\n";

std::vector<std::string> split_list(const std::string & s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

gemma::Result<std::string> read_key_file(const std::string & path) {
    std::ifstream in(path);
    if (!in)
        return gemma::make_error(gemma::ErrorCode::not_found,
                                 "cannot read --api-key-file '" + path + "'");
    std::string key;
    std::getline(in, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    if (key.empty())
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "--api-key-file '" + path + "' is empty");
    return key;
}

gemma::Result<ServerConfig> config_from_args(const cli::Args & args) {
    ServerConfig c;
    c.host = args.get("host", c.host);
    c.port = int(args.get_int("port", c.port));
    c.api_key = args.get("api-key");
    if (args.has("api-key-file")) {
        if (!c.api_key.empty())
            return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                     "give either --api-key or --api-key-file, not both");
        auto key = read_key_file(args.get("api-key-file"));
        if (!key.ok()) return key.error();
        c.api_key = key.value();
    }
    c.cors_origins = split_list(args.get("cors-origin"));
    for (const auto & dir : split_list(args.get("media-dir")))
        c.media.allowed_dirs.emplace_back(dir);
    c.max_concurrent = int(args.get_int("max-concurrent", c.max_concurrent));
    c.max_body_bytes = size_t(args.get_int("max-body-mb", 32)) << 20;
    c.read_timeout_s = c.write_timeout_s = int(args.get_int("timeout", 30));
    c.upstream_url = args.get("upstream");
    c.upstream_api_key = args.get("upstream-api-key");
    std::string err = args.check_known({"model", "host", "port", "api-key", "api-key-file",
                                        "backend", "upstream", "upstream-api-key", "cors-origin",
                                        "media-dir", "max-concurrent", "max-body-mb", "timeout",
                                        "ctx", "parallel", "weights", "kv-cache", "ple-host"});
    if (!err.empty()) return gemma::make_error(gemma::ErrorCode::invalid_argument, err);
    GEMMA_TRY(validate_config(c));
    return c;
}

// Prints once whether generation is available: at once, or when a background load finishes.
void report_readiness(ChatService * service, const std::atomic<bool> & done) {
    if (!service) return;
    bool said_loading = false;
    while (!done) {
        ServiceState st = service->state();
        if (st == ServiceState::ready) {
            std::printf("gemdesk-server: model ready\n");
        } else if (st == ServiceState::unavailable) {
            std::printf("gemdesk-server: generation unavailable: %s\n",
                        service->state_message().c_str());
        } else {
            if (!said_loading)
                std::printf("gemdesk-server: %s\n", service->state_message().c_str());
            said_loading = true;
            std::fflush(stdout);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        std::fflush(stdout);
        return;
    }
}

}  // namespace

int run_server_cli(int argc, char ** argv, const ServiceFactory & make_service) {
    cli::Args args(argc, argv, {"ple-host"});
    auto config = config_from_args(args);
    if (!config.ok()) {
        std::fprintf(stderr, "gemdesk-server: %s\n%s", config.error().message.c_str(), kUsage);
        return 2;
    }
    std::shared_ptr<ChatService> service;
    if (config.value().upstream_url.empty() || args.has("model")) {
        ServiceOptions so;
        so.model_dir = args.get("model");
        so.backend = args.get("backend");
        so.weights = args.get("weights");
        so.n_ctx = int(args.get_int("ctx", so.n_ctx));
        so.parallel = int(args.get_int("parallel", so.parallel));
        auto kv = gemma::kv_cache_dtype_parse(args.get("kv-cache", "f32"));
        if (!kv.ok()) {
            std::fprintf(stderr, "gemdesk-server: --kv-cache: %s\n%s", kv.error().message.c_str(),
                         kUsage);
            return 2;
        }
        so.kv_cache = *kv;
        so.ple_on_host = args.has("ple-host");
        auto made = make_service(so);
        if (!made.ok()) {
            std::fprintf(stderr, "gemdesk-server: %s\n%s", made.error().message.c_str(), kUsage);
            return 2;
        }
        service = made.value();
    }
    // Block the stop signals before any server thread exists; the main thread waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    std::string host = config.value().host;
    auto server = HttpServer::create(std::move(config.value()), service);
    if (!server.ok()) {
        std::fprintf(stderr, "gemdesk-server: %s\n", server.error().message.c_str());
        return 2;
    }
    if (auto started = server.value()->start(); !started.ok()) {
        std::fprintf(stderr, "gemdesk-server: %s\n", started.error().message.c_str());
        return 1;
    }
    std::printf("gemdesk-server: listening on http://%s:%d\n", host.c_str(),
                server.value()->port());
    std::fflush(stdout);
    std::atomic<bool> done{false};
    std::thread watcher([&] { report_readiness(service.get(), done); });
    int sig = 0;
    sigwait(&stop_signals, &sig);
    done = true;
    watcher.join();
    std::printf("gemdesk-server: stopping (signal %d)\n", sig);
    std::fflush(stdout);
    server.value()->stop();
    return 0;
}

}  // namespace gemdesk::server
