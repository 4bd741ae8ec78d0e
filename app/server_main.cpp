// gemdesk-server: the headless OpenAI-compatible API server over the local engine (or an
// upstream server with --upstream). All logic lives in app/server; see server_cli.h.
#include "server/engine_chat_service.h"
#include "server/server_cli.h"

int main(int argc, char ** argv) {
    return gemdesk::server::run_server_cli(argc, argv, gemdesk::server::make_engine_chat_service);
}
