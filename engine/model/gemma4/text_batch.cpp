// TextModel::forward_batch: chunks of several sequences in one step on a paged KvPool
// (continuous batching). Shares the layer code with forward(); only inputs, cache placement
// and the logits rows differ.
#include <unordered_set>

#include "model/gemma4/text.h"
#include "model/gemma4/text_scratch.h"

namespace gemma::gemma4 {

Result<std::unique_ptr<KvPool>> TextModel::make_kv_pool(KvPoolOptions opts) {
    opts.max_chunk = std::min(opts.max_chunk, opts_.max_batch);
    return KvPool::create(cfg_.text, backend_, opts);
}

// Positions, pool slots, ids (soft-token rows read the pad id) and block ids for every row.
Status TextModel::upload_batch(std::span<const SeqChunk> chunks, KvPool & pool, StepPlan & plan) {
    std::vector<int32_t> ids, pos, full, sliding, blocks, row_seq;
    std::vector<const KvSeq *> seqs;
    bool any_blocks = false;
    for (const SeqChunk & c : chunks) {
        const int row0 = int(ids.size()), n = int(c.ids.size()), p0 = c.seq->n_past;
        const bool overlay =
            !c.block_ids.empty() && cfg_.text.use_bidirectional_attention == "vision";
        plan.seqs.push_back({row0, n, p0, c.seq, overlay});
        for (int i = 0; i < n; ++i) {
            ids.push_back(c.ids[size_t(i)]);
            pos.push_back(p0 + i);
            full.push_back(c.seq->blocks.empty() ? 0 : pool.slot_full(*c.seq, p0 + i));
            sliding.push_back(c.seq->ring < 0 ? 0 : pool.slot_sliding(*c.seq, p0 + i));
            blocks.push_back(c.block_ids.empty() ? -1 : c.block_ids[size_t(i)]);
            row_seq.push_back(c.seq->ring);
        }
        seqs.push_back(c.seq);
        plan.any_overlay = plan.any_overlay || overlay;
        any_blocks = any_blocks || !c.block_ids.empty();
        for (const EmbedOverride & o : c.overrides) {
            plan.overrides.push_back({row0 + o.row, o.embeds});
            for (int64_t r = o.row; r < o.row + o.embeds.dim(0); ++r)
                ids[size_t(row0 + r)] = cfg_.text.pad_token_id;
        }
    }
    const size_t bytes = ids.size() * 4;
    GEMMA_TRY(backend_.write(s_->ids, ids.data(), bytes));
    GEMMA_TRY(backend_.write(s_->pos, pos.data(), bytes));
    GEMMA_TRY(backend_.write(s_->slots_full, full.data(), bytes));
    GEMMA_TRY(backend_.write(s_->slots_sliding, sliding.data(), bytes));
    if (any_blocks) GEMMA_TRY(backend_.write(s_->blocks, blocks.data(), bytes));
    plan.paged = pool.paged();
    if (plan.paged) {  // one attention launch per layer for all sequences (attention.cpp)
        GEMMA_TRY(backend_.write(s_->row_seq, row_seq.data(), bytes));
        GEMMA_TRY(pool.sync_pages(seqs));
    }
    return Status::success();
}

namespace {

// Whether the pool has the sequence's room reserved (a caller bug otherwise, reported as a value).
bool has_room(const KvPool & pool, const KvSeq & seq, int n) {
    const KvPoolOptions & o = pool.options();
    if (seq.ring < 0 || seq.n_past + n > o.n_ctx) return false;
    size_t need = size_t((seq.n_past + n + o.block_size - 1) / o.block_size);
    return seq.blocks.size() >= need;
}

}  // namespace

Result<Tensor> TextModel::forward_batch(std::span<const SeqChunk> chunks, KvPool & pool) {
    if (chunks.empty()) return make_error(ErrorCode::invalid_argument, "forward_batch: no chunks");
    int total = 0, rows = 0;
    std::unordered_set<const KvSeq *> seen;
    for (const SeqChunk & c : chunks) {
        const int n = int(c.ids.size());
        if (!c.seq || n == 0 || n > pool.options().max_chunk || !seen.insert(c.seq).second)
            return make_error(ErrorCode::invalid_argument,
                              format("forward_batch: each chunk needs its own sequence and 1..%d "
                                     "tokens (got %d)",
                                     pool.options().max_chunk, n));
        if (!has_room(pool, *c.seq, n))
            return make_error(ErrorCode::invalid_argument,
                              "forward_batch: reserve the sequence's room first "
                              "(KvPool::seq_reserve)");
        GEMMA_TRY(check_tokens(c.ids, c.block_ids, c.overrides));
        total += n;
        rows += c.want_logits ? 1 : 0;
    }
    if (total > opts_.max_batch || rows > opts_.max_logit_rows)
        return make_error(ErrorCode::invalid_argument,
                          format("forward_batch: %d tokens / %d logit rows exceed max_batch %d / "
                                 "max_logit_rows %d",
                                 total, rows, opts_.max_batch, opts_.max_logit_rows));
    StepPlan plan;
    plan.pool = &pool;
    GEMMA_TRY(upload_batch(chunks, pool, plan));
    GEMMA_TRY(run_layers(total, plan, nullptr));

    // Final norm, then the LM head on the gathered last rows only (spec §7).
    const TextConfig & c = cfg_.text;
    Tensor h = tensor_rows(s_->h, 0, total), hf = tensor_rows(s_->hf, 0, total);
    GEMMA_TRY(backend_.rms_norm(h, w_.final_norm, c.rms_norm_eps, hf));
    int m = 0;
    for (const StepPlan::Seq & sq : plan.seqs) {
        if (!chunks[size_t(&sq - plan.seqs.data())].want_logits) continue;
        GEMMA_TRY(backend_.copy(tensor_rows(hf, sq.row0 + sq.n - 1, 1), tensor_rows(s_->x, m, 1)));
        ++m;
    }
    Tensor out = tensor_rows(s_->logits, 0, m);
    if (m > 0) {
        GEMMA_TRY(backend_.matmul(tensor_rows(s_->x, 0, m), w_.lm_head, out));
        if (c.final_logit_softcapping > 0.0f)
            GEMMA_TRY(backend_.softcap(out, c.final_logit_softcapping, out));
    }
    for (const SeqChunk & ch : chunks) ch.seq->n_past += int(ch.ids.size());
    return out;
}

}  // namespace gemma::gemma4
