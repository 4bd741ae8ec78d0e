// The gemdesk-server command line: options → ServerConfig, service creation, run until SIGINT /
// SIGTERM. Shared by gemdesk-server (engine service) and the test-only fake server binary.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "server/chat_service.h"

namespace gemdesk::server {

// What the command line says about the engine: --model DIR, --backend B, --ctx N, --parallel N,
// --weights bf16|q8_0|q4_0, --kv-cache f32|bf16|q8_0.
struct ServiceOptions {
    std::string model_dir;
    std::string backend;  // "" = the factory's default
    std::string weights;  // "" = as stored; else checked by the factory (gemma4 parse_weight_type)
    int n_ctx = 8192;
    int parallel = 4;
    gemma::DType kv_cache = gemma::DType::f32;
    bool ple_on_host = false;  // --ple-host
};

// Builds the ChatService for the options.
using ServiceFactory =
    std::function<gemma::Result<std::shared_ptr<ChatService>>(const ServiceOptions & options)>;

// Returns the process exit code: 0 after a clean shutdown, 2 for bad options, 1 when the server
// cannot start. Prints "gemdesk-server: listening on http://HOST:PORT" once it accepts requests,
// and "gemdesk-server: model ready" (or why not) once a background load has finished.
int run_server_cli(int argc, char ** argv, const ServiceFactory & make_service);

}  // namespace gemdesk::server
