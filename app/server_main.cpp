// gemdesk-server: the headless OpenAI-compatible API server over the local engine (or an
// upstream server with --upstream). All logic lives in app/server; see server_cli.h.
#include "server/engine_chat_service.h"
#include "server/server_cli.h"

int main(int argc, char ** argv) {
    using namespace gemdesk::server;
    return run_server_cli(argc, argv, [](const ServiceOptions & o) {
        EngineServiceOptions e;
        e.model_dir = o.model_dir;
        if (!o.backend.empty()) e.backend = o.backend;
        e.n_ctx = o.n_ctx;
        e.max_seqs = o.parallel;
        if (!o.weights.empty()) {
            auto w = gemma::gemma4::parse_weight_type(o.weights);
            if (!w.ok()) return gemma::Result<std::shared_ptr<ChatService>>(w.error());
            e.weights = *w;
        }
        e.kv_cache = o.kv_cache;
        e.ple_on_host = o.ple_on_host;
        return make_engine_chat_service(e);
    });
}
