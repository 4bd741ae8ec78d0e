// Synthetic multimodal tower weights: the tensor inventory of vision.cpp / audio*.cpp, filled with
// seeded random bf16 values.
#include "model/gemma4/mm_synthetic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "model/gemma4/audio_config.h"
#include "model/gemma4/vision_config.h"

namespace gemma::gemma4 {
namespace {

constexpr const char * kE4bTowers = R"({
  "architectures": ["Gemma4ForConditionalGeneration"],
  "image_token_id": 258880, "audio_token_id": 258881, "video_token_id": 258884,
  "boi_token_id": 255999, "eoi_token_id": 258882, "boa_token_id": 256000, "eoa_token_id": 258883,
  "text_config": {"vocab_size": 262144, "hidden_size": 2560, "intermediate_size": 10240,
                  "num_hidden_layers": 1, "num_attention_heads": 8, "num_key_value_heads": 2,
                  "head_dim": 256, "sliding_window": 512},
  "vision_config": {"hidden_size": 768, "num_hidden_layers": 16, "num_attention_heads": 12,
                    "num_key_value_heads": 12, "head_dim": 64, "intermediate_size": 3072,
                    "patch_size": 16, "pooling_kernel_size": 3, "position_embedding_size": 10240,
                    "use_clipped_linears": true, "standardize": false},
  "audio_config": {"hidden_size": 1024, "num_hidden_layers": 12, "num_attention_heads": 8,
                   "conv_kernel_size": 5, "subsampling_conv_channels": [128, 32],
                   "attention_chunk_size": 12, "attention_context_left": 13,
                   "attention_context_right": 0, "output_proj_dims": 1536,
                   "use_clipped_linears": true}
})";

constexpr const char * kSmallTowers = R"({
  "architectures": ["Gemma4ForConditionalGeneration"],
  "image_token_id": 504, "audio_token_id": 508, "video_token_id": 505,
  "boi_token_id": 502, "eoi_token_id": 503, "boa_token_id": 506, "eoa_token_id": 507,
  "text_config": {"vocab_size": 512, "hidden_size": 96, "intermediate_size": 128,
                  "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
                  "head_dim": 48, "sliding_window": 8},
  "vision_config": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                    "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 256,
                    "patch_size": 16, "pooling_kernel_size": 3, "position_embedding_size": 512,
                    "use_clipped_linears": true},
  "audio_config": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                   "subsampling_conv_channels": [128, 16], "output_proj_dims": 80,
                   "use_clipped_linears": true}
})";

class MemorySource final : public io::TensorSource {
public:
    std::vector<std::string> names() const override {
        std::vector<std::string> n;
        for (const auto & [k, v] : infos_) n.push_back(k);
        return n;
    }
    const io::TensorInfo * find_or_null(const std::string & name) const override {
        auto it = infos_.find(name);
        return it == infos_.end() ? nullptr : &it->second;
    }
    Result<Tensor> get(const std::string & name) const override {
        auto it = tensors_.find(name);
        if (it == tensors_.end())
            return make_error(ErrorCode::not_found,
                              format("tensor '%s' is not in %s", name.c_str(), describe().c_str()));
        return it->second;
    }
    std::string describe() const override { return "synthetic multimodal weights"; }

    void add(const std::string & name, Tensor t) {
        infos_[name] = io::TensorInfo{name, t.dtype, t.shape, 0, 0, t.nbytes()};
        tensors_[name] = std::move(t);
    }

private:
    std::map<std::string, io::TensorInfo> infos_;
    std::map<std::string, Tensor> tensors_;
};

// Seeded values: splitmix64 stream -> uniform in [-1, 1).
struct Rng {
    uint64_t s;
    float next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return float(double(z >> 40) / double(1ull << 23)) - 1.0f;
    }
};

class Builder {
public:
    Builder(MemorySource & src, uint64_t seed) : src_(src), rng_{seed} {}

    // Uniform values with the given centre and half-width.
    void uniform(const std::string & name, Shape shape, float centre, float half) {
        Tensor t = tensor_host(DType::bf16, std::move(shape));
        auto * p = t.ptr<uint16_t>();
        for (int64_t i = 0; i < t.numel(); ++i) p[i] = f32_to_bf16(centre + half * rng_.next());
        src_.add(name, std::move(t));
    }
    void matrix(const std::string & name, int out, int in) {  // std 1/√in: half-width √3/√in
        uniform(name, {out, in}, 0.0f, std::sqrt(3.0f / float(in)));
    }
    void norm(const std::string & name, int d) { uniform(name, {d}, 1.0f, 0.2f); }
    void clipped(const std::string & p, int out, int in, bool clip) {
        matrix(p + ".linear.weight", out, in);
        if (!clip) return;
        const float in_b = 6.0f + 2.0f * rng_.next(), out_b = 12.0f + 4.0f * rng_.next();
        uniform(p + ".input_min", {}, -in_b, 0.0f);
        uniform(p + ".input_max", {}, in_b, 0.0f);
        uniform(p + ".output_min", {}, -out_b, 0.0f);
        uniform(p + ".output_max", {}, out_b, 0.0f);
    }

private:
    MemorySource & src_;
    Rng rng_;
};

void add_vision(Builder & b, const VisionConfig & c) {
    const std::string t = "model.vision_tower.";
    const int d = c.hidden_size, f = c.intermediate_size;
    b.matrix(t + "patch_embedder.input_proj.weight", d, 768);
    b.uniform(t + "patch_embedder.position_embedding_table", {2, c.position_embedding_size, d},
              0.0f, 0.05f);
    for (int i = 0; i < c.n_layers; ++i) {
        const std::string p = t + format("encoder.layers.%d.", i);
        for (const char * n : {"input_layernorm", "post_attention_layernorm",
                               "pre_feedforward_layernorm", "post_feedforward_layernorm"})
            b.norm(p + n + ".weight", d);
        b.norm(p + "self_attn.q_norm.weight", c.head_dim);
        b.norm(p + "self_attn.k_norm.weight", c.head_dim);
        for (const char * n : {"q_proj", "k_proj", "v_proj", "o_proj"})
            b.clipped(p + "self_attn." + n, d, d, c.use_clipped_linears);
        b.clipped(p + "mlp.gate_proj", f, d, c.use_clipped_linears);
        b.clipped(p + "mlp.up_proj", f, d, c.use_clipped_linears);
        b.clipped(p + "mlp.down_proj", d, f, c.use_clipped_linears);
    }
    b.matrix("model.embed_vision.embedding_projection.weight", c.text_hidden_size, d);
}

void add_audio(Builder & b, const AudioConfig & c) {
    const std::string t = "model.audio_tower.", s = t + "subsample_conv_projection.";
    const int a = c.hidden_size, c0 = c.sscp_channels[0], c1 = c.sscp_channels[1];
    const bool clip = c.use_clipped_linears;
    b.uniform(s + "layer0.conv.weight", {c0, 1, 3, 3}, 0.0f, std::sqrt(3.0f / 9.0f));
    b.norm(s + "layer0.norm.weight", c0);
    b.uniform(s + "layer1.conv.weight", {c1, c0, 3, 3}, 0.0f, std::sqrt(3.0f / float(9 * c0)));
    b.norm(s + "layer1.norm.weight", c1);
    b.matrix(s + "input_proj_linear.weight", a, ((c.n_mel + 1) / 2 + 1) / 2 * c1);
    for (int i = 0; i < c.n_layers; ++i) {
        const std::string p = t + format("layers.%d.", i);
        for (const char * ff : {"feed_forward1.", "feed_forward2."}) {
            b.norm(p + ff + "pre_layer_norm.weight", a);
            b.norm(p + ff + "post_layer_norm.weight", a);
            b.clipped(p + ff + "ffw_layer_1", 4 * a, a, clip);
            b.clipped(p + ff + "ffw_layer_2", a, 4 * a, clip);
        }
        for (const char * n : {"norm_pre_attn", "norm_post_attn", "norm_out"})
            b.norm(p + n + ".weight", a);
        for (const char * n : {"q_proj", "k_proj", "v_proj", "post"})
            b.clipped(p + "self_attn." + n, a, a, clip);
        b.matrix(p + "self_attn.relative_k_proj.weight", a, a);
        b.uniform(p + "self_attn.per_dim_scale", {c.head_dim()}, 0.0f, 0.5f);
        b.norm(p + "lconv1d.pre_layer_norm.weight", a);
        b.norm(p + "lconv1d.conv_norm.weight", a);
        b.clipped(p + "lconv1d.linear_start", 2 * a, a, clip);
        b.clipped(p + "lconv1d.linear_end", a, a, clip);
        b.uniform(p + "lconv1d.depthwise_conv1d.weight", {a, 1, c.conv_kernel_size}, 0.0f,
                  std::sqrt(3.0f / float(c.conv_kernel_size)));
    }
    b.matrix(t + "output_proj.weight", c.output_proj_dims, a);
    b.uniform(t + "output_proj.bias", {c.output_proj_dims}, 0.0f, 0.1f);
    b.matrix("model.embed_audio.embedding_projection.weight", c.text_hidden_size,
             c.output_proj_dims);
}

}  // namespace

Result<Config> mm_synthetic_config(const std::string & name) {
    if (name == "e4b") return parse_config(kE4bTowers, "synthetic e4b towers");
    if (name == "small") return parse_config(kSmallTowers, "synthetic small towers");
    return make_error(
        ErrorCode::not_found,
        format("unknown synthetic tower config '%s' (known: e4b, small)", name.c_str()));
}

Result<Config> mm_synthetic_with_vision(const Config & text, const std::string & towers) {
    const char * src = towers == "e4b" ? kE4bTowers : towers == "small" ? kSmallTowers : nullptr;
    if (!src)
        return make_error(
            ErrorCode::not_found,
            format("unknown synthetic tower config '%s' (known: e4b, small)", towers.c_str()));
    nlohmann::json j = nlohmann::json::parse(text.raw_json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error(ErrorCode::invalid_argument, "the text config has no JSON object");
    j["vision_config"] = nlohmann::json::parse(src)["vision_config"];
    return parse_config(j.dump(), "synthetic text + " + towers + " vision tower");
}

Result<std::unique_ptr<io::TensorSource>> make_synthetic_mm_weights(const Config & config,
                                                                    uint64_t seed) {
    auto src = std::make_unique<MemorySource>();
    Builder b(*src, seed);
    if (config.has_vision) {
        auto v = parse_vision_config(config);
        if (!v) return v.error();
        add_vision(b, *v);
    }
    if (config.has_audio) {
        auto a = parse_audio_config(config);
        if (!a) return a.error();
        add_audio(b, *a);
    }
    return std::unique_ptr<io::TensorSource>(std::move(src));
}

}  // namespace gemma::gemma4
