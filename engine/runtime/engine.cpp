// Engine: loading in stages with progress and cancellation, and token-level generation through
// the scheduler into ResponseStreams.
#include "runtime/engine.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/log.h"
#include "core/registry.h"
#include "io/tensor_source.h"

namespace gemma::runtime {

StreamEvent stream_drain(ResponseStream & stream,
                         const std::function<void(const StreamEvent &)> & on_event) {
    StreamEvent ev, last;
    while (!stream.ended()) {
        if (!stream.next(ev, std::chrono::milliseconds(100))) continue;
        if (on_event) on_event(ev);
        if (ev.kind == StreamEvent::Kind::finish || ev.kind == StreamEvent::Kind::error) last = ev;
    }
    return last;
}

namespace {

// Token events into a queue; the finish (or error) event closes it.
class QueueSink : public TokenSink {
public:
    explicit QueueSink(std::shared_ptr<EventQueue<StreamEvent>> q) : q_(std::move(q)) {}
    bool on_token(const SampleResult & t) override {
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::token;
        ev.token = t;
        q_->push(std::move(ev));
        return false;
    }
    void on_finish(FinishReason r, const Usage & u, const Error * e) override {
        StreamEvent ev;
        ev.kind = e ? StreamEvent::Kind::error : StreamEvent::Kind::finish;
        ev.finish = r;
        ev.usage = u;
        if (e) ev.error = *e;
        q_->push(std::move(ev));
        q_->close();
    }

private:
    std::shared_ptr<EventQueue<StreamEvent>> q_;
};

bool has_media_markers(std::span<const int32_t> ids, const gemma4::Config & cfg) {
    const gemma4::MmTokenIds t = gemma4::MmTokenIds::from_config(cfg);
    for (int32_t id : ids)
        if ((t.image >= 0 && id == t.image) || (t.audio >= 0 && id == t.audio) ||
            (t.video >= 0 && id == t.video))
            return true;
    return false;
}

Status report(const LoadProgressFn & progress, double f, const char * stage) {
    if (progress && !progress({f, stage}))
        return make_error(ErrorCode::cancelled, format("model load cancelled during '%s'", stage));
    return Status::success();
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::load(const std::string & dir, EngineOptions opts,
                                             const LoadProgressFn & progress) {
    std::unique_ptr<Engine> e(new Engine());
    e->dir_ = dir;
    GEMMA_TRY(report(progress, 0.0, "config"));
    auto cfg = gemma4::load_config(dir);
    if (!cfg.ok()) return cfg.error();
    GEMMA_TRY(report(progress, 0.05, "backend"));
    auto backend = backend_create(opts.backend);
    if (!backend.ok()) return backend.error();
    e->backend_ = std::move(*backend);
    const int step = e->backend_->info().where == Where::device ? kDeviceStepTokens
                                                                : kHostStepTokens;
    if (opts.max_step_tokens <= 0) opts.max_step_tokens = step;
    if (opts.prefill_chunk <= 0) opts.prefill_chunk = std::min(step, opts.max_step_tokens);
    GEMMA_TRY(report(progress, 0.1, "weights"));
    auto src = io::open_safetensors(dir);
    if (!src.ok()) return src.error();
    auto w = gemma4::load_text_weights(**src, *cfg, *e->backend_, opts.weights, opts.ple_on_host);
    if (!w.ok()) return w.error();
    GEMMA_TRY(report(progress, 0.6, "encoders"));
    std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    e->load_media(dir, *cfg, **src, opts, p.string());
    const int max_ctx = cfg->text.max_position_embeddings;
    if (max_ctx > 0 && opts.n_ctx > max_ctx) {
        GEMMA_LOG_INFO("context %d capped at the model's %d tokens", opts.n_ctx, max_ctx);
        opts.n_ctx = max_ctx;
    }
    gemma4::TextModelOptions mo;
    mo.max_batch = opts.max_step_tokens;
    mo.max_logit_rows = std::max(1, opts.max_seqs);
    ModelInfo info;
    info.id = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
    info.context_length = opts.n_ctx;
    info.max_context = max_ctx;
    info.vocab_size = cfg->text.vocab_size;
    info.has_vision = e->media_ && e->media_->has_vision();
    info.has_audio = e->media_ && e->media_->has_audio();
    info.backend = opts.backend;
    auto model = gemma4::TextModel::create(std::move(*cfg), std::move(*w), *e->backend_, mo);
    if (!model.ok()) return model.error();
    e->model_ = std::move(*model);
    GEMMA_TRY(report(progress, 0.9, "kv cache"));
    SchedulerOptions so;
    so.n_ctx = opts.n_ctx;
    so.max_seqs = opts.max_seqs;
    so.max_step_tokens = opts.max_step_tokens;
    so.prefill_chunk = opts.prefill_chunk;
    so.max_cached = opts.max_cached;
    so.kv_type = opts.kv_cache;
    auto sched = Scheduler::create(*e->model_, so);
    if (!sched.ok()) return sched.error();
    e->sched_ = std::move(*sched);
    if (e->media_) e->media_->start(*e->sched_);
    e->info_ = std::move(info);
    GEMMA_TRY(report(progress, 1.0, "ready"));
    return e;
}

// A model whose towers fail to load still serves text: media requests then get the reason.
void Engine::load_media(const std::string & dir, const gemma4::Config & cfg,
                        const io::TensorSource & weights, const EngineOptions & opts,
                        const std::string & model_id) {
    if (!cfg.has_vision && !cfg.has_audio) {
        media_error_ = "this model has no vision or audio tower; it takes text only";
        return;
    }
    if (!opts.load_encoders) {
        media_error_ = "the media encoders were not loaded (EngineOptions::load_encoders)";
        return;
    }
    MediaWorkerOptions mo;
    mo.audio_mask = opts.audio_mask;
    mo.cache_bytes = opts.media_cache_bytes;
    mo.model_id = model_id;
    // A GPU engine encodes audio on the GPU too, on a backend instance of the media worker's own
    // (backends are driven by one thread at a time); CPU engines keep the fp32 CPU path.
    if (backend_->info().where == Where::device) mo.audio_backend = opts.backend;
    std::string vision = opts.vision_backend;
    const char * env = std::getenv("GEMMA_VISION_BACKEND");
    if ((vision.empty() || vision == "auto") && env && *env) vision = env;
    mo.vision_backend = gemma4::vision_path_resolve(vision, backend_->info());
    auto m = MediaWorker::load(dir, cfg, weights, mo);
    if (m.ok()) {
        media_ = std::move(*m);
        return;
    }
    media_error_ = "media input is unavailable: " + m.error().message;
    GEMMA_LOG_WARN("%s", media_error_.c_str());
}

// The media worker goes first (it submits to the scheduler), then the scheduler: its thread
// uses the model and the backend.
Engine::~Engine() {
    media_.reset();
    sched_.reset();
}

void Engine::cancel(uint64_t id) {
    if (!media_ || !media_->cancel(id)) sched_->cancel(id);
}

Result<uint64_t> Engine::generate(MediaRequest req, std::shared_ptr<TokenSink> sink) {
    if (media_)
        GEMMA_TRY(media_->check(req));  // also catches markers without inputs
    else if (!req.media.empty() || has_media_markers(req.tokens.prompt, model_->config()))
        return make_error(ErrorCode::unsupported, media_error_);
    if (req.media.empty()) return generate(std::move(req.tokens), std::move(sink));
    return media_->submit(std::move(req), std::move(sink));
}

Result<std::unique_ptr<ResponseStream>> Engine::generate(MediaRequest req) {
    auto q = std::make_shared<EventQueue<StreamEvent>>();
    auto id = generate(std::move(req), std::make_shared<QueueSink>(q));
    if (!id.ok()) return id.error();
    uint64_t rid = *id;
    return std::make_unique<ResponseStream>(q, [this, rid] { cancel(rid); });
}

Result<uint64_t> Engine::generate(TokenRequest req, std::shared_ptr<TokenSink> sink) {
    return sched_->submit(std::move(req), std::move(sink));
}

Result<std::unique_ptr<ResponseStream>> Engine::generate(TokenRequest req) {
    auto q = std::make_shared<EventQueue<StreamEvent>>();
    auto id = sched_->submit(std::move(req), std::make_shared<QueueSink>(q));
    if (!id.ok()) return id.error();
    Scheduler * s = sched_.get();
    uint64_t rid = *id;
    return std::make_unique<ResponseStream>(q, [s, rid] { s->cancel(rid); });
}

}  // namespace gemma::runtime
