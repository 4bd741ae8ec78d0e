// Binding Gemma 4 text weights by name (spec gemma4-text §9.1), quantizing them on request, and
// making synthetic ones.
#include "model/gemma4/weights.h"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/parallel.h"
#include "core/quant.h"

namespace gemma::gemma4 {
namespace {

void add_layer_specs(const TextConfig & c, int l, const std::string & p, LayerWeights & lw,
                     std::vector<WeightSpec> & out) {
    const LayerConfig & lc = c.layers[size_t(l)];
    const int64_t H = c.hidden_size, D = lc.head_dim, F = lc.intermediate_size;
    const int64_t q_rows = int64_t(c.n_heads) * D, kv_rows = int64_t(lc.n_kv_heads) * D;
    auto add = [&](const char * n, Shape s, Tensor * t) {
        out.push_back({p + n, std::move(s), t});
    };
    add("input_layernorm.weight", {H}, &lw.input_norm);
    add("self_attn.q_proj.weight", {q_rows, H}, &lw.q_proj);
    add("self_attn.q_norm.weight", {D}, &lw.q_norm);
    if (lc.owns_kv) {
        add("self_attn.k_proj.weight", {kv_rows, H}, &lw.k_proj);
        add("self_attn.k_norm.weight", {D}, &lw.k_norm);
        add("self_attn.v_proj.weight", {kv_rows, H}, &lw.v_proj);
    }
    add("self_attn.o_proj.weight", {H, q_rows}, &lw.o_proj);
    add("post_attention_layernorm.weight", {H}, &lw.post_attn_norm);
    add("pre_feedforward_layernorm.weight", {H}, &lw.pre_ffw_norm);
    add("mlp.gate_proj.weight", {F, H}, &lw.gate_proj);
    add("mlp.up_proj.weight", {F, H}, &lw.up_proj);
    add("mlp.down_proj.weight", {H, F}, &lw.down_proj);
    add("post_feedforward_layernorm.weight", {H}, &lw.post_ffw_norm);
    if (c.hidden_size_per_layer_input > 0) {
        const int64_t P = c.hidden_size_per_layer_input;
        add("per_layer_input_gate.weight", {P, H}, &lw.ple_gate);
        add("per_layer_projection.weight", {H, P}, &lw.ple_proj);
        add("post_per_layer_input_norm.weight", {H}, &lw.post_ple_norm);
    }
    add("layer_scalar", {1}, &lw.layer_scalar);
}

bool is_norm_name(const std::string & name) { return name.find("norm") != std::string::npos; }

// xorshift64*: fast, deterministic, good enough for random test weights.
struct Rng {
    uint64_t s;
    float uniform() {  // [-1, 1)
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return float((s * 0x2545F4914F6CDD1DULL) >> 40) / float(1 << 23) - 1.0f;
    }
};

// splitmix64: independent streams per row (quantized) or chunk (16-bit) of synthetic weights.
uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// A random tensor: norm weights near 1, layer scalars near 1, matrices uniform with bound
// 1/sqrt(cols). Values come in chunks of kChunk elements, chunk c from its own stream seeded by
// (one draw of rng, c), generated on all cores: the values depend on rng's state only, never on
// the thread count (the E4B preset is 7.5 G values: one stream took ~45 s).
Tensor random_tensor(const WeightSpec & spec, DType dtype, Rng & rng) {
    constexpr int64_t kChunk = int64_t(1) << 20;
    Tensor t = tensor_host(dtype, spec.shape);
    const bool norm = is_norm_name(spec.name);
    const bool scalar = spec.name.find("layer_scalar") != std::string::npos;
    const float bound = spec.shape.size() == 2 ? 1.0f / std::sqrt(float(spec.shape[1])) : 1.0f;
    const int64_t n = t.numel();
    rng.uniform();
    const uint64_t base = rng.s;
    parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            Rng r{mix(base ^ mix(uint64_t(c))) | 1};
            for (int64_t i = c * kChunk, end = std::min(n, i + kChunk); i < end; ++i) {
                float u = r.uniform();
                float v = scalar ? 1.0f + 0.4f * u : norm ? 1.0f + 0.2f * u : bound * u;
                if (dtype == DType::f32)
                    t.ptr<float>()[i] = v;
                else if (dtype == DType::bf16)
                    t.ptr<uint16_t>()[i] = f32_to_bf16(v);
                else
                    t.ptr<uint16_t>()[i] = f32_to_f16(v);
            }
        }
    });
    return t;
}

// A random [rows, cols] matrix (uniform, bound 1/sqrt(cols)) generated straight into `type`
// blocks, rows split across all cores; row r's values depend only on (seed, r).
Tensor random_quant_tensor(const WeightSpec & spec, DType type, uint64_t seed) {
    Tensor t = tensor_host(type, spec.shape);
    const int64_t rows = spec.shape[0], cols = spec.shape[1];
    const size_t row_bytes = dtype_row_bytes(type, size_t(cols));
    const float bound = 1.0f / std::sqrt(float(cols));
    auto run = [&](int64_t r0, int64_t r1) {
        std::vector<float> buf(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
            Rng rng{mix(seed ^ mix(uint64_t(r))) | 1};
            for (float & v : buf) v = bound * rng.uniform();
            quantize_row(type, buf.data(), cols, t.ptr<uint8_t>() + size_t(r) * row_bytes);
        }
    };
    const int64_t n_threads = std::clamp<int64_t>(std::thread::hardware_concurrency(), 1,
                                                  std::max<int64_t>(1, rows / 256));
    std::vector<std::thread> workers;
    const int64_t per = (rows + n_threads - 1) / n_threads;
    for (int64_t i = 1; i < n_threads; ++i)
        if (i * per < rows) workers.emplace_back(run, i * per, std::min(rows, (i + 1) * per));
    run(0, std::min(rows, per));
    for (std::thread & w : workers) w.join();
    return t;
}

Status check_backend_dtype(Backend & backend, const std::string & name, const Tensor & t) {
    if (backend.supports({Op::matmul, DType::f32, t.dtype})) return Status::success();
    return make_error(ErrorCode::unsupported,
                      format("tensor '%s' has dtype %s, which backend '%s' does not support",
                             name.c_str(), dtype_name(t.dtype), backend.info().name.c_str()));
}

// The tensor as it should be uploaded: quantized when `want` differs from its dtype.
Result<Tensor> as_weight(const Tensor & t, DType want, const std::string & name) {
    if (want == t.dtype) return t;
    return quantize_tensor(t, want, name);
}

}  // namespace

const char * weight_type_name(WeightType t) {
    switch (t) {
        case WeightType::stored:
            return "bf16";
        case WeightType::q8_0:
            return "q8_0";
        case WeightType::q4_0:
            return "q4_0";
    }
    return "?";
}

Result<WeightType> parse_weight_type(const std::string & s) {
    if (s == "bf16" || s == "stored") return WeightType::stored;
    if (s == "q8_0") return WeightType::q8_0;
    if (s == "q4_0") return WeightType::q4_0;
    return make_error(
        ErrorCode::invalid_argument,
        format("unknown weight type '%s' (choose bf16 = as stored, q8_0 or q4_0)", s.c_str()));
}

DType weight_dtype_for(const WeightSpec & spec, const TextConfig & /*cfg*/, DType stored,
                       WeightType weights) {
    if (weights == WeightType::stored || spec.shape.size() != 2) return stored;
    if (spec.shape[1] % kQuantBlock != 0) return stored;  // tiny test models only
    bool head = spec.name.ends_with("embed_tokens.weight") || spec.name == "lm_head.weight";
    if (weights == WeightType::q8_0 || head) return DType::q8_0;
    return DType::q4_0;
}

size_t text_weight_bytes(const TextWeights & w) {
    size_t bytes = w.embed.nbytes() + w.ple_embed.nbytes() + w.ple_model_proj.nbytes() +
                   w.ple_norm.nbytes() + w.final_norm.nbytes();
    if (w.lm_head.data != w.embed.data) bytes += w.lm_head.nbytes();
    for (const LayerWeights & l : w.layers)
        for (const Tensor * t :
             {&l.input_norm, &l.q_proj, &l.q_norm, &l.k_proj, &l.k_norm, &l.v_proj, &l.o_proj,
              &l.post_attn_norm, &l.pre_ffw_norm, &l.gate_proj, &l.up_proj, &l.down_proj,
              &l.post_ffw_norm, &l.ple_gate, &l.ple_proj, &l.post_ple_norm, &l.layer_scalar})
            if (!t->empty()) bytes += t->nbytes();
    return bytes;
}

std::vector<WeightSpec> text_weight_specs(const TextConfig & c, const std::string & prefix,
                                          TextWeights & w) {
    std::vector<WeightSpec> out;
    const int64_t V = c.vocab_size, H = c.hidden_size, P = c.hidden_size_per_layer_input;
    out.push_back({prefix + "embed_tokens.weight", {V, H}, &w.embed});
    if (P > 0) {
        out.push_back(
            {prefix + "embed_tokens_per_layer.weight", {V, int64_t(c.n_layers) * P}, &w.ple_embed});
        out.push_back({prefix + "per_layer_model_projection.weight",
                       {int64_t(c.n_layers) * P, H},
                       &w.ple_model_proj});
        out.push_back({prefix + "per_layer_projection_norm.weight", {P}, &w.ple_norm});
    }
    out.push_back({prefix + "norm.weight", {H}, &w.final_norm});
    w.layers.resize(size_t(c.n_layers));
    for (int l = 0; l < c.n_layers; ++l)
        add_layer_specs(c, l, prefix + "layers." + std::to_string(l) + ".", w.layers[size_t(l)],
                        out);
    return out;
}

namespace {

// The tensor a weight slot gets: the uploaded copy, or for the PLE table with ple_on_host the
// host tensor itself (a device backend's get_rows reads it over the bus).
Result<Tensor> place_weight(Backend & backend, const TextWeights & w, const WeightSpec & spec,
                            const Tensor & host, bool ple_on_host) {
    if (ple_on_host && spec.slot == &w.ple_embed && host.where == Where::host) return host;
    return backend.upload(host);
}

}  // namespace

Result<TextWeights> load_text_weights(const io::TensorSource & src, const Config & cfg,
                                      Backend & backend, WeightType weights, bool ple_on_host) {
    TextWeights w;
    int kept = 0;
    for (const WeightSpec & spec : text_weight_specs(cfg.text, cfg.weight_prefix, w)) {
        auto t = src.get_checked(spec.name, spec.shape);
        if (!t.ok()) return t.error();
        DType want = weight_dtype_for(spec, cfg.text, t->dtype, weights);
        if (weights != WeightType::stored && spec.shape.size() == 2 && want == t->dtype) ++kept;
        auto host = as_weight(*t, want, spec.name);
        if (!host.ok()) return host.error();
        GEMMA_TRY(check_backend_dtype(backend, spec.name, *host));
        auto up = place_weight(backend, w, spec, *host, ple_on_host);
        if (!up.ok()) return up.error();
        *spec.slot = std::move(*up);
    }
    w.lm_head = w.embed;
    if (!cfg.text.tie_word_embeddings && src.find_or_null("lm_head.weight") != nullptr) {
        auto t = src.get_checked("lm_head.weight", w.embed.shape);
        if (!t.ok()) return t.error();
        WeightSpec head{"lm_head.weight", w.embed.shape, nullptr};
        auto host = as_weight(*t, weight_dtype_for(head, cfg.text, t->dtype, weights), head.name);
        if (!host.ok()) return host.error();
        GEMMA_TRY(check_backend_dtype(backend, "lm_head.weight", *host));
        auto up = backend.upload(*host);
        if (!up.ok()) return up.error();
        w.lm_head = std::move(*up);
    }
    if (kept > 0)
        GEMMA_LOG_INFO("%s weights: %d matrices with rows not a multiple of 32 kept as stored",
                       weight_type_name(weights), kept);
    return w;
}

Result<TextWeights> make_synthetic_text_weights(const Config & cfg, Backend & backend,
                                                uint64_t seed, DType dtype, WeightType weights,
                                                bool ple_on_host) {
    if (dtype != DType::f32 && dtype != DType::bf16 && dtype != DType::f16)
        return make_error(ErrorCode::unsupported,
                          format("synthetic weights in %s are not supported", dtype_name(dtype)));
    TextWeights w;
    Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
    uint64_t index = 0;
    for (const WeightSpec & spec : text_weight_specs(cfg.text, cfg.weight_prefix, w)) {
        DType want = weight_dtype_for(spec, cfg.text, dtype, weights);
        ++index;
        Tensor host = want == dtype ? random_tensor(spec, dtype, rng)
                                    : random_quant_tensor(spec, want, mix(seed + index));
        GEMMA_TRY(check_backend_dtype(backend, spec.name, host));
        auto up = place_weight(backend, w, spec, host, ple_on_host);
        if (!up.ok()) return up.error();
        *spec.slot = std::move(*up);
    }
    w.lm_head = w.embed;
    return w;
}

}  // namespace gemma::gemma4
