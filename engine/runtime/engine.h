// The engine API: the one way the app, the server and the CLIs reach the model. load() builds
// the backend, the text model, the optional vision/audio encoders and the scheduler (with
// progress and cancellation); generate() queues a request and returns a cancellable
// ResponseStream. Thread-safe: submit from any thread; one inference thread does the work.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/backend.h"
#include "model/gemma4/text.h"
#include "runtime/response_stream.h"
#include "runtime/scheduler.h"

namespace gemma::runtime {

struct EngineOptions {
    std::string backend = "cpu-ref";  // registry name (core/registry.h)
    int n_ctx = 8192;                 // per sequence, up to the model's max_position_embeddings
    int max_seqs = 4;                 // requests generating at once
    int max_step_tokens = 64;         // tokens per batched step
    int prefill_chunk = 64;
    int max_cached = 4;  // prefix-cache entries (earlier turns kept for reuse)
};

enum class EngineState { loading, ready, failed };

struct LoadProgress {
    double fraction = 0.0;  // 0..1
    std::string stage;      // "config", "backend", "weights", "kv cache", "ready"
};
// Return false to cancel the load (load() then fails with cancelled).
using LoadProgressFn = std::function<bool(const LoadProgress &)>;

struct ModelInfo {
    std::string id;          // model directory name
    int context_length = 0;  // the engine's per-sequence context (EngineOptions::n_ctx, capped)
    int max_context = 0;     // the model's max_position_embeddings
    int vocab_size = 0;
    bool has_vision = false, has_audio = false;
    std::string backend;
};

class Engine {
public:
    // Loads DIR (config.json + safetensors). Errors: not_found / corrupt_file from the files,
    // invalid_argument for options the model cannot take, cancelled when progress said stop.
    static Result<std::unique_ptr<Engine>> load(const std::string & dir, EngineOptions opts = {},
                                                const LoadProgressFn & progress = {});
    ~Engine();

    const ModelInfo & info() const { return info_; }
    const std::string & dir() const { return dir_; }
    SchedulerStats stats() const { return sched_->stats(); }

    // Token-level generation (raw prompts, tests, benchmarks): token events then finish.
    // Errors as Scheduler::submit.
    Result<std::unique_ptr<ResponseStream>> generate(TokenRequest req);
    // Same, with a caller-supplied sink instead of a stream (events on the inference thread).
    Result<uint64_t> generate(TokenRequest req, std::shared_ptr<TokenSink> sink);
    void cancel(uint64_t id) { sched_->cancel(id); }

    gemma4::TextModel & text_model() { return *model_; }
    Scheduler & scheduler() { return *sched_; }

private:
    Engine() = default;

    std::string dir_;
    ModelInfo info_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<gemma4::TextModel> model_;
    std::unique_ptr<Scheduler> sched_;
};

}  // namespace gemma::runtime
