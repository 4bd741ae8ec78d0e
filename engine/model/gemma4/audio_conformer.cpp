// Gemma 4 audio Conformer layer (fp32; linears on sgemm, attention threaded over queries): macaron
// half-step FFNs, chunked local self-attention with relative positions and a soft cap, light
// convolution. Spec §5.2–5.5.
#include <algorithm>
#include <cmath>

#include "model/gemma4/audio.h"

namespace gemma::gemma4 {
namespace {

constexpr double kLn2 = 0.69314718055994530942;

void clamp_all(std::vector<float> & x, float g) {
    for (float & v : x) v = std::clamp(v, -g, g);
}

void add_scaled(std::vector<float> & x, const std::vector<float> & y, float w) {
    for (size_t i = 0; i < x.size(); ++i) x[i] += w * y[i];
}

// Whether query t keeps key s (s may lie outside [0, n): the zero padding of the block context).
bool key_kept(AudioMaskMode mode, int t, int s, int n, int window) {
    const bool in_range = s >= 0 && s < n;
    const bool sliding = in_range && t - s >= 0 && t - s < window;
    return mode == AudioMaskMode::sliding ? sliding : in_range && !sliding;
}

}  // namespace

// Sinusoidal relative position embedding (audio.h): sin half first, rows p = distance.
std::vector<float> audio_relative_pe(int n, int a) {
    const int half = a / 2;
    const double inc = std::log(1.0e4) / double(std::max(half - 1, 1));
    std::vector<float> pe(size_t(n) * size_t(a));
    for (int p = 0; p < n; ++p) {
        for (int i = 0; i < half; ++i) {
            const float tau = float(std::exp(-double(i) * inc));  // fp32 timescales as in HF
            const float arg = float(p) * tau;
            pe[size_t(p) * size_t(a) + size_t(i)] = std::sin(arg);
            pe[size_t(p) * size_t(a) + size_t(half + i)] = std::cos(arg);
        }
    }
    return pe;
}

Result<AudioLayer> load_audio_layer(const mm::WeightReader & r, const AudioConfig & c, int i) {
    const std::string p = format("model.audio_tower.layers.%d.", i);
    const int a = c.hidden_size, f = 4 * a;
    const bool clip = c.use_clipped_linears;
    AudioLayer l;
    struct V {
        std::vector<float> * dst;
        std::string name;
        Shape shape;
    };
    for (const V & v :
         {V{&l.ff1.pre_norm, "feed_forward1.pre_layer_norm.weight", {a}},
          V{&l.ff1.post_norm, "feed_forward1.post_layer_norm.weight", {a}},
          V{&l.ff2.pre_norm, "feed_forward2.pre_layer_norm.weight", {a}},
          V{&l.ff2.post_norm, "feed_forward2.post_layer_norm.weight", {a}},
          V{&l.norm_pre_attn, "norm_pre_attn.weight", {a}},
          V{&l.norm_post_attn, "norm_post_attn.weight", {a}},
          V{&l.norm_out, "norm_out.weight", {a}},
          V{&l.per_dim_scale, "self_attn.per_dim_scale", {c.head_dim()}},
          V{&l.lconv_pre_norm, "lconv1d.pre_layer_norm.weight", {a}},
          V{&l.lconv_conv_norm, "lconv1d.conv_norm.weight", {a}},
          V{&l.dw_conv, "lconv1d.depthwise_conv1d.weight", {a, 1, c.conv_kernel_size}}}) {
        auto t = r.f32(p + v.name, v.shape);
        if (!t) return t.error();
        *v.dst = std::move(*t);
    }
    struct L {
        mm::Linear * dst;
        std::string name;
        int in, out;
        mm::LinearKind kind;
    };
    const auto cl = mm::LinearKind::clippable;
    for (const L & x :
         {L{&l.ff1.up, "feed_forward1.ffw_layer_1", a, f, cl},
          L{&l.ff1.down, "feed_forward1.ffw_layer_2", f, a, cl},
          L{&l.ff2.up, "feed_forward2.ffw_layer_1", a, f, cl},
          L{&l.ff2.down, "feed_forward2.ffw_layer_2", f, a, cl},
          L{&l.q, "self_attn.q_proj", a, a, cl}, L{&l.k, "self_attn.k_proj", a, a, cl},
          L{&l.v, "self_attn.v_proj", a, a, cl}, L{&l.post, "self_attn.post", a, a, cl},
          L{&l.relative_k, "self_attn.relative_k_proj", a, a, mm::LinearKind::plain},
          L{&l.lconv_start, "lconv1d.linear_start", a, 2 * a, cl},
          L{&l.lconv_end, "lconv1d.linear_end", a, a, cl}}) {
        auto lin = mm::load_linear(r, p + x.name, x.in, x.out, x.kind, clip);
        if (!lin) return lin.error();
        *x.dst = std::move(*lin);
    }
    return l;
}

// x + residual_weight · post_norm(clamp(down(silu(up(pre_norm(clamp(x))))))).
std::vector<float> AudioEncoder::ffn(const AudioFfn & f, std::vector<float> x) const {
    const int a = cfg_.hidden_size;
    const int64_t n = int64_t(x.size()) / a;
    std::vector<float> t = x;
    clamp_all(t, cfg_.gradient_clipping);
    mm::rms_norm_rows(t.data(), n, a, f.pre_norm.data(), cfg_.rms_norm_eps);
    std::vector<float> h = f.up(t);
    for (float & v : h) v = mm::silu(v);
    std::vector<float> y = f.down(h);
    clamp_all(y, cfg_.gradient_clipping);
    mm::rms_norm_rows(y.data(), n, a, f.post_norm.data(), cfg_.rms_norm_eps);
    add_scaled(x, y, cfg_.residual_weight);
    return x;
}

// Chunked local attention in HF's blocked form, one query at a time: query t (block u = t / C)
// scores the C + P context slots at positions [C·u − P, C·u + C), zero outside the clip:
//   logit = cap·tanh((q·k + q·R[t − s]) / cap), R only for distances 0..P (else 0),
// and dropped slots get the invalid value (−1e9) after the cap. q is scaled by d^−½/ln2 ·
// softplus(per_dim_scale), k by softplus(1)/ln2; R = relative_k_proj(PE) is not scaled. All fp32,
// as HF runs this core. With the sliding mask this is plain local causal attention over 12 keys.
std::vector<float> AudioEncoder::attention(const AudioLayer & l,
                                           const std::vector<float> & x) const {
    const int a = cfg_.hidden_size, heads = cfg_.n_heads, hd = cfg_.head_dim();
    const int n = int(x.size() / size_t(a)), past = cfg_.n_keys_visible(),
              chunk = cfg_.attention_chunk_size;
    std::vector<float> q = l.q(x), k = l.k(x), v = l.v(x);
    std::vector<float> q_scale(static_cast<size_t>(hd));
    for (int d = 0; d < hd; ++d) {
        q_scale[size_t(d)] =
            float(1.0 / std::sqrt(double(hd)) / kLn2) * mm::softplus(l.per_dim_scale[size_t(d)]);
    }
    const float k_scale = float(std::log1p(std::exp(1.0)) / kLn2);
    for (size_t i = 0; i < q.size(); ++i) {
        q[i] *= q_scale[i % size_t(hd)];
        k[i] *= k_scale;
    }
    const std::vector<float> rel =
        l.relative_k(audio_relative_pe(past + 1, a));  // [past + 1, heads·hd]
    const float cap = cfg_.attention_logit_cap;
    const int slots = chunk + past;
    std::vector<float> o(q.size(), 0.0f);
    // Queries are independent: threads take contiguous ranges (same arithmetic per query).
    mm::parallel_for(n, 32, [&](int64_t t_begin, int64_t t_end) {
        std::vector<float> s(static_cast<size_t>(slots));
        for (int t = int(t_begin); t < int(t_end); ++t) {
            const int first = (t / chunk) * chunk - past;
            for (int h = 0; h < heads; ++h) {
                const size_t head = size_t(h) * size_t(hd);
                const float * qt = &q[size_t(t) * size_t(a) + head];
                float mx = -INFINITY;
                for (int j = 0; j < slots; ++j) {
                    const int pos = first + j, dist = t - pos;
                    float logit = 0.0f;
                    if (pos >= 0 && pos < n)
                        logit += mm::dot(qt, &k[size_t(pos) * size_t(a) + head], hd);
                    if (dist >= 0 && dist <= past)
                        logit += mm::dot(qt, &rel[size_t(dist) * size_t(a) + head], hd);
                    logit = cap * std::tanh(logit / cap);
                    if (!key_kept(opt_.mask_mode, t, pos, n, past))
                        logit = cfg_.attention_invalid_logits_value;
                    s[size_t(j)] = logit;
                    mx = std::max(mx, logit);
                }
                float sum = 0.0f;
                for (float & e : s) sum += (e = std::exp(e - mx));
                float * ot = &o[size_t(t) * size_t(a) + head];
                for (int j = 0; j < slots; ++j) {
                    const int pos = first + j;
                    if (pos < 0 || pos >= n) continue;  // zero padding: v = 0
                    const float w = s[size_t(j)] / sum;
                    const float * vj = &v[size_t(pos) * size_t(a) + head];
                    for (int d = 0; d < hd; ++d) ot[d] += w * vj[d];
                }
            }
        }
    });
    return l.post(o);
}

// x + linear_end(silu(conv_norm(clamp(DWConv(GLU(linear_start(pre_norm(x)))))))); the depthwise
// conv is causal: out[t] = Σ_j w[j] · y[t − (K − 1) + j], y[< 0] = 0.
std::vector<float> AudioEncoder::light_conv(const AudioLayer & l, std::vector<float> x) const {
    const int a = cfg_.hidden_size, kk = cfg_.conv_kernel_size;
    const int64_t n = int64_t(x.size()) / a;
    std::vector<float> t = x;
    mm::rms_norm_rows(t.data(), n, a, l.lconv_pre_norm.data(), cfg_.rms_norm_eps);
    std::vector<float> g = l.lconv_start(t);  // [n, 2a]
    std::vector<float> y(size_t(n) * size_t(a));
    for (int64_t i = 0; i < n; ++i) {
        for (int c = 0; c < a; ++c) {
            y[size_t(i) * size_t(a) + size_t(c)] =
                g[size_t(i) * 2 * size_t(a) + size_t(c)] *
                mm::sigmoid(g[size_t(i) * 2 * size_t(a) + size_t(a + c)]);
        }
    }
    std::vector<float> z(y.size(), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
        for (int c = 0; c < a; ++c) {
            float s = 0.0f;
            for (int j = 0; j < kk; ++j) {
                const int64_t src = i - (kk - 1) + j;
                if (src >= 0)
                    s += l.dw_conv[size_t(c) * size_t(kk) + size_t(j)] *
                         y[size_t(src) * size_t(a) + size_t(c)];
            }
            z[size_t(i) * size_t(a) + size_t(c)] = s;
        }
    }
    clamp_all(z, cfg_.gradient_clipping);
    mm::rms_norm_rows(z.data(), n, a, l.lconv_conv_norm.data(), cfg_.rms_norm_eps);
    for (float & v : z) v = mm::silu(v);
    add_scaled(x, l.lconv_end(z), 1.0f);
    return x;
}

// FFN½ -> attention (pre/post norms) -> light conv -> FFN½ -> norm_out (spec §5.2).
std::vector<float> AudioEncoder::layer_forward(const AudioLayer & l, std::vector<float> x) const {
    const int a = cfg_.hidden_size;
    const int64_t n = int64_t(x.size()) / a;
    const float eps = cfg_.rms_norm_eps, gc = cfg_.gradient_clipping;
    x = ffn(l.ff1, std::move(x));
    std::vector<float> t = x;
    clamp_all(t, gc);
    mm::rms_norm_rows(t.data(), n, a, l.norm_pre_attn.data(), eps);
    std::vector<float> att = attention(l, t);
    clamp_all(att, gc);
    mm::rms_norm_rows(att.data(), n, a, l.norm_post_attn.data(), eps);
    add_scaled(x, att, 1.0f);
    x = light_conv(l, std::move(x));
    x = ffn(l.ff2, std::move(x));
    clamp_all(x, gc);
    mm::rms_norm_rows(x.data(), n, a, l.norm_out.data(), eps);
    return x;
}

}  // namespace gemma::gemma4
