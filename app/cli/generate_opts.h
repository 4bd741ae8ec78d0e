// Options shared by `gemdesk-cli run` and `chat`: engine settings (--backend, --ctx, --weights,
// --kv-cache), sampling (--max-tokens, --temperature, --top-p, --top-k, --seed) and media
// (--image, --audio, --video, --image-budget), parsed and validated once.
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
    int image_budget = 0;  // --image-budget: 0 = the model's processor_config.json
};

std::vector<std::string> generate_option_names();  // model, backend, ctx, max-tokens, ...
// --image F / --audio F / --video F, read into memory (in that order). Errors: not_found /
// invalid_argument naming the file.
gemma::Result<std::vector<gemma::runtime::MediaInput>> load_media_options(const Args & args);
// A user message: one part per media item (in order), then the text.
gemma::chat::ChatMessage user_message(const std::string & text,
                                      const std::vector<gemma::runtime::MediaInput> & media);
// Defaults follow Gemma 4's generation_config (temperature 1, top_p 0.95, top_k 64).
gemma::Result<GenerateOptions> parse_generate_options(const Args & args);
// Loads the model; prints the error to stderr and returns null on failure.
std::unique_ptr<gemma::runtime::ChatEngine> load_chat_engine(const std::string & dir,
                                                             const GenerateOptions & o, bool quiet);
gemma::runtime::ChatGenerateRequest make_chat_request(const GenerateOptions & o);
gemma::chat::ChatMessage text_message(const std::string & role, const std::string & text);

}  // namespace gemdesk::cli
