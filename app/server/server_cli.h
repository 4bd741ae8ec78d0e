// The gemdesk-server command line: options → ServerConfig, service creation, run until SIGINT /
// SIGTERM. Shared by gemdesk-server (engine service) and the test-only fake server binary.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "server/chat_service.h"

namespace gemdesk::server {

// Builds the ChatService for --model DIR and --backend B.
using ServiceFactory = std::function<gemma::Result<std::shared_ptr<ChatService>>(
    const std::string & model_dir, const std::string & backend)>;

// Returns the process exit code: 0 after a clean shutdown, 2 for bad options, 1 when the server
// cannot start. Prints "gemdesk-server: listening on http://HOST:PORT" once it accepts requests.
int run_server_cli(int argc, char ** argv, const ServiceFactory & make_service);

}  // namespace gemdesk::server
