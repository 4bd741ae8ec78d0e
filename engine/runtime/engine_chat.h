// Chat- and text-level generation over the Engine: renders the Gemma 4 chat template, tokenizes,
// generates through the scheduler and turns the tokens back into content / reasoning / tool-call
// events with the chat output parser, honouring stop tokens, stop strings, tool_choice and
// response_format. This is what the server, the desktop app and `gemdesk-cli chat/run` call.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/chat_types.h"
#include "runtime/constraint_token.h"
#include "runtime/engine.h"
#include "runtime/tool_protocol.h"
#include "tokenizer/tokenizer.h"

namespace gemma::runtime {

// required / named constrain decoding to a valid call (named: to `tool_name`), see
// constraint_chat.h.
enum class ToolChoice { auto_, none, required, named };

struct ChatGenerateRequest {
    chat::ChatRequest chat;  // messages, tools, enable_thinking, ...
    SamplingParams sampling;
    int max_tokens = -1;            // -1: until a stop token or the context is full
    std::vector<std::string> stop;  // stop strings (not included in the output)
    ToolChoice tool_choice = ToolChoice::auto_;
    std::string tool_name;            // ToolChoice::named
    bool parallel_tool_calls = true;  // required: more than one call may follow
    // response_format: json_object constrains the reply to a JSON object; a non-null json_schema
    // (object or array root) to JSON matching it. Unsupported schema keywords fail generate()
    // with unsupported, naming the keyword.
    bool json_object = false;
    chat::Json json_schema;
    bool use_prefix_cache = true;
    // The encoded files of the image / audio / video parts of `chat`, in the order the parts
    // appear across the messages. Clients send the whole history each turn, earlier media
    // included: the media cache and the prefix cache make re-sent items cost nothing.
    std::vector<MediaInput> media;
    int image_budget = 0;  // soft tokens per image: 0 = the model's processor_config.json
};

// Raw prompt generation (/v1/completions): no template, text out as content deltas.
struct TextGenerateRequest {
    std::string prompt;               // tokenized with special tokens parsed; or:
    std::vector<int32_t> prompt_ids;  // used when non-empty
    SamplingParams sampling;
    int max_tokens = 16;
    std::vector<std::string> stop;
    bool use_prefix_cache = true;
};

// Thread-safe; owns the Engine. Streams must not outlive it.
class ChatEngine {
public:
    // Loads the engine, the tokenizer, the chat template and the stop ids of DIR.
    static Result<std::unique_ptr<ChatEngine>> load(const std::string & dir,
                                                    EngineOptions opts = {},
                                                    const LoadProgressFn & progress = {});

    // Events: token (only when sampling.top_logprobs >= 0, with the token's text), content,
    // reasoning, tool_call, then finish (usage; reason stop / length / tool_calls / cancelled) or
    // error. Errors now: invalid_argument (template, sampling, media parts and inputs that do not
    // match, bad image budget), context_full, unsupported (a media kind the model has no tower
    // for). With media the call returns at once; decoding / encoding failures (corrupt file,
    // unsupported format, an expanded prompt that outgrows the context) arrive as the error
    // event.
    Result<std::unique_ptr<ResponseStream>> generate(const ChatGenerateRequest & req);
    Result<std::unique_ptr<ResponseStream>> complete(const TextGenerateRequest & req);

    // The rendered prompt text for a request (for inspection and tests).
    Result<std::string> render(const chat::ChatRequest & req) const;

    Engine & engine() { return *engine_; }
    const tok::Tokenizer & tokenizer() const { return *tok_; }
    const ModelInfo & info() const { return engine_->info(); }
    const std::vector<int32_t> & stop_ids() const { return stop_ids_; }

private:
    ChatEngine() = default;
    std::shared_ptr<const std::vector<std::string>> token_texts();
    Result<uint64_t> submit_media(TokenRequest tr, const ChatGenerateRequest & req,
                                  std::shared_ptr<TokenSink> sink);
    std::shared_ptr<const ConstraintVocab> constraint_vocab();
    Result<std::shared_ptr<Constraint>> make_constraint(const ChatGenerateRequest & req,
                                                        const chat::ChatRequest & cr,
                                                        const chat::ChatParserOptions & po,
                                                        size_t n_prompt);

    std::unique_ptr<Engine> engine_;
    std::unique_ptr<tok::Tokenizer> tok_;
    std::string template_text_;
    std::vector<int32_t> stop_ids_;
    std::mutex texts_mu_;
    std::shared_ptr<const std::vector<std::string>> texts_;  // decoded text per id (lazy)
    std::shared_ptr<const ConstraintVocab> cvocab_;          // constraint index (lazy)
};

}  // namespace gemma::runtime
