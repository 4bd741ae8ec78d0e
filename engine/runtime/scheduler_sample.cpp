// The end of a scheduler step: what each logits row's sampling reads back. Rows whose request can
// be sampled from candidates (Sampler::candidates_may_suffice, decided before anything is read)
// get Op::top_k on the backend and read k ids, k values and a logsumexp; the others, and any row
// whose candidates cannot settle top_p / min_p, read their whole row. A 32-row decode step of a
// 262,144-token vocabulary then reads ~16 KiB instead of 32 MiB, with identical tokens.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "runtime/scheduler.h"
#include "runtime/scheduler_seq.h"

namespace gemma::runtime {

Status Scheduler::init_candidates() {
    const int vocab = model_.config().text.vocab_size;
    Backend & be = model_.backend();
    cand_k_ = std::min(opts_.device_top_k, vocab);
    if (cand_k_ <= 0 || !be.supports({Op::top_k, DType::f32, DType::f32})) {
        cand_k_ = 0;
        return Status::success();
    }
    const int64_t rows = opts_.max_seqs, k = cand_k_;
    static_assert(sizeof(int32_t) == sizeof(float));
    auto all = be.alloc(DType::f32, {rows * (2 * k + 1)});
    if (!all.ok()) return all.error();
    cand_all_ = *all;
    const size_t block = size_t(rows * k) * sizeof(float);
    cand_ids_ = tensor_part(cand_all_, 0, DType::i32, {rows, k});
    cand_values_ = tensor_part(cand_all_, block, DType::f32, {rows, k});
    cand_lse_ = tensor_part(cand_all_, 2 * block, DType::f32, {rows});
    return Status::success();
}

Status Scheduler::fetch_rows(const Tensor & logits, std::span<Seq * const> seqs, StepRows & rows) {
    const size_t m = seqs.size(), V = size_t(logits.dim(1));
    rows.logits = &logits;
    rows.filters.resize(m);
    rows.use_candidates.assign(m, 0);
    rows.have_row.assign(m, 0);
    size_t n_cand = 0;
    for (size_t i = 0; i < m; ++i) {
        Seq & s = *seqs[i];
        rows.filters[i] = s.req.constraint ? s.req.constraint->filter() : nullptr;
        rows.use_candidates[i] = cand_k_ > 0 && !s.sink->wants_logits() &&
                                 s.sampler.candidates_may_suffice(rows.filters[i], cand_k_);
        n_cand += rows.use_candidates[i];
    }
    Backend & be = model_.backend();
    host_logits_.resize(m * V);
    if (n_cand == 0) {  // nothing to gain: every row as before, in one read
        rows.have_row.assign(m, 1);
        return be.read(logits, host_logits_.data(), host_logits_.size() * sizeof(float));
    }
    const size_t k = size_t(cand_k_);
    Tensor ids = tensor_rows(cand_ids_, 0, int64_t(m)),
           values = tensor_rows(cand_values_, 0, int64_t(m));
    Tensor lse = tensor_rows(cand_lse_, 0, int64_t(m));
    GEMMA_TRY(be.top_k(logits, ids, values, lse));
    // One read (one wait for the device) for ids, values and lse of all max_seqs rows.
    const size_t cap = size_t(cand_ids_.dim(0));  // max_seqs rows per part
    host_cand_all_.resize(size_t(cand_all_.numel()));
    GEMMA_TRY(be.read(cand_all_, host_cand_all_.data(), host_cand_all_.size() * sizeof(float)));
    host_cand_ids_.resize(m * k);
    std::memcpy(host_cand_ids_.data(), host_cand_all_.data(), m * k * sizeof(int32_t));
    host_cand_values_.assign(host_cand_all_.begin() + ptrdiff_t(cap * k),
                             host_cand_all_.begin() + ptrdiff_t(cap * k + m * k));
    host_cand_lse_.assign(host_cand_all_.begin() + ptrdiff_t(2 * cap * k),
                          host_cand_all_.begin() + ptrdiff_t(2 * cap * k + m));
    for (size_t i = 0; i < m; ++i) {
        if (rows.use_candidates[i]) continue;
        GEMMA_TRY(be.read(tensor_rows(logits, int64_t(i), 1), host_logits_.data() + i * V,
                          V * sizeof(float)));
        rows.have_row[i] = 1;
    }
    return Status::success();
}

// The row's token: from its candidates when they settle it, else from the whole row (read now if
// it was not). on_logits() sees every whole row that is read.
Result<SampleResult> Scheduler::sample_row(Seq & s, size_t row, StepRows & rows) {
    const size_t V = size_t(rows.logits->dim(1)), k = size_t(cand_k_);
    if (rows.use_candidates[row]) {
        LogitCandidates c;
        c.ids = std::span<const int32_t>(host_cand_ids_).subspan(row * k, k);
        c.values = std::span<const float>(host_cand_values_).subspan(row * k, k);
        c.logsumexp = host_cand_lse_[row];
        if (auto r = s.sampler.sample_candidates(c)) {
            std::lock_guard<std::mutex> lock(mu_);  // counted before the token is reported
            ++stats_.rows_candidates;
            return *r;
        }
    }
    if (!rows.have_row[row]) {
        GEMMA_TRY(model_.backend().read(tensor_rows(*rows.logits, int64_t(row), 1),
                                        host_logits_.data() + row * V, V * sizeof(float)));
        rows.have_row[row] = 1;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.rows_full;
    }
    std::span<const float> logits = std::span<const float>(host_logits_).subspan(row * V, V);
    s.sink->on_logits(logits);
    return s.sampler.sample(logits, rows.filters[row]);
}

}  // namespace gemma::runtime
