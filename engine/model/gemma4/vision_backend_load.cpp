// Binding the vision tower's weights for the backend path (vision_backend.h): shape and dtype
// checks as vision.cpp's loader does them, then one upload per tensor; plus the path resolver.
#include <algorithm>
#include <cmath>
#include <limits>

#include "model/gemma4/embedder_math.h"
#include "model/gemma4/vision_backend.h"

namespace gemma::gemma4 {
namespace {

const std::string kTower = "model.vision_tower.";

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

// One checkpoint tensor on the backend, checked against `shape` and uploaded once (as stored
// when the backend runs `op` with that dtype, else converted to f32 first), viewed as `view`
// (same element count) when one is given.
Result<Tensor> upload(Backend & b, const io::TensorSource & src, const std::string & name,
                      const Shape & shape, Op op, const Shape & view = {}) {
    auto t = src.get_checked(name, shape);
    if (!t) return t.error();
    if (!is_float(t->dtype))
        return make_error(ErrorCode::unsupported,
                          format("tensor '%s' in %s is %s; the vision tower needs f32, f16 or "
                                 "bf16 weights",
                                 name.c_str(), src.describe().c_str(), dtype_name(t->dtype)));
    Tensor host = tensor_reshape(*t, view.empty() ? shape : view);
    if (t->dtype != DType::f32 && !b.supports({op, DType::f32, t->dtype}))
        host = tensor_to_f32(host);
    return b.upload(host);
}

// An f32 host vector as a weight on the backend.
Result<Tensor> upload_f32(Backend & b, std::vector<float> v) {
    Tensor host = tensor_host(DType::f32, {int64_t(v.size())});
    std::copy(v.begin(), v.end(), host.ptr<float>());
    return b.upload(host);
}

// The clip bounds of a Gemma4ClippableLinear (spec §3.6), as vision.cpp reads them.
Status load_bounds(const mm::WeightReader & r, const std::string & name, VisionBackendLinear & l) {
    float * dst[4] = {&l.in_min, &l.in_max, &l.out_min, &l.out_max};
    const char * key[4] = {"input_min", "input_max", "output_min", "output_max"};
    for (int i = 0; i < 4; ++i) {
        auto s = r.scalar(name + "." + key[i]);
        if (!s) return s.error();
        *dst[i] = *s;
    }
    if (!(l.in_min <= l.in_max) || !(l.out_min <= l.out_max))
        return make_error(ErrorCode::corrupt_file,
                          format("clip bounds of '%s' are inverted or NaN (input [%g, %g], "
                                 "output [%g, %g]); the checkpoint is damaged",
                                 name.c_str(), l.in_min, l.in_max, l.out_min, l.out_max));
    const float inf = std::numeric_limits<float>::infinity();
    l.clip_in = l.in_min > -inf || l.in_max < inf;
    l.clip_out = l.out_min > -inf || l.out_max < inf;
    return Status::success();
}

Result<VisionBackendLayer> load_layer(Backend & b, const io::TensorSource & src,
                                      const VisionConfig & c, int i) {
    const std::string p = kTower + format("encoder.layers.%d.", i);
    const int64_t d = c.hidden_size, f = c.intermediate_size, hd = c.head_dim;
    VisionBackendLayer l;
    struct N {
        Tensor * dst;
        const char * name;
        int64_t size;
    };
    for (const N & n :
         {N{&l.input_norm, "input_layernorm", d},
          N{&l.post_attn_norm, "post_attention_layernorm", d},
          N{&l.pre_ff_norm, "pre_feedforward_layernorm", d},
          N{&l.post_ff_norm, "post_feedforward_layernorm", d}, N{&l.q_norm, "self_attn.q_norm", hd},
          N{&l.k_norm, "self_attn.k_norm", hd}}) {
        auto w = upload(b, src, p + n.name + ".weight", {n.size}, Op::rms_norm);
        if (!w) return w.error();
        *n.dst = std::move(*w);
    }
    struct L {
        VisionBackendLinear * dst;
        const char * name;
        int64_t in, out;
    };
    const mm::WeightReader r(src);
    for (const L & x : {L{&l.q, "self_attn.q_proj", d, d}, L{&l.k, "self_attn.k_proj", d, d},
                        L{&l.v, "self_attn.v_proj", d, d}, L{&l.o, "self_attn.o_proj", d, d},
                        L{&l.gate, "mlp.gate_proj", d, f}, L{&l.up, "mlp.up_proj", d, f},
                        L{&l.down, "mlp.down_proj", f, d}}) {
        auto w = upload(b, src, p + x.name + ".linear.weight", {x.out, x.in}, Op::matmul);
        if (!w) return w.error();
        x.dst->w = std::move(*w);
        if (c.use_clipped_linears) GEMMA_TRY(load_bounds(r, p + x.name, *x.dst));
    }
    return l;
}

}  // namespace

Result<std::unique_ptr<VisionBackendEncoder>> VisionBackendEncoder::load(
    const Config & config, const io::TensorSource & weights, Backend & backend) {
    std::unique_ptr<VisionBackendEncoder> e(new VisionBackendEncoder());
    e->backend_ = &backend;
    return load_into(std::move(e), config, weights);
}

Result<std::unique_ptr<VisionBackendEncoder>> VisionBackendEncoder::load(
    const Config & config, const io::TensorSource & weights, std::unique_ptr<Backend> backend) {
    if (!backend) return make_error(ErrorCode::invalid_argument, "vision tower: no backend");
    std::unique_ptr<VisionBackendEncoder> e(new VisionBackendEncoder());
    e->owned_ = std::move(backend);
    e->backend_ = e->owned_.get();
    return load_into(std::move(e), config, weights);
}

Result<std::unique_ptr<VisionBackendEncoder>> VisionBackendEncoder::load_into(
    std::unique_ptr<VisionBackendEncoder> e, const Config & config,
    const io::TensorSource & weights) {
    auto cfg = parse_vision_config(config);
    if (!cfg) return cfg.error();
    e->cfg_ = *cfg;
    Backend & b = *e->backend_;
    const int64_t d = cfg->hidden_size, table = cfg->position_embedding_size;
    auto proj = upload(b, weights, kTower + "patch_embedder.input_proj.weight",
                       {d, media::kImagePatchDim}, Op::matmul);
    if (!proj) return proj.error();
    e->patch_proj_ = std::move(*proj);
    // Checked as [2, P, D], kept as one [2P, D] table so both lookups are get_rows.
    auto t = upload(b, weights, kTower + "patch_embedder.position_embedding_table", {2, table, d},
                    Op::get_rows, {2 * table, d});
    if (!t) return t.error();
    e->pos_table_ = std::move(*t);
    // Exactly vision.cpp's inverse frequencies (fp32 pow), one set for both axes.
    const int hd = cfg->head_dim;
    std::vector<float> freqs(size_t(hd / 4));
    for (int i = 0; i < hd / 4; ++i)
        freqs[size_t(i)] = 1.0f / std::pow(cfg->rope_theta, float(2 * i) / float(hd / 2));
    auto f = upload_f32(b, std::move(freqs));
    if (!f) return f.error();
    e->rope_freqs_ = std::move(*f);
    for (int i = 0; i < cfg->n_layers; ++i) {
        auto l = load_layer(b, weights, *cfg, i);
        if (!l) return l.error();
        e->layers_.push_back(std::move(*l));
    }
    if (cfg->standardize) {
        const mm::WeightReader r(weights);
        auto bias = r.f32(kTower + "std_bias", {d});
        if (!bias) return bias.error();
        auto scale = r.f32(kTower + "std_scale", {d});
        if (!scale) return scale.error();
        for (float & v : *bias) v = -v;  // (x − b) as x + (−b): the same IEEE result
        auto nb = upload_f32(b, std::move(*bias));
        if (!nb) return nb.error();
        auto sc = upload_f32(b, std::move(*scale));
        if (!sc) return sc.error();
        e->std_neg_bias_ = std::move(*nb);
        e->std_scale_ = std::move(*sc);
    }
    auto emb = upload(b, weights, "model.embed_vision.embedding_projection.weight",
                      {cfg->text_hidden_size, d}, Op::matmul);
    if (!emb) return emb.error();
    e->embed_proj_ = std::move(*emb);
    return e;
}

std::string vision_path_resolve(const std::string & requested, const BackendInfo & text_backend) {
    if (!requested.empty() && requested != "auto") return requested;
    return text_backend.where == Where::device ? text_backend.name : kHostVisionPath;
}

}  // namespace gemma::gemma4
