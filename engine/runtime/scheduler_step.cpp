// One scheduler step: every generating sequence contributes its next token, waiting prompts fill
// the rest of the token budget in round-robin order (chunked prefill), then one batched forward,
// then sampling and stop checks per sequence.
#include <algorithm>

#include "runtime/scheduler.h"
#include "runtime/scheduler_seq.h"

namespace gemma::runtime {

Status Scheduler::reserve(gemma4::KvSeq & kv, int n) {
    for (;;) {
        Status st = pool_->seq_reserve(kv, n);
        if (st.ok() || st.error().code != ErrorCode::out_of_memory) return st;
        if (!cache_->evict_one()) return st;
    }
}

void Scheduler::chunk_overrides(const Seq & s, int c0, int n,
                                std::vector<gemma4::EmbedOverride> & out) const {
    for (const MediaRun & m : s.req.media) {
        int a = std::max(c0, m.row), b = std::min(c0 + n, m.row + int(m.embeds.dim(0)));
        if (a >= b) continue;
        out.push_back({a - c0, tensor_rows(m.embeds, a - m.row, b - a)});
    }
}

// How many prompt rows of `s` the next chunk takes, at most `limit`: never ends inside a
// bidirectional-vision block (its rows must see each other, so they run in one chunk). 0 when
// the block that starts next does not fit in `limit` this step (submit checked it fits in one).
int Scheduler::prefill_len(const Seq & s, int limit) const {
    const int n_prompt = int(s.req.prompt.size());
    int end = std::min(s.n_fed + limit, n_prompt);
    const std::vector<int32_t> & b = s.req.block_ids;
    if (b.empty() || end >= n_prompt) return end - s.n_fed;
    while (end > s.n_fed && b[size_t(end)] >= 0 && b[size_t(end)] == b[size_t(end - 1)]) --end;
    return end - s.n_fed;
}

bool Scheduler::step() {
    if (active_.empty()) return true;
    struct Planned {
        Seq * seq;
        int c0;  // first prompt row, or -1 for a decode token
        int n;
    };
    std::vector<Planned> plan;
    int budget = opts_.max_step_tokens;
    std::vector<Seq *> full;  // generating sequences that reached the context end
    for (auto & s : active_) {
        if (s->prefilling() || s->next < 0) continue;
        Status st = reserve(s->kv, 1);
        if (!st.ok()) {
            if (st.error().code == ErrorCode::context_full) full.push_back(s.get());
            continue;  // out of memory: wait for others to finish
        }
        plan.push_back({s.get(), -1, 1});
        --budget;
    }
    for (Seq * s : full) finish(*s, FinishReason::length, nullptr);  // documented policy
    const size_t n_active = active_.size();
    for (size_t k = 0; k < n_active && budget > 0; ++k) {
        Seq & s = *active_[(rr_ + k) % n_active];
        if (!s.prefilling()) continue;
        int len = prefill_len(s, std::min(opts_.prefill_chunk, budget));
        if (len <= 0 || !reserve(s.kv, len).ok()) continue;
        plan.push_back({&s, s.n_fed, len});
        budget -= len;
    }
    if (n_active > 0) rr_ = (rr_ + 1) % n_active;
    if (plan.empty()) return !full.empty();

    std::vector<gemma4::SeqChunk> chunks;
    std::vector<std::vector<gemma4::EmbedOverride>> overrides(plan.size());
    for (size_t i = 0; i < plan.size(); ++i) {
        Seq & s = *plan[i].seq;
        gemma4::SeqChunk c;
        c.seq = &s.kv;
        if (plan[i].c0 < 0) {
            c.ids = std::span<const int32_t>(&s.next, 1);
        } else {
            c.ids = std::span<const int32_t>(s.req.prompt)
                        .subspan(size_t(plan[i].c0), size_t(plan[i].n));
            chunk_overrides(s, plan[i].c0, plan[i].n, overrides[i]);
            c.overrides = overrides[i];
            if (!s.req.block_ids.empty())
                c.block_ids = std::span<const int32_t>(s.req.block_ids)
                                  .subspan(size_t(plan[i].c0), size_t(plan[i].n));
            c.want_logits = plan[i].c0 + plan[i].n == int(s.req.prompt.size());
        }
        chunks.push_back(c);
    }
    auto logits = model_.forward_batch(chunks, *pool_);
    std::vector<Seq *> seqs;  // the sequence of each logits row, in order
    for (size_t i = 0; i < plan.size(); ++i)
        if (chunks[i].want_logits) seqs.push_back(plan[i].seq);
    StepRows rows;
    Status st = logits.ok() ? fetch_rows(*logits, seqs, rows) : Status(logits.error());
    if (!st.ok()) {
        Error e = st.error();
        for (const Planned & p : plan) finish(*p.seq, FinishReason::error, &e);
        return true;
    }
    size_t row = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        Seq & s = *plan[i].seq;
        if (plan[i].c0 < 0)
            s.keys.push_back(uint64_t(uint32_t(s.next)));
        else
            s.n_fed += plan[i].n;
        if (!chunks[i].want_logits) continue;
        after_logits(s, row++, rows);
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.steps;
    return true;
}

// Samples the sequence's next token and decides whether it goes on. May finish (and free) `s`.
void Scheduler::after_logits(Seq & s, size_t row, StepRows & rows) {
    if (opts_.snapshot_prompts && !s.snapshot_done && s.req.use_prefix_cache) {
        s.snapshot_done = true;  // the prompt's end, before any reply token changes the ring
        if (pool_->n_free_rings() > opts_.max_seqs - int(active_.size())) {
            auto snap = pool_->seq_fork(s.kv, s.kv.n_past);
            if (snap.ok())
                cache_->insert(std::vector<uint64_t>(s.keys.begin(), s.keys.begin() + s.kv.n_past),
                               std::move(*snap));
        }
    }
    auto r = sample_row(s, row, rows);
    if (!r.ok()) {
        Error e = r.error();
        finish(s, FinishReason::error, &e);
        return;
    }
    const int32_t id = r->id;
    s.sampler.accept(id);
    if (s.req.constraint) s.req.constraint->accept(id);
    ++s.n_generated;
    const auto & stops = s.req.stop_ids;
    if (std::find(stops.begin(), stops.end(), id) != stops.end()) {
        finish(s, FinishReason::stop, nullptr);
        return;
    }
    if (s.sink->on_token(*r) || (s.req.constraint && s.req.constraint->done())) {
        finish(s, FinishReason::stop, nullptr);
        return;
    }
    if (s.req.max_tokens >= 0 && s.n_generated >= s.req.max_tokens) {
        finish(s, FinishReason::length, nullptr);
        return;
    }
    s.next = id;
}

}  // namespace gemma::runtime
