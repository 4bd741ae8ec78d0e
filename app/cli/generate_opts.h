// Options shared by `gemdesk-cli run` and `chat`: engine settings (--backend, --ctx) and sampling
// (--max-tokens, --temperature, --top-p, --top-k, --seed), parsed and validated once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/args.h"
#include "runtime/engine_chat.h"

namespace gemdesk::cli {

struct GenerateOptions {
    gemma::runtime::EngineOptions engine;
    gemma::runtime::SamplingParams sampling;
    int max_tokens = -1;
};

std::vector<std::string> generate_option_names();  // model, backend, ctx, max-tokens, ...
// Defaults follow Gemma 4's generation_config (temperature 1, top_p 0.95, top_k 64).
gemma::Result<GenerateOptions> parse_generate_options(const Args & args);
// Loads the model; prints the error to stderr and returns null on failure.
std::unique_ptr<gemma::runtime::ChatEngine> load_chat_engine(const std::string & dir,
                                                             const GenerateOptions & o, bool quiet);
gemma::runtime::ChatGenerateRequest make_chat_request(const GenerateOptions & o);
gemma::chat::ChatMessage text_message(const std::string & role, const std::string & text);

}  // namespace gemdesk::cli
