// The ChatService gemdesk-server uses for --model DIR. The inference runtime (KV cache, sampler,
// scheduler) has not landed yet, so today this service reports itself unavailable and every
// generation route answers 503 saying so. TODO(server): adapt to runtime::Scheduler #6
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "server/chat_service.h"

namespace gemdesk::server {

// Checks the model directory (config.json present) and returns the service for it;
// invalid_argument when the directory is not a model.
gemma::Result<std::shared_ptr<ChatService>> make_engine_chat_service(const std::string & model_dir,
                                                                     const std::string & backend);

}  // namespace gemdesk::server
