// TextModel: setup, input checks, embeddings, the layer loop and the logits
// (mirrors the reference Gemma4TextModel.forward; attention and PLE in their own files).
#include "model/gemma4/text.h"

#include <cmath>

#include "io/tensor_source.h"
#include "model/gemma4/text_scratch.h"

namespace gemma::gemma4 {
namespace {

// The reference casts the embedding scale to the dtype the model runs in before multiplying
// (spec §4, §5.2): bf16(sqrt(2560)) = 50.5 for a bf16 run. The goldens were computed with the
// weights upcast to f32, i.e. with the exact f32 scale (measured: bf16-rounding the fixture's PLE
// scale 2.828427 -> 2.828125 puts text.logits 1.4e-4 off instead of 1.6e-6), so the scale follows
// TextModelOptions::compute_dtype, not the storage dtype.
float scale_in_dtype(float v, DType t) {
    if (t == DType::bf16) return round_bf16(v);
    if (t == DType::f16) return f16_to_f32(f32_to_f16(v));
    return v;
}

}  // namespace

Result<std::vector<float>> rope_freqs(const RopeParams & p, int head_dim) {
    int half = head_dim / 2;
    int rotated = half;
    if (p.type == "proportional") {
        rotated = int(std::floor(p.partial_rotary_factor * float(head_dim) / 2.0f));
    } else if (p.type != "default" || p.partial_rotary_factor != 1.0f) {
        return make_error(ErrorCode::unsupported,
                          format("RoPE type '%s' with partial_rotary_factor %g is not supported",
                                 p.type.c_str(), double(p.partial_rotary_factor)));
    }
    std::vector<float> f(size_t(half), 0.0f);
    for (int i = 0; i < rotated && i < half; ++i) {
        float exponent = float(2 * i) / float(head_dim);  // denominator: the full head dim
        f[size_t(i)] = (1.0f / std::pow(p.theta, exponent)) / p.factor;
    }
    return f;
}

Result<std::vector<float>> read_f32(Backend & backend, const Tensor & t) {
    std::vector<float> out(size_t(t.numel()));
    GEMMA_TRY(backend.read(t, out.data(), out.size() * sizeof(float)));
    return out;
}

TextModel::TextModel(Config cfg, TextWeights w, Backend & backend, TextModelOptions opts)
    : cfg_(std::move(cfg)), w_(std::move(w)), backend_(backend), opts_(opts), s_(new Scratch) {}

TextModel::~TextModel() = default;

Result<std::unique_ptr<TextModel>> TextModel::create(Config cfg, TextWeights weights,
                                                     Backend & backend, TextModelOptions opts) {
    if (opts.max_batch <= 0 || opts.max_logit_rows <= 0)
        return make_error(ErrorCode::invalid_argument,
                          "TextModelOptions: max_batch and max_logit_rows must be positive");
    std::unique_ptr<TextModel> m(new TextModel(std::move(cfg), std::move(weights), backend, opts));
    GEMMA_TRY(m->init());
    return m;
}

Status TextModel::init() {
    const TextConfig & c = cfg_.text;
    const int64_t N = opts_.max_batch, H = c.hidden_size, P = c.hidden_size_per_layer_input;
    int64_t max_f = 0, max_kv = 0;
    for (const LayerConfig & lc : c.layers) {
        max_f = std::max<int64_t>(max_f, lc.intermediate_size);
        max_kv = std::max<int64_t>(max_kv, int64_t(lc.n_kv_heads) * lc.head_dim);
    }
    const int64_t max_q = int64_t(c.n_heads) * c.max_head_dim();
    struct Want {
        Tensor * t;
        DType d;
        Shape s;
    };
    Want wants[] = {
        {&s_->ids, DType::i32, {N}},
        {&s_->pos, DType::i32, {N}},
        {&s_->blocks, DType::i32, {N}},
        {&s_->slots_full, DType::i32, {N}},
        {&s_->slots_sliding, DType::i32, {N}},
        {&s_->row_seq, DType::i32, {N}},
        {&s_->h, DType::f32, {N, H}},
        {&s_->x, DType::f32, {N, H}},
        {&s_->a, DType::f32, {N, H}},
        {&s_->hf, DType::f32, {N, H}},
        {&s_->q, DType::f32, {N * max_q}},
        {&s_->att, DType::f32, {N * max_q}},
        {&s_->k, DType::f32, {N * max_kv}},
        {&s_->v, DType::f32, {N * max_kv}},
        {&s_->gate, DType::f32, {N * max_f}},
        {&s_->up, DType::f32, {N * max_f}},
        {&s_->logits, DType::f32, {opts_.max_logit_rows, c.vocab_size}},
    };
    for (Want & w : wants) {
        auto t = backend_.alloc(w.d, w.s);
        if (!t.ok()) return t.error();
        *w.t = std::move(*t);
    }
    if (P > 0) {
        for (Tensor * t : {&s_->ple_c, &s_->ple_t, &s_->ple_all}) {
            auto r = backend_.alloc(DType::f32, {N * c.n_layers * P});
            if (!r.ok()) return r.error();
            *t = std::move(*r);
        }
        auto g = backend_.alloc(DType::f32, {N * P});
        if (!g.ok()) return g.error();
        s_->ple_g = std::move(*g);
        s_->ple_scale = scale_in_dtype(std::sqrt(float(P)), opts_.compute_dtype);
    }
    s_->embed_scale = scale_in_dtype(std::sqrt(float(H)), opts_.compute_dtype);
    for (const LayerConfig & lc : c.layers) {
        auto f = rope_freqs(lc.type == LayerType::full ? c.rope_full : c.rope_sliding, lc.head_dim);
        if (!f.ok()) return f.error();
        auto t = backend_.alloc(DType::f32, {lc.head_dim / 2});
        if (!t.ok()) return t.error();
        GEMMA_TRY(backend_.write(*t, f->data(), f->size() * sizeof(float)));
        s_->freqs.push_back(std::move(*t));
    }
    return Status::success();
}

Result<KvCache> TextModel::make_kv_cache(int n_ctx, int max_chunk, DType type) {
    int chunk = max_chunk <= 0 ? opts_.max_batch : std::min(max_chunk, opts_.max_batch);
    return gemma4::make_kv_cache(cfg_.text, backend_, n_ctx, chunk, type);
}

Status TextModel::check_input(const ForwardInput & in, const KvCache & kv) const {
    const int n = int(in.ids.size());
    if (n == 0) return make_error(ErrorCode::invalid_argument, "forward: no tokens given");
    if (n > kv.max_chunk)
        return make_error(
            ErrorCode::invalid_argument,
            format("forward: %d tokens in one call, the cache allows %d; split the prompt "
                   "into chunks",
                   n, kv.max_chunk));
    if (kv.n_past + n > kv.n_ctx)
        return make_error(ErrorCode::context_full,
                          format("context full: %d cached + %d new tokens > %d; start a new "
                                 "conversation or raise the context size",
                                 kv.n_past, n, kv.n_ctx));
    if (kv.layers.size() != cfg_.text.layers.size())
        return make_error(ErrorCode::invalid_argument, "forward: KV cache made for another model");
    GEMMA_TRY(check_tokens(in.ids, in.block_ids, in.overrides));
    if (in.all_logits && n > opts_.max_logit_rows)
        return make_error(ErrorCode::invalid_argument,
                          format("forward: all_logits for %d tokens but max_logit_rows is %d", n,
                                 opts_.max_logit_rows));
    return Status::success();
}

// Checks one chunk's ids, block ids and soft-token runs (shared by forward and forward_batch).
Status TextModel::check_tokens(std::span<const int32_t> ids, std::span<const int32_t> block_ids,
                               std::span<const EmbedOverride> overrides) const {
    const int n = int(ids.size());
    for (int32_t id : ids)
        if (id < 0 || id >= cfg_.text.vocab_size)
            return make_error(
                ErrorCode::invalid_argument,
                format("token id %d is outside the vocabulary [0, %d)", id, cfg_.text.vocab_size));
    if (!block_ids.empty() && int(block_ids.size()) != n)
        return make_error(ErrorCode::invalid_argument,
                          format("forward: %zu block ids for %d tokens", block_ids.size(), n));
    for (const EmbedOverride & o : overrides) {
        const Tensor & e = o.embeds;
        if (e.ndim() != 2 || e.dtype != DType::f32 || e.dim(1) != cfg_.text.hidden_size ||
            o.row < 0 || o.row + e.dim(0) > n)
            return make_error(ErrorCode::invalid_argument,
                              format("forward: soft tokens %s %s at row %d do not fit [%d, %d] f32",
                                     dtype_name(e.dtype), shape_str(e.shape).c_str(), o.row, n,
                                     cfg_.text.hidden_size));
    }
    return Status::success();
}

Status TextModel::upload_inputs(const ForwardInput & in, const KvCache & kv) {
    const int n = int(in.ids.size());
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) pos[size_t(i)] = kv.n_past + i;
    std::vector<int32_t> ids(in.ids.begin(), in.ids.end());
    for (const EmbedOverride & o : in.overrides)  // soft-token positions read the pad rows
        for (int64_t r = o.row; r < o.row + o.embeds.dim(0); ++r)
            ids[size_t(r)] = cfg_.text.pad_token_id;
    GEMMA_TRY(backend_.write(s_->ids, ids.data(), size_t(n) * 4));
    GEMMA_TRY(backend_.write(s_->pos, pos.data(), size_t(n) * 4));
    if (!in.block_ids.empty())
        GEMMA_TRY(backend_.write(s_->blocks, in.block_ids.data(), size_t(n) * 4));
    return Status::success();
}

// h0 = E[ids] * scale (spec §4); PLE inputs are built from it before layer 0.
Status TextModel::embed(int n, std::span<const EmbedOverride> overrides, const DebugTap * tap) {
    Tensor ids = tensor_rows(s_->ids, 0, n);
    Tensor h = tensor_rows(s_->h, 0, n);
    GEMMA_TRY(backend_.get_rows(w_.embed, ids, s_->embed_scale, h));
    for (const EmbedOverride & o : overrides)
        GEMMA_TRY(backend_.copy(o.embeds, tensor_rows(h, o.row, o.embeds.dim(0))));
    if (tap) (*tap)("text.hidden.0", h);
    if (cfg_.text.hidden_size_per_layer_input > 0) GEMMA_TRY(ple_inputs(n));
    return Status::success();
}

Status TextModel::layer(int l, int n, StepPlan & plan) {
    GEMMA_TRY(attention_block(l, n, plan));
    GEMMA_TRY(mlp_block(l, n));
    if (cfg_.text.hidden_size_per_layer_input > 0) GEMMA_TRY(ple_block(l, n));
    Tensor h = tensor_rows(s_->h, 0, n);
    // layer_scalar multiplies the whole residual stream, not just a branch (spec §6.1, pitfall 5).
    return backend_.mul(h, w_.layers[size_t(l)].layer_scalar, h);
}

// MLP (spec §6.7) with its pre/post norms and the residual add.
Status TextModel::mlp_block(int l, int n) {
    const LayerWeights & lw = w_.layers[size_t(l)];
    const int64_t F = cfg_.text.layers[size_t(l)].intermediate_size;
    const float eps = cfg_.text.rms_norm_eps;
    Tensor h = tensor_rows(s_->h, 0, n), x = tensor_rows(s_->x, 0, n), a = tensor_rows(s_->a, 0, n);
    Tensor gate = tensor_prefix(s_->gate, {n, F}), up = tensor_prefix(s_->up, {n, F});
    GEMMA_TRY(backend_.rms_norm(h, lw.pre_ffw_norm, eps, x));
    GEMMA_TRY(backend_.matmul(x, lw.gate_proj, gate));
    GEMMA_TRY(backend_.matmul(x, lw.up_proj, up));
    // Each scratch tensor is discarded right after its last reader (Backend::discard; never h,
    // which the debug taps read): a GPU backend may skip storing what only fused readers used.
    GEMMA_TRY(backend_.discard(x));
    GEMMA_TRY(backend_.gelu_tanh_mul(gate, up, gate));
    GEMMA_TRY(backend_.matmul(gate, lw.down_proj, a));
    // gate, then up (dead since the gelu): in this order, after down, the CUDA backend may also
    // have the gate/up GEMMs write 16-bit values for the gelu (backends/cuda/fusion.h (ffn16)).
    GEMMA_TRY(backend_.discard(gate));
    GEMMA_TRY(backend_.discard(up));
    GEMMA_TRY(backend_.rms_norm(a, lw.post_ffw_norm, eps, a));
    GEMMA_TRY(backend_.add(h, a, h));
    return backend_.discard(a);
}

// Final norm, LM head (tied embedding, unscaled) and soft cap (spec §7).
Result<Tensor> TextModel::logits(int n, bool all_logits, const DebugTap * tap) {
    const TextConfig & c = cfg_.text;
    Tensor h = tensor_rows(s_->h, 0, n), hf = tensor_rows(s_->hf, 0, n);
    GEMMA_TRY(backend_.rms_norm(h, w_.final_norm, c.rms_norm_eps, hf));
    if (tap) (*tap)("text.hidden." + std::to_string(c.n_layers), hf);
    int rows = all_logits ? n : 1;
    Tensor src = tensor_rows(hf, n - rows, rows);
    Tensor out = tensor_rows(s_->logits, 0, rows);
    GEMMA_TRY(backend_.matmul(src, w_.lm_head, out));
    if (c.final_logit_softcapping > 0.0f)
        GEMMA_TRY(backend_.softcap(out, c.final_logit_softcapping, out));
    if (tap) (*tap)("text.logits", out);
    return out;
}

Status TextModel::run_layers(int n, StepPlan & plan, const DebugTap * tap) {
    GEMMA_TRY(embed(n, plan.overrides, tap));
    for (int l = 0; l < cfg_.text.n_layers; ++l) {
        GEMMA_TRY(layer(l, n, plan));
        if (tap && l + 1 < cfg_.text.n_layers)
            (*tap)("text.hidden." + std::to_string(l + 1), tensor_rows(s_->h, 0, n));
    }
    return Status::success();
}

Result<Tensor> TextModel::forward(const ForwardInput & in, KvCache & kv, const DebugTap * tap) {
    GEMMA_TRY(check_input(in, kv));
    const int n = int(in.ids.size());
    GEMMA_TRY(upload_inputs(in, kv));
    StepPlan plan;
    plan.cache = &kv;
    plan.overrides.assign(in.overrides.begin(), in.overrides.end());
    bool overlay = !in.block_ids.empty() && cfg_.text.use_bidirectional_attention == "vision";
    plan.seqs.push_back({0, n, kv.n_past, nullptr, overlay});
    GEMMA_TRY(run_layers(n, plan, tap));
    auto out = logits(n, in.all_logits, tap);
    if (out.ok()) kv.n_past += n;
    return out;
}

Result<std::unique_ptr<TextModel>> load_text_model(const std::string & dir, Backend & backend,
                                                   TextModelOptions opts) {
    auto cfg = load_config(dir);
    if (!cfg.ok()) return cfg.error();
    auto src = io::open_safetensors(dir);
    if (!src.ok()) return src.error();
    auto w = load_text_weights(**src, *cfg, backend, opts.weights, opts.ple_on_host);
    if (!w.ok()) return w.error();
    return TextModel::create(std::move(*cfg), std::move(*w), backend, opts);
}

Result<std::unique_ptr<TextModel>> make_synthetic_text_model(const Config & cfg, Backend & backend,
                                                             uint64_t seed, TextModelOptions opts) {
    auto w = make_synthetic_text_weights(cfg, backend, seed, DType::bf16, opts.weights,
                                         opts.ple_on_host);
    if (!w.ok()) return w.error();
    return TextModel::create(cfg, std::move(*w), backend, opts);
}

}  // namespace gemma::gemma4
