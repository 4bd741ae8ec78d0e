// Private to the scheduler: the state of one request being served and what a step read back
// for its logits rows (inference thread only).
#pragma once

#include "runtime/scheduler.h"

namespace gemma::runtime {

// A request being served. Inference thread only.
struct Scheduler::Seq {
    uint64_t id = 0;
    TokenRequest req;
    std::shared_ptr<TokenSink> sink;
    Sampler sampler;
    gemma4::KvSeq kv;
    std::vector<uint64_t> keys;  // what each stored position holds (prefix-cache key)
    int n_fed = 0;               // prompt tokens already in the cache (incl. cached ones)
    int n_cached = 0;
    int n_generated = 0;
    int32_t next = -1;  // sampled token waiting to be fed
    bool snapshot_done = false;

    Seq(uint64_t i, TokenRequest r, std::shared_ptr<TokenSink> s, int vocab)
        : id(i), req(std::move(r)), sink(std::move(s)), sampler(req.sampling, vocab) {}
    bool prefilling() const { return n_fed < int(req.prompt.size()); }
};

// What one step read back for its logits rows (row i belongs to the i-th sequence with logits).
struct Scheduler::StepRows {
    const Tensor * logits = nullptr;  // [m, V] backend tensor, valid until the next forward
    std::vector<const TokenFilter *> filters;
    std::vector<uint8_t> use_candidates;  // decided before reading
    std::vector<uint8_t> have_row;        // host_logits_ holds row i (at i·V)
};

}  // namespace gemma::runtime
