// AudioBackendEncoder: weight upload, the subsampling conv projection (SSCP) as im2col + matmul +
// layer_norm + relu on channel-last images, and the encode driver; the conformer layers are in
// audio_backend_layer.cpp. Mirrors audio.cpp (spec §5.1, §5.6) op by op.
#include "model/gemma4/audio_backend.h"

#include <cmath>

namespace gemma::gemma4 {
namespace {

const std::string kTower = "model.audio_tower.";
constexpr double kLn2 = 0.69314718055994530942;

int half_up(int n) { return (n + 1) / 2; }  // stride-2 conv with pad 1, kernel 3

// Checkpoint tensors onto the backend, as stored (f32/f16/bf16), with the shape checks and error
// messages of mm::WeightReader.
class Uploader {
public:
    Uploader(const io::TensorSource & src, Backend & b) : src_(src), b_(b), r_(src) {}

    const mm::WeightReader & reader() const { return r_; }

    // `name` checked against `shape`, then viewed as `as` (same element count) when given.
    Result<Tensor> weight(const std::string & name, const Shape & shape, const Shape & as = {}) {
        auto t = src_.get_checked(name, shape);
        if (!t) return t.error();
        if (t->dtype != DType::f32 && t->dtype != DType::bf16 && t->dtype != DType::f16)
            return make_error(ErrorCode::unsupported,
                              format("tensor '%s' in %s is %s; the audio tower needs f32, f16 or "
                                     "bf16 weights",
                                     name.c_str(), src_.describe().c_str(), dtype_name(t->dtype)));
        return b_.upload(as.empty() ? *t : tensor_reshape(*t, as));
    }

    // Host values as an f32 backend tensor.
    Result<Tensor> values(const std::vector<float> & v, const Shape & shape) {
        auto t = b_.alloc(DType::f32, shape);
        if (!t) return t.error();
        GEMMA_TRY(b_.write(*t, v.data(), v.size() * sizeof(float)));
        return t;
    }

    // A linear named as mm::load_linear names it (clippable: <name>.linear.weight + 4 bounds).
    Result<BackendLinear> linear(const std::string & name, int in, int out, mm::LinearKind kind,
                                 bool clip = false) {
        BackendLinear l;
        const std::string base = kind == mm::LinearKind::clippable ? name + ".linear" : name;
        auto w = weight(base + ".weight", {out, in});
        if (!w) return w.error();
        l.w = std::move(*w);
        if (kind == mm::LinearKind::with_bias) {
            auto b = weight(name + ".bias", {out});
            if (!b) return b.error();
            l.bias = std::move(*b);
        }
        if (kind == mm::LinearKind::clippable && clip) {
            float * dst[4] = {&l.in_min, &l.in_max, &l.out_min, &l.out_max};
            const char * key[4] = {"input_min", "input_max", "output_min", "output_max"};
            for (int i = 0; i < 4; ++i) {
                auto s = r_.scalar(name + "." + key[i]);
                if (!s) return s.error();
                *dst[i] = *s;
            }
        }
        return l;
    }

private:
    const io::TensorSource & src_;
    Backend & b_;
    mm::WeightReader r_;
};

// The attention tensors of layer p that are not plain weights: q's per-dim scale (spec §5.4.1)
// and the relative key table R = relative_k_proj(PE) for distances 0..P (§5.4.2), both fixed
// per layer and so made once here.
Status load_attention_tables(Uploader & up, Backend & b, const AudioConfig & c,
                             const std::string & p, AudioBackendLayer & l) {
    const int a = c.hidden_size, hd = c.head_dim(), past = c.n_keys_visible();
    auto pds = up.reader().f32(p + "self_attn.per_dim_scale", {hd});
    if (!pds) return pds.error();
    std::vector<float> q_scale(static_cast<size_t>(hd));
    for (int d = 0; d < hd; ++d)
        q_scale[size_t(d)] =
            float(1.0 / std::sqrt(double(hd)) / kLn2) * mm::softplus((*pds)[size_t(d)]);
    auto qs = up.values(q_scale, {hd});
    if (!qs) return qs.error();
    l.q_scale = std::move(*qs);
    auto rk = up.weight(p + "self_attn.relative_k_proj.weight", {a, a});
    if (!rk) return rk.error();
    auto pe = up.values(audio_relative_pe(past + 1, a), {past + 1, a});
    if (!pe) return pe.error();
    auto rel = b.alloc(DType::f32, {past + 1, a});
    if (!rel) return rel.error();
    GEMMA_TRY(b.matmul(*pe, *rk, *rel));
    l.rel = std::move(*rel);
    return Status::success();
}

// Binds layer i's tensors (model.audio_tower.layers.{i}.*), as load_audio_layer does.
Result<AudioBackendLayer> load_layer(Uploader & up, Backend & b, const AudioConfig & c, int i) {
    const std::string p = format("%slayers.%d.", kTower.c_str(), i);
    const int a = c.hidden_size, f = 4 * a, kk = c.conv_kernel_size;
    AudioBackendLayer l;
    struct V {
        Tensor * dst;
        std::string name;
    };
    for (const V & v :
         {V{&l.ff1.pre_norm, "feed_forward1.pre_layer_norm.weight"},
          V{&l.ff1.post_norm, "feed_forward1.post_layer_norm.weight"},
          V{&l.ff2.pre_norm, "feed_forward2.pre_layer_norm.weight"},
          V{&l.ff2.post_norm, "feed_forward2.post_layer_norm.weight"},
          V{&l.norm_pre_attn, "norm_pre_attn.weight"},
          V{&l.norm_post_attn, "norm_post_attn.weight"}, V{&l.norm_out, "norm_out.weight"},
          V{&l.lconv_pre_norm, "lconv1d.pre_layer_norm.weight"},
          V{&l.lconv_conv_norm, "lconv1d.conv_norm.weight"}}) {
        auto t = up.weight(p + v.name, {a});
        if (!t) return t.error();
        *v.dst = std::move(*t);
    }
    auto dw = up.weight(p + "lconv1d.depthwise_conv1d.weight", {a, 1, kk}, {a, kk});
    if (!dw) return dw.error();
    l.dw_conv = std::move(*dw);
    struct L {
        BackendLinear * dst;
        std::string name;
        int in, out;
    };
    for (const L & x :
         {L{&l.ff1.up, "feed_forward1.ffw_layer_1", a, f},
          L{&l.ff1.down, "feed_forward1.ffw_layer_2", f, a},
          L{&l.ff2.up, "feed_forward2.ffw_layer_1", a, f},
          L{&l.ff2.down, "feed_forward2.ffw_layer_2", f, a}, L{&l.q, "self_attn.q_proj", a, a},
          L{&l.k, "self_attn.k_proj", a, a}, L{&l.v, "self_attn.v_proj", a, a},
          L{&l.post, "self_attn.post", a, a}, L{&l.lconv_start, "lconv1d.linear_start", a, 2 * a},
          L{&l.lconv_end, "lconv1d.linear_end", a, a}}) {
        auto lin =
            up.linear(p + x.name, x.in, x.out, mm::LinearKind::clippable, c.use_clipped_linears);
        if (!lin) return lin.error();
        *x.dst = std::move(*lin);
    }
    GEMMA_TRY(load_attention_tables(up, b, c, p, l));
    return l;
}

// A host f32 copy of a backend tensor.
Result<Tensor> read_host(Backend & b, const Tensor & t) {
    Tensor h = tensor_host(DType::f32, t.shape);
    GEMMA_TRY(b.read(t, h.data, h.nbytes()));
    return h;
}

}  // namespace

Result<std::unique_ptr<AudioBackendEncoder>> AudioBackendEncoder::load(
    const Config & config, const io::TensorSource & weights, Backend & backend,
    const AudioEncoderOptions & options) {
    auto cfg = parse_audio_config(config);
    if (!cfg) return cfg.error();
    std::unique_ptr<AudioBackendEncoder> e(new AudioBackendEncoder(backend));
    e->cfg_ = *cfg;
    e->opt_ = options;
    Uploader up(weights, backend);
    const int c0 = cfg->sscp_channels[0], c1 = cfg->sscp_channels[1], a = cfg->hidden_size;
    const std::string s = kTower + "subsample_conv_projection.";
    struct V {
        Tensor * dst;
        std::string name;
        Shape shape, as;
    };
    for (const V & v : {V{&e->conv0_, s + "layer0.conv.weight", {c0, 1, 3, 3}, {c0, 9}},
                        V{&e->norm0_, s + "layer0.norm.weight", {c0}, {}},
                        V{&e->conv1_, s + "layer1.conv.weight", {c1, c0, 3, 3}, {c1, c0 * 9}},
                        V{&e->norm1_, s + "layer1.norm.weight", {c1}, {}}}) {
        auto t = up.weight(v.name, v.shape, v.as);
        if (!t) return t.error();
        *v.dst = std::move(*t);
    }
    const int f2 = half_up(half_up(cfg->n_mel));  // flatten width F2·C1 (spec §9)
    auto in_proj = up.linear(s + "input_proj_linear", f2 * c1, a, mm::LinearKind::plain);
    if (!in_proj) return in_proj.error();
    e->input_proj_ = std::move(*in_proj);
    for (int i = 0; i < cfg->n_layers; ++i) {
        auto l = load_layer(up, backend, *cfg, i);
        if (!l) return l.error();
        e->layers_.push_back(std::move(*l));
    }
    auto out =
        up.linear(kTower + "output_proj", a, cfg->output_proj_dims, mm::LinearKind::with_bias);
    if (!out) return out.error();
    e->output_proj_ = std::move(*out);
    auto emb = up.weight("model.embed_audio.embedding_projection.weight",
                         {cfg->text_hidden_size, cfg->output_proj_dims});
    if (!emb) return emb.error();
    e->embed_proj_ = std::move(*emb);
    GEMMA_TRY(backend.synchronize());  // surface upload errors here, not in the first encode
    return e;
}

// SSCP (spec §5.1) on the valid frames: conv as im2col + matmul on channel-last images, whose
// [T', F2, C1] result is already the flatten order feature = f·C1 + c.
Result<Tensor> AudioBackendEncoder::subsample(const Tensor & feats, int t) const {
    Backend & b = backend_;
    const int c0 = cfg_.sscp_channels[0], c1 = cfg_.sscp_channels[1], f = cfg_.n_mel;
    const int t1 = half_up(t), f1 = half_up(f), t2 = half_up(t1), f2 = half_up(f1);
    const float eps = cfg_.rms_norm_eps;
    const Im2colDesc k3{3, 3, 2, 1};
    auto p0 = b.alloc(DType::f32, {int64_t(t1) * f1, 9});
    auto y0 = b.alloc(DType::f32, {int64_t(t1) * f1, c0});
    auto p1 = b.alloc(DType::f32, {int64_t(t2) * f2, int64_t(c0) * 9});
    auto y1 = b.alloc(DType::f32, {int64_t(t2) * f2, c1});
    auto x = b.alloc(DType::f32, {t2, cfg_.hidden_size});
    for (const auto * r : {&p0, &y0, &p1, &y1, &x})
        if (!*r) return r->error();
    GEMMA_TRY(b.im2col(tensor_reshape(feats, {t, f, 1}), k3, *p0));
    GEMMA_TRY(b.matmul(*p0, conv0_, *y0));  // [t1, f1, c0]
    GEMMA_TRY(b.layer_norm(*y0, norm0_, eps, *y0));
    GEMMA_TRY(b.activation(*y0, Activation::relu, *y0));
    GEMMA_TRY(b.im2col(tensor_reshape(*y0, {t1, f1, c0}), k3, *p1));
    GEMMA_TRY(b.matmul(*p1, conv1_, *y1));  // [t2, f2, c1]
    GEMMA_TRY(b.layer_norm(*y1, norm1_, eps, *y1));
    GEMMA_TRY(b.activation(*y1, Activation::relu, *y1));
    GEMMA_TRY(linear(input_proj_, tensor_reshape(*y1, {t2, int64_t(f2) * c1}), *x, Tensor{}));
    return x;
}

Result<Tensor> AudioBackendEncoder::tower(const media::AudioFeatures & features, int t) const {
    Backend & b = backend_;
    auto feats = b.alloc(DType::f32, {t, cfg_.n_mel});
    if (!feats) return feats.error();
    GEMMA_TRY(b.write(*feats, features.values.data(), size_t(t) * size_t(cfg_.n_mel) * 4));
    auto x = subsample(*feats, t);
    if (!x) return x.error();
    const int64_t n = x->dim(0), a = cfg_.hidden_size;
    Scratch s;
    s.x = std::move(*x);
    for (Tensor * r : {&s.t, &s.u, &s.q, &s.k, &s.v, &s.o, &s.c, &s.z}) {
        auto m = b.alloc(DType::f32, {n, a});
        if (!m) return m.error();
        *r = std::move(*m);
    }
    auto wide = b.alloc(DType::f32, {n, 4 * a});
    if (!wide) return wide.error();
    s.wide = std::move(*wide);
    for (const AudioBackendLayer & l : layers_) GEMMA_TRY(layer_forward(l, s));
    auto out = b.alloc(DType::f32, {n, cfg_.output_proj_dims});
    if (!out) return out.error();
    GEMMA_TRY(linear(output_proj_, s.x, *out, Tensor{}));
    return out;
}

Result<Tensor> AudioBackendEncoder::encode_hidden(const media::AudioFeatures & features) const {
    auto t = audio_valid_frames(cfg_, features);
    if (!t) return t.error();
    if (*t == 0) return tensor_host(DType::f32, {0, cfg_.output_proj_dims});
    std::lock_guard<std::mutex> lock(mu_);
    auto h = tower(features, *t);
    if (!h) return h.error();
    return read_host(backend_, *h);
}

// embed_audio (spec §5.6): a weightless RMSNorm, then embedding_projection.
Result<Tensor> AudioBackendEncoder::encode(const media::AudioFeatures & features) const {
    auto t = audio_valid_frames(cfg_, features);
    if (!t) return t.error();
    if (*t == 0) return tensor_host(DType::f32, {0, cfg_.text_hidden_size});
    std::lock_guard<std::mutex> lock(mu_);
    auto h = tower(features, *t);
    if (!h) return h.error();
    GEMMA_TRY(backend_.rms_norm(*h, Tensor{}, cfg_.rms_norm_eps, *h));
    auto soft = backend_.alloc(DType::f32, {h->dim(0), cfg_.text_hidden_size});
    if (!soft) return soft.error();
    GEMMA_TRY(backend_.matmul(*h, embed_proj_, *soft));
    return read_host(backend_, *soft);
}

Result<std::vector<Tensor>> encode_audio_clips(const AudioBackendEncoder & encoder,
                                               const media::Audio & audio) {
    return encode_audio_clips([&](const media::AudioFeatures & f) { return encoder.encode(f); },
                              audio);
}

}  // namespace gemma::gemma4
