// The ChatService gemdesk-server uses for --model DIR: the real runtime (runtime::ChatEngine)
// behind the server's job/event interface. The model loads on a background thread; until it is
// ready the service reports `loading` (with the stage and progress), so routes answer 503.
#pragma once

#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "model/gemma4/weights.h"
#include "server/chat_service.h"

namespace gemma::runtime {
class ChatEngine;
}

namespace gemdesk::server {

struct EngineServiceOptions {
    std::string model_dir;
    std::string backend = "cpu";  // core/registry.h name: cpu, cpu-ref, cuda0, ...
    int n_ctx = 8192;             // tokens per request (capped at the model's context)
    int max_seqs = 4;             // requests decoding at once; more wait in the queue
    gemma::gemma4::WeightType weights = gemma::gemma4::WeightType::stored;  // --weights
    gemma::DType kv_cache = gemma::DType::f32;  // KV cache type: f32, bf16 or q8_0
    bool ple_on_host = false;                   // per-layer embedding table in host memory
};

// Checks the directory (config.json present) and starts loading it in the background. Fails with
// invalid_argument when the directory is not a model; a load that fails later (bad weights, an
// unknown backend) turns the service `unavailable` with the loader's message.
gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(
    const EngineServiceOptions & options);
// The same with default context and parallelism.
gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(const std::string & model_dir,
                                                                     const std::string & backend);

// A service over an engine the caller has already loaded (the desktop app shares its engine
// between its chat window and the API server): ready at once; keeps the engine alive.
// invalid_argument when `engine` is null.
gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(
    std::shared_ptr<gemma::runtime::ChatEngine> engine);

}  // namespace gemdesk::server
