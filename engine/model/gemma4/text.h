// The Gemma 4 text decoder (spec gemma4-text §3-7, §12), written once against core/backend.h:
// scaled embeddings, per-layer embeddings, sliding/full attention with their own head dims and
// RoPE, KV sharing, GELU-tanh MLP, post-norms, layer scalars, final norm and logit soft cap.
// Works for any checkpoint of the family: all geometry comes from the Config.
//
// forward() runs a chunk of consecutive tokens of one sequence (batched prefill, or a single token
// for decode) on a KvCache; forward_batch() runs chunks of many sequences in one step on a shared,
// paged KvPool (continuous batching). Thread-compatible: one thread per model at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "model/gemma4/config.h"
#include "model/gemma4/kv_cache.h"
#include "model/gemma4/kv_pool.h"
#include "model/gemma4/weights.h"

namespace gemma::gemma4 {

// Debug tap: called with intermediates named like the goldens ("text.hidden.<i>": 0 = scaled
// embeddings, i = after layer i-1, n_layers = after the final norm; "text.logits"). The tensor is
// a backend tensor valid only during the call; a tap reads it with Backend::read.
using DebugTap = std::function<void(const std::string & name, const Tensor & value)>;

struct TextModelOptions {
    int max_batch = 64;      // most tokens per forward call (scratch is sized for it)
    int max_logit_rows = 1;  // rows of logits a call may return (all_logits needs >= batch)
    // The precision the reference would run in; decides the rounding of the embedding scales
    // (f32: exact sqrt(H), sqrt(P) as in the goldens; bf16: rounded, as the bf16 release runs).
    DType compute_dtype = DType::f32;
    // Storage of the matrices (load_text_model, make_synthetic_text_model): as stored, or
    // quantized to q8_0 / q4_0 at load time (weights.h WeightType).
    WeightType weights = WeightType::stored;
    // Keep the per-layer embedding table in host memory on a device backend (weights.h).
    bool ple_on_host = false;
};

// Multimodal soft tokens (spec §5.4): chunk rows [row, row + embeds.dim(0)) take `embeds`
// (f32 [k, hidden] backend tensor from an encoder, not scaled by sqrt(H)) instead of token
// embeddings; their ids are looked up as the pad id in both embedding tables, and the PLE context
// is computed from the merged embeddings, as the reference does.
struct EmbedOverride {
    int row = 0;
    Tensor embeds;
};

struct ForwardInput {
    std::span<const int32_t> ids;        // token ids; positions are kv.n_past, kv.n_past + 1, ...
    std::span<const int32_t> block_ids;  // optional bidirectional-vision block ids (spec §8)
    bool all_logits = false;             // logits for every token (else only the last)
    std::span<const EmbedOverride> overrides = {};  // optional soft-token runs
};

// One sequence's chunk in a batched step: consecutive tokens at positions seq->n_past, ...
struct SeqChunk {
    KvSeq * seq = nullptr;  // its pool state; n_past advances on success
    std::span<const int32_t> ids = {};
    std::span<const int32_t> block_ids = {};  // optional bidirectional-vision block ids
    std::span<const EmbedOverride> overrides = {};
    bool want_logits = true;  // logits of the chunk's last token
};

class TextModel {
public:
    // Takes the weights (already on `backend`); backend must outlive the model.
    static Result<std::unique_ptr<TextModel>> create(Config cfg, TextWeights weights,
                                                     Backend & backend, TextModelOptions opts = {});
    ~TextModel();

    const Config & config() const { return cfg_; }
    const TextWeights & weights() const { return w_; }
    Backend & backend() { return backend_; }
    const TextModelOptions & options() const { return opts_; }

    // A cache for this model; max_chunk defaults to (and is capped at) options().max_batch.
    // type: f32, bf16 or q8_0 (kv_cache_type_check says why another cannot be used).
    Result<KvCache> make_kv_cache(int n_ctx, int max_chunk = 0, DType type = DType::f32);

    // Runs the tokens, appends their K/V to kv and returns logits [rows, vocab] (f32 backend
    // tensor; a view into scratch, valid until the next call). Errors: invalid_argument (empty
    // input, id out of range, chunk too large, block_ids size), context_full (kv has no room).
    Result<Tensor> forward(const ForwardInput & in, KvCache & kv, const DebugTap * tap = nullptr);

    // A pool for forward_batch; opts.max_chunk is capped at options().max_batch.
    Result<std::unique_ptr<KvPool>> make_kv_pool(KvPoolOptions opts);

    // Runs every chunk in one step (their rows share the matmuls; attention runs per sequence on
    // its own pool memory) and returns logits [m, vocab] for the m chunks with want_logits, in
    // order (a scratch view valid until the next call). The pool must already have room
    // (KvPool::seq_reserve). Errors: invalid_argument (no chunks, more than max_batch tokens in
    // all, more than max_logit_rows logits, a chunk longer than the pool's max_chunk, bad ids).
    Result<Tensor> forward_batch(std::span<const SeqChunk> chunks, KvPool & pool);

private:
    struct Scratch;
    struct StepPlan;
    TextModel(Config cfg, TextWeights w, Backend & backend, TextModelOptions opts);
    Status init();
    Status check_input(const ForwardInput & in, const KvCache & kv) const;
    Status check_tokens(std::span<const int32_t> ids, std::span<const int32_t> block_ids,
                        std::span<const EmbedOverride> overrides) const;
    Status upload_inputs(const ForwardInput & in, const KvCache & kv);
    Status upload_batch(std::span<const SeqChunk> chunks, KvPool & pool, StepPlan & plan);
    Status embed(int n, std::span<const EmbedOverride> overrides, const DebugTap * tap);
    Status ple_inputs(int n);
    Status run_layers(int n, StepPlan & plan, const DebugTap * tap);
    Status layer(int l, int n, StepPlan & plan);
    Status attention_block(int l, int n, StepPlan & plan);
    Status store_kv(int l, const Tensor & k, const Tensor & v, StepPlan & plan);
    Status attend_per_sequence(int l, const Tensor & q, const Tensor & pos,
                               const AttentionDesc & desc, const StepPlan & plan,
                               const Tensor & att);
    Status mlp_block(int l, int n);
    Status ple_block(int l, int n);
    Result<Tensor> logits(int n, bool all_logits, const DebugTap * tap);

    Config cfg_;
    TextWeights w_;
    Backend & backend_;
    TextModelOptions opts_;
    std::unique_ptr<Scratch> s_;
};

// Loads config.json and the safetensors weights from `dir` onto `backend`.
Result<std::unique_ptr<TextModel>> load_text_model(const std::string & dir, Backend & backend,
                                                   TextModelOptions opts = {});
// A model with random weights from a config (e.g. preset_config("e4b")): no file involved.
Result<std::unique_ptr<TextModel>> make_synthetic_text_model(const Config & cfg, Backend & backend,
                                                             uint64_t seed,
                                                             TextModelOptions opts = {});

// RoPE frequency vector (D/2 values) for a layer: default = base^(-2i/D); proportional = the same
// for the first floor(rho*D/2) pairs, 0 (identity) after; all divided by factor (spec §6.3).
Result<std::vector<float>> rope_freqs(const RopeParams & p, int head_dim);

// Reads an f32 backend tensor into a host vector (synchronizes).
Result<std::vector<float>> read_f32(Backend & backend, const Tensor & t);

}  // namespace gemma::gemma4
