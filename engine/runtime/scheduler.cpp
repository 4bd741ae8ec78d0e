// Scheduler: request intake, admission (prefix-cache lookup, KV acquisition with eviction), the
// inference loop and request completion. One step's composition lives in step().
#include "runtime/scheduler.h"

#include <algorithm>

#include "core/log.h"
#include "runtime/scheduler_seq.h"

namespace gemma::runtime {

const char * finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::stop:
            return "stop";
        case FinishReason::length:
            return "length";
        case FinishReason::tool_calls:
            return "tool_calls";
        case FinishReason::cancelled:
            return "cancelled";
        case FinishReason::error:
            return "error";
    }
    return "error";
}

Scheduler::Scheduler(gemma4::TextModel & model, SchedulerOptions opts)
    : model_(model), opts_(opts) {}

Result<std::unique_ptr<Scheduler>> Scheduler::create(gemma4::TextModel & model,
                                                     SchedulerOptions opts) {
    const auto & mo = model.options();
    if (opts.max_seqs <= 0 || opts.max_step_tokens <= 0 || opts.prefill_chunk <= 0)
        return make_error(
            ErrorCode::invalid_argument,
            "scheduler: max_seqs, max_step_tokens and prefill_chunk must be positive");
    if (opts.max_step_tokens > mo.max_batch || opts.max_seqs > mo.max_logit_rows ||
        opts.max_seqs > opts.max_step_tokens)
        return make_error(ErrorCode::invalid_argument,
                          format("scheduler: %d tokens and %d sequences per step need a model made "
                                 "with max_batch >= %d and max_logit_rows >= %d (have %d, %d)",
                                 opts.max_step_tokens, opts.max_seqs, opts.max_step_tokens,
                                 opts.max_seqs, mo.max_batch, mo.max_logit_rows));
    if (opts.device_top_k < 0 || opts.device_top_k > kTopKMax)
        return make_error(ErrorCode::invalid_argument,
                          format("scheduler: device_top_k must be in [0, %d] (got %d); 0 reads "
                                 "whole logits rows",
                                 kTopKMax, opts.device_top_k));
    opts.prefill_chunk = std::min(opts.prefill_chunk, opts.max_step_tokens);
    std::unique_ptr<Scheduler> s(new Scheduler(model, opts));
    GEMMA_TRY(s->init());
    s->thread_ = std::thread([p = s.get()] { p->loop(); });
    return s;
}

Status Scheduler::init() {
    gemma4::KvPoolOptions po;
    po.n_ctx = opts_.n_ctx;
    po.max_chunk = opts_.prefill_chunk;
    po.block_size = opts_.block_size;
    po.kv_type = opts_.kv_type;
    // Snapshots need one extra ring each while their request runs.
    po.n_rings = opts_.max_seqs * (opts_.snapshot_prompts ? 2 : 1) + std::max(0, opts_.max_cached);
    po.n_blocks = opts_.n_blocks > 0 ? opts_.n_blocks
                                     : (opts_.n_ctx + opts_.block_size - 1) / opts_.block_size *
                                           (opts_.max_seqs + std::max(0, opts_.max_cached));
    auto pool = model_.make_kv_pool(po);
    if (!pool.ok()) return pool.error();
    pool_ = std::move(*pool);
    stats_.kv_bytes = pool_->bytes();
    cache_ = std::make_unique<PrefixCache>(*pool_, opts_.max_cached);
    return init_candidates();
}

Scheduler::~Scheduler() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

int Scheduler::max_block_tokens() const {
    return std::max(1, std::min(opts_.prefill_chunk, opts_.max_step_tokens - opts_.max_seqs + 1));
}

uint64_t Scheduler::reserve_id() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_id_++;
}

namespace {

// Block ids: one per row, each block one run no longer than max_block.
Status check_block_ids(const TokenRequest & req, int max_block) {
    const std::vector<int32_t> & b = req.block_ids;
    if (b.empty()) return Status::success();
    if (b.size() != req.prompt.size())
        return make_error(
            ErrorCode::invalid_argument,
            format("generate: %zu block ids for a %zu-token prompt", b.size(), req.prompt.size()));
    for (size_t i = 0; i < b.size();) {
        size_t j = i + 1;
        while (b[i] >= 0 && j < b.size() && b[j] == b[i]) ++j;
        if (int(j - i) > max_block)
            return make_error(ErrorCode::invalid_argument,
                              format("an image of %zu soft tokens (at prompt row %zu) must run in "
                                     "one prefill chunk of at most %d tokens for this model's "
                                     "bidirectional vision attention; lower the image budget or "
                                     "raise the engine's prefill chunk and step size",
                                     j - i, i, max_block));
        i = j;
    }
    return Status::success();
}

}  // namespace

Result<uint64_t> Scheduler::submit(TokenRequest req, std::shared_ptr<TokenSink> sink, uint64_t id) {
    const auto & tc = model_.config().text;
    if (req.prompt.empty() || !sink)
        return make_error(ErrorCode::invalid_argument, "generate: the prompt has no tokens");
    for (int32_t id : req.prompt)
        if (id < 0 || id >= tc.vocab_size)
            return make_error(
                ErrorCode::invalid_argument,
                format("prompt token %d is outside the vocabulary [0, %d)", id, tc.vocab_size));
    if (int(req.prompt.size()) >= opts_.n_ctx)
        return make_error(ErrorCode::context_full,
                          format("the prompt has %zu tokens but the context holds %d (and one more "
                                 "for the reply); shorten the conversation or raise the context "
                                 "size",
                                 req.prompt.size(), opts_.n_ctx));
    for (const MediaRun & m : req.media)
        if (m.row < 0 || m.embeds.ndim() != 2 ||
            m.row + m.embeds.dim(0) > int64_t(req.prompt.size()))
            return make_error(ErrorCode::invalid_argument,
                              "generate: media rows outside the prompt");
    GEMMA_TRY(check_block_ids(req, max_block_tokens()));
    GEMMA_TRY(sampling_params_check(req.sampling, tc.vocab_size));
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return make_error(ErrorCode::cancelled, "the scheduler is shutting down");
    if (id == 0) id = next_id_++;
    queue_.push_back({id, std::move(req), std::move(sink)});
    cv_.notify_all();
    return id;
}

void Scheduler::cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_.push_back(id);
    cv_.notify_all();
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    SchedulerStats s = stats_;
    s.queued = int(queue_.size());
    return s;
}

void Scheduler::loop() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] {
                return stop_ || !queue_.empty() || !active_.empty() || !cancels_.empty();
            });
            if (stop_) break;
        }
        admit();
        if (!step() && !active_.empty()) {
            // Nothing could run (no KV memory even after eviction): fail the oldest request.
            Error e = make_error(ErrorCode::out_of_memory,
                                 "the KV cache has no room for this request; lower the context "
                                 "size or the number of parallel requests");
            finish(*active_.front(), FinishReason::error, &e);
        }
        std::lock_guard<std::mutex> lock(mu_);
        stats_.running = int(active_.size());
        stats_.cached = cache_->size();
        stats_.kv_used = pool_->usage();
        stats_.kv_bytes = pool_->bytes();
    }
    // Shutdown: everything still known ends as cancelled.
    std::deque<Pending> rest;
    {
        std::lock_guard<std::mutex> lock(mu_);
        rest.swap(queue_);
    }
    Usage none;
    for (Pending & p : rest) p.sink->on_finish(FinishReason::cancelled, none, nullptr);
    while (!active_.empty()) finish(*active_.front(), FinishReason::cancelled, nullptr);
    cache_->clear();
}

Result<gemma4::KvSeq> Scheduler::acquire_seq(Seq & s) {
    const TokenRequest & r = s.req;
    s.keys.assign(r.prompt.begin(), r.prompt.end());
    for (const MediaRun & m : r.media)
        for (int64_t i = 0; i < m.embeds.dim(0); ++i)
            s.keys[size_t(m.row + i)] = media_key(m.hash, int(i));
    PrefixCache::Hit hit;
    const int max_n = int(r.prompt.size()) - 1;
    if (r.use_prefix_cache) hit = cache_->lookup(s.keys, max_n, r.block_ids);
    for (;;) {
        auto kv = hit.entry >= 0 ? cache_->take(hit) : pool_->seq_new();
        if (kv.ok()) {
            s.n_fed = s.n_cached = hit.entry >= 0 ? hit.n : 0;
            return kv;
        }
        if (kv.error().code != ErrorCode::out_of_memory) return kv.error();
        // Evicting may drop the hit's entry: look again afterwards.
        if (!cache_->evict_one()) return kv.error();
        if (hit.entry >= 0) hit = cache_->lookup(s.keys, max_n, r.block_ids);
    }
}

// Host soft tokens go to the backend here, on the inference thread that owns it.
Status Scheduler::upload_media(Seq & s) {
    for (MediaRun & m : s.req.media) {
        if (m.embeds.where != Where::host) continue;
        auto up = model_.backend().upload(m.embeds);
        if (!up.ok()) return up.error();
        m.embeds = std::move(*up);
    }
    return Status::success();
}

void Scheduler::admit() {
    std::vector<uint64_t> cancels;
    std::deque<Pending> arrived;
    {
        std::lock_guard<std::mutex> lock(mu_);
        cancels.swap(cancels_);
        while (!queue_.empty() && int(active_.size() + arrived.size()) < opts_.max_seqs) {
            arrived.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        // A cancelled request that is still queued ends here.
        for (auto it = queue_.begin(); it != queue_.end();) {
            if (std::find(cancels.begin(), cancels.end(), it->id) == cancels.end()) {
                ++it;
                continue;
            }
            it->sink->on_finish(FinishReason::cancelled, Usage{int(it->req.prompt.size()), 0, 0},
                                nullptr);
            it = queue_.erase(it);
        }
    }
    for (uint64_t id : cancels)
        for (auto & s : active_)
            if (s->id == id) {
                finish(*s, FinishReason::cancelled, nullptr);
                break;
            }
    for (Pending & p : arrived) {
        if (std::find(cancels.begin(), cancels.end(), p.id) != cancels.end()) {
            p.sink->on_finish(FinishReason::cancelled, Usage{int(p.req.prompt.size()), 0, 0},
                              nullptr);
            continue;
        }
        auto s = std::make_unique<Seq>(p.id, std::move(p.req), std::move(p.sink),
                                       model_.config().text.vocab_size);
        s->sampler.set_prompt(s->req.prompt);
        Status up = upload_media(*s);
        auto kv = up.ok() ? acquire_seq(*s) : Result<gemma4::KvSeq>(up.error());
        if (!kv.ok()) {
            Error e = kv.error();
            s->sink->on_finish(FinishReason::error, Usage{int(s->req.prompt.size()), 0, 0}, &e);
            continue;
        }
        s->kv = std::move(*kv);
        active_.push_back(std::move(s));
    }
}

void Scheduler::finish(Seq & s, FinishReason r, const Error * e) {
    Usage u{int(s.req.prompt.size()), s.n_generated, s.n_cached};
    s.sink->on_finish(r, u, e);
    // Keep what the cache holds for the next turn (positions actually stored).
    if (s.req.use_prefix_cache && r != FinishReason::error && s.kv.n_past > 0) {
        std::vector<uint64_t> keys(s.keys.begin(), s.keys.begin() + s.kv.n_past);
        cache_->insert(std::move(keys), std::move(s.kv));
    } else {
        pool_->seq_release(s.kv);
    }
    auto it =
        std::find_if(active_.begin(), active_.end(), [&](const auto & p) { return p.get() == &s; });
    active_.erase(it);
}

}  // namespace gemma::runtime
