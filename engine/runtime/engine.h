// The engine API: the one way the app, the server and the CLIs reach the model. load() builds
// the backend, the text model, the optional vision/audio encoders and the scheduler (with
// progress and cancellation); generate() queues a request and returns a cancellable
// ResponseStream. Thread-safe: submit from any thread; one inference thread does the work, and
// a media worker thread encodes images / audio / video (engine_media.h).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "core/backend.h"
#include "model/gemma4/text.h"
#include "runtime/engine_media.h"
#include "runtime/response_stream.h"
#include "runtime/scheduler.h"

namespace gemma::runtime {

inline constexpr int kHostStepTokens = 64;
inline constexpr int kDeviceStepTokens = 1024;

struct EngineOptions {
    std::string backend = "cpu-ref";  // registry name (core/registry.h)
    // Text-decoder matrices as stored, or quantized to q8_0 / q4_0 while loading (gemma4
    // weights.h).
    gemma4::WeightType weights = gemma4::WeightType::stored;
    // Keep the per-layer embedding table in host memory on a GPU (gemma4 weights.h).
    bool ple_on_host = false;
    int n_ctx = 8192;          // per sequence, up to the model's max_position_embeddings
    int max_seqs = 4;          // requests generating at once
    // Tokens per batched step and most prompt tokens of one sequence per step; 0 = by backend:
    // kHostStepTokens on the CPU, kDeviceStepTokens on a GPU (a prompt of 2k tokens there
    // prefills about twice as fast in 1024-token chunks as in 256-token ones: docs/perf.md).
    int max_step_tokens = 0;
    int prefill_chunk = 0;
    int max_cached = 4;           // prefix-cache entries (earlier turns kept for reuse)
    DType kv_cache = DType::f32;  // KV cache type: f32, bf16 (half the memory) or q8_0 (34/128)
    bool load_encoders = true;    // vision / audio towers when the checkpoint has them
    size_t media_cache_bytes = size_t(256) << 20;  // encoded media kept for reuse across turns
    // Where images encode: "auto" = on a GPU text backend, the vision backend path on a second
    // instance of that backend (the media worker's own: a backend is driven by one thread), else
    // vision.h's CPU path; "host" = always the CPU path; or any registry name. The environment
    // variable GEMMA_VISION_BACKEND (same values) replaces "auto".
    std::string vision_backend = "auto";
    // Only to reproduce the tiny fixtures' reference (see gemma4::AudioMaskMode::hf_eager).
    gemma4::AudioMaskMode audio_mask = gemma4::AudioMaskMode::sliding;
};

enum class EngineState { loading, ready, failed };

struct LoadProgress {
    double fraction = 0.0;  // 0..1
    std::string stage;      // "config", "backend", "weights", "encoders", "kv cache", "ready"
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
    // With media (the prompt holds one bare marker per item): returns at once; the media worker
    // encodes, then the request runs as above. Errors now: unsupported (no tower for a kind, or
    // the encoders failed to load: the message says why), invalid_argument (MediaWorker::check).
    // Decoding / encoding errors come later as the stream's error event (the sink's error
    // finish, called on the worker thread).
    Result<std::unique_ptr<ResponseStream>> generate(MediaRequest req);
    Result<uint64_t> generate(MediaRequest req, std::shared_ptr<TokenSink> sink);
    void cancel(uint64_t id);

    // The media worker, or null when the model takes no media (media_error() says why).
    MediaWorker * media() { return media_.get(); }
    const std::string & media_error() const { return media_error_; }

    gemma4::TextModel & text_model() { return *model_; }
    Scheduler & scheduler() { return *sched_; }

private:
    Engine() = default;
    void load_media(const std::string & dir, const gemma4::Config & cfg,
                    const io::TensorSource & weights, const EngineOptions & opts,
                    const std::string & model_id);

    std::string dir_;
    ModelInfo info_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<gemma4::TextModel> model_;
    std::unique_ptr<Scheduler> sched_;
    std::unique_ptr<MediaWorker> media_;
    std::string media_error_;  // why media_ is null
};

}  // namespace gemma::runtime
