// Engine: loading in stages with progress and cancellation, and token-level generation through
// the scheduler into ResponseStreams.
#include "runtime/engine.h"

#include <algorithm>
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
    GEMMA_TRY(report(progress, 0.1, "weights"));
    auto src = io::open_safetensors(dir);
    if (!src.ok()) return src.error();
    auto w = gemma4::load_text_weights(**src, *cfg, *e->backend_);
    if (!w.ok()) return w.error();
    const int max_ctx = cfg->text.max_position_embeddings;
    if (max_ctx > 0 && opts.n_ctx > max_ctx) {
        GEMMA_LOG_INFO("context %d capped at the model's %d tokens", opts.n_ctx, max_ctx);
        opts.n_ctx = max_ctx;
    }
    gemma4::TextModelOptions mo;
    mo.max_batch = opts.max_step_tokens;
    mo.max_logit_rows = std::max(1, opts.max_seqs);
    ModelInfo info;
    std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    info.id = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
    info.context_length = opts.n_ctx;
    info.max_context = max_ctx;
    info.vocab_size = cfg->text.vocab_size;
    info.has_vision = cfg->has_vision;
    info.has_audio = cfg->has_audio;
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
    auto sched = Scheduler::create(*e->model_, so);
    if (!sched.ok()) return sched.error();
    e->sched_ = std::move(*sched);
    e->info_ = std::move(info);
    GEMMA_TRY(report(progress, 1.0, "ready"));
    return e;
}

// The scheduler goes first: its thread uses the model and the backend.
Engine::~Engine() { sched_.reset(); }

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
