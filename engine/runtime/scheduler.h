// The scheduler: one inference thread that owns the KV pool, the prefix cache and every running
// sequence, and runs continuous batching: each step carries one decode token of every generating
// sequence plus prefill chunks of waiting prompts (round-robin, within a token budget), so a long
// prompt never stalls the others. Requests are token-level here; the Engine adds text and chat.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "model/gemma4/text.h"
#include "runtime/prefix_cache.h"
#include "runtime/sampler.h"

namespace gemma::runtime {

// How a generation ended. Names are part of the API: see finish_reason_name().
enum class FinishReason { stop, length, tool_calls, cancelled, error };
const char * finish_reason_name(FinishReason r);  // "stop", "length", ...

// Stateful output constraint (grammar, JSON, forced prefixes), advanced with every emitted token.
class Constraint {
public:
    virtual ~Constraint() = default;
    // Allowed next tokens; nullptr = anything.
    virtual const TokenFilter * filter() = 0;
    virtual void accept(int32_t id) = 0;
    // The constrained output is complete: generation stops with FinishReason::stop.
    virtual bool done() const = 0;
};

// A run of soft tokens (image / audio encoder output) replacing prompt rows.
struct MediaRun {
    int row = 0;        // first prompt row it replaces
    Tensor embeds;      // f32 [k, hidden]: a backend tensor, or a host one (uploaded at admission,
                        // on the inference thread)
    uint64_t hash = 0;  // content hash: the prefix-cache key of these rows
};

struct TokenRequest {
    std::vector<int32_t> prompt;
    std::vector<MediaRun> media;
    // Empty, or one per prompt row: the bidirectional-vision block of each row (-1 = none), for
    // configs with use_bidirectional_attention "vision" (gemma4::MultimodalPrompt::block_ids).
    // A block always runs in one prefill chunk and a prefix-cache hit never ends inside one, so
    // every block must fit in max_block_tokens() (checked at submit).
    std::vector<int32_t> block_ids;
    SamplingParams sampling;
    // -1: until a stop token or the context is full. Context policy: a prompt that does not fit
    // (n_ctx - 1 tokens at most) fails with context_full at submit; nothing is truncated. A reply
    // that fills the context ends with FinishReason::length.
    int max_tokens = -1;
    std::vector<int32_t> stop_ids;  // ending tokens (not reported as output)
    std::shared_ptr<Constraint> constraint;
    bool use_prefix_cache = true;
};

struct Usage {
    int prompt_tokens = 0;
    int completion_tokens = 0;
    int cached_tokens = 0;  // prompt tokens taken from the prefix cache
};

// Receives a request's progress on the inference thread: keep the calls short (push to a queue).
class TokenSink {
public:
    virtual ~TokenSink() = default;
    // A generated token. Return true to end generation here (e.g. a stop string matched).
    virtual bool on_token(const SampleResult & token) = 0;
    // Last call. `error` is set for FinishReason::error.
    virtual void on_finish(FinishReason reason, const Usage & usage, const Error * error) = 0;
    // Whether this sink needs on_logits() for every token. Rows whose request can be sampled
    // from device candidates (SchedulerOptions::device_top_k) are never read in full, so a sink
    // that compares logits returns true here (its rows then always read the full row).
    virtual bool wants_logits() const { return false; }
    // The raw logits row [vocab] a token is sampled from, just before sampling, whenever the full
    // row was read (always when wants_logits()). Valid during the call only.
    virtual void on_logits(std::span<const float> /*logits*/) {}
};

struct SchedulerOptions {
    int n_ctx = 4096;          // most positions per sequence
    int max_seqs = 4;          // sequences generating at once
    int max_step_tokens = 64;  // tokens per step (decode + prefill); <= the model's max_batch
    int prefill_chunk = 64;    // most prompt tokens of one sequence per step
    int block_size = 16;
    int n_blocks = 0;              // 0: n_ctx worth for every sequence and cache entry
    int max_cached = 4;            // prefix-cache entries kept (each holds a sliding ring)
    bool snapshot_prompts = true;  // cache each prompt's end too (reuse when replies re-render)
    DType kv_type = DType::f32;    // KV cache elements: f32, bf16 or q8_0 (gemma4::KvPoolOptions)
    // Sampling candidates computed on the backend (Op::top_k) when it supports them: rows whose
    // request can be sampled exactly from their k best logits and the row's logsumexp (greedy,
    // top_k <= k, top_p / min_p cutting within them, top_logprobs <= k; no bias, penalties or
    // constraints) read back k ids and values instead of the whole row, with the same result.
    // 0 = always read whole rows; at most kTopKMax. Gemma's defaults (top_k 64) need 64.
    int device_top_k = 64;
};

struct SchedulerStats {
    int queued = 0, running = 0, cached = 0;
    double kv_used = 0.0;  // fraction of KV blocks in use
    size_t kv_bytes = 0;   // memory of the KV pool (KvPool::bytes)
    uint64_t steps = 0;
    // Sampled rows (one per token, counted before the token is reported): from device
    // candidates / from a whole logits row read back (requests that need it, or candidates that
    // could not settle top_p / min_p).
    uint64_t rows_candidates = 0, rows_full = 0;
};

// Thread-safe: submit/cancel/stats from any thread. The model is used only by the inference
// thread from create() until destruction; it must outlive the scheduler.
class Scheduler {
public:
    // invalid_argument when options do not fit the model (max_batch, max_logit_rows, context).
    static Result<std::unique_ptr<Scheduler>> create(gemma4::TextModel & model,
                                                     SchedulerOptions opts);
    ~Scheduler();  // cancels everything (sinks get on_finish cancelled), joins the thread

    // Queues a request; the sink gets its tokens. invalid_argument (empty prompt, bad ids or
    // sampling, media rows or block ids that do not fit), context_full (prompt longer than the
    // context). `id`: 0 for a new one, or one from reserve_id() (the Engine names media requests
    // before their encoding finishes); the request is then cancellable under that id.
    Result<uint64_t> submit(TokenRequest req, std::shared_ptr<TokenSink> sink, uint64_t id = 0);
    // A fresh request id for a later submit().
    uint64_t reserve_id();
    // The longest bidirectional-vision block a request may hold: it must fit in one prefill chunk
    // next to one decode token of every other sequence.
    int max_block_tokens() const;
    // Ends a request within one step (on_finish with cancelled). Unknown ids are ignored.
    void cancel(uint64_t id);
    SchedulerStats stats() const;
    const SchedulerOptions & options() const { return opts_; }
    const gemma4::TextModel & model() const { return model_; }

private:
    struct Seq;
    struct Pending {
        uint64_t id;
        TokenRequest req;
        std::shared_ptr<TokenSink> sink;
    };
    Scheduler(gemma4::TextModel & model, SchedulerOptions opts);
    Status init();
    void loop();
    void admit();
    bool step();
    void finish(Seq & s, FinishReason r, const Error * e);
    Result<gemma4::KvSeq> acquire_seq(Seq & s);
    Status upload_media(Seq & s);
    int prefill_len(const Seq & s, int limit) const;
    Status reserve(gemma4::KvSeq & kv, int n);
    struct StepRows;
    Status init_candidates();
    Status fetch_rows(const Tensor & logits, std::span<Seq * const> seqs, StepRows & rows);
    Result<SampleResult> sample_row(Seq & s, size_t row, StepRows & rows);
    void after_logits(Seq & s, size_t row, StepRows & rows);
    void chunk_overrides(const Seq & s, int c0, int n,
                         std::vector<gemma4::EmbedOverride> & out) const;

    gemma4::TextModel & model_;
    SchedulerOptions opts_;
    std::unique_ptr<gemma4::KvPool> pool_;
    std::unique_ptr<PrefixCache> cache_;
    std::vector<std::unique_ptr<Seq>> active_;  // inference thread only
    size_t rr_ = 0;                             // round-robin start for prefill
    std::vector<float> host_logits_;            // logits of the last step, read to the host
    // Device top-k outputs for up to max_seqs rows (empty when off), parts of one buffer
    // (cand_all_: ids, then values, then lse) read back with one read, and their host copies.
    Tensor cand_all_, cand_ids_, cand_values_, cand_lse_;
    int cand_k_ = 0;
    std::vector<float> host_cand_all_;
    std::vector<int32_t> host_cand_ids_;
    std::vector<float> host_cand_values_, host_cand_lse_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    std::vector<uint64_t> cancels_;
    bool stop_ = false;
    uint64_t next_id_ = 1;
    SchedulerStats stats_;
    std::thread thread_;
};

}  // namespace gemma::runtime
