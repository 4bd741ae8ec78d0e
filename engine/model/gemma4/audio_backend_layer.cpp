// The conformer layer of AudioBackendEncoder as backend ops: macaron half-step FFNs, chunked
// local attention (Op::chunk_attention) with pre/post norms, light convolution. Mirrors
// audio_conformer.cpp op by op (spec §5.2–5.5); every step names the CPU line it matches.
#include <cmath>
#include <limits>

#include "model/gemma4/audio_backend.h"

namespace gemma::gemma4 {
namespace {

constexpr double kLn2 = 0.69314718055994530942;
constexpr float kInf = std::numeric_limits<float>::infinity();

// [n, A] viewed per head: [n, heads, head_dim].
Tensor heads_view(const Tensor & t, int heads) {
    return tensor_reshape(t, {t.dim(0), heads, t.dim(1) / heads});
}

}  // namespace

Status AudioBackendEncoder::linear(const BackendLinear & l, const Tensor & x, const Tensor & y,
                                   const Tensor & tmp) const {
    Backend & b = backend_;
    const Tensor * src = &x;
    if (l.in_min > -kInf || l.in_max < kInf) {
        GEMMA_TRY(b.clamp(x, l.in_min, l.in_max, tmp));
        src = &tmp;
    }
    GEMMA_TRY(b.matmul(*src, l.w, y));
    if (!l.bias.empty()) GEMMA_TRY(b.add(y, l.bias, y));
    if (l.out_min > -kInf || l.out_max < kInf) GEMMA_TRY(b.clamp(y, l.out_min, l.out_max, y));
    return Status::success();
}

// x + residual_weight · post_norm(clamp(down(silu(up(pre_norm(clamp(x))))))) into s.x.
Status AudioBackendEncoder::ffn(const AudioBackendFfn & f, Scratch & s) const {
    Backend & b = backend_;
    const float gc = cfg_.gradient_clipping, eps = cfg_.rms_norm_eps;
    GEMMA_TRY(b.clamp(s.x, -gc, gc, s.t));
    GEMMA_TRY(b.rms_norm(s.t, f.pre_norm, eps, s.t));
    GEMMA_TRY(linear(f.up, s.t, s.wide, s.t));
    GEMMA_TRY(b.activation(s.wide, Activation::silu, s.wide));
    GEMMA_TRY(linear(f.down, s.wide, s.u, s.wide));
    GEMMA_TRY(b.clamp(s.u, -gc, gc, s.u));
    GEMMA_TRY(b.rms_norm(s.u, f.post_norm, eps, s.u));
    GEMMA_TRY(b.scale(s.u, cfg_.residual_weight, s.u));
    return b.add(s.x, s.u, s.x);
}

// s.t (the normed input) -> s.u = post(chunk_attention(q, k, v, R)); q scaled per dim,
// k by softplus(1)/ln2, R made at load (AudioEncoder::attention).
Status AudioBackendEncoder::attention(const AudioBackendLayer & l, Scratch & s) const {
    Backend & b = backend_;
    const int heads = cfg_.n_heads, hd = cfg_.head_dim();
    GEMMA_TRY(linear(l.q, s.t, s.q, s.c));
    GEMMA_TRY(linear(l.k, s.t, s.k, s.c));
    GEMMA_TRY(linear(l.v, s.t, s.v, s.c));
    const Tensor q_rows = tensor_reshape(s.q, {s.q.dim(0) * heads, hd});
    GEMMA_TRY(b.mul(q_rows, l.q_scale, q_rows));
    GEMMA_TRY(b.scale(s.k, float(std::log1p(std::exp(1.0)) / kLn2), s.k));
    ChunkAttentionDesc d;
    d.chunk = cfg_.attention_chunk_size;
    d.past = cfg_.n_keys_visible();
    d.cap = cfg_.attention_logit_cap;
    d.invalid = cfg_.attention_invalid_logits_value;
    d.mask = opt_.mask_mode == AudioMaskMode::sliding ? ChunkMask::sliding : ChunkMask::complement;
    GEMMA_TRY(b.chunk_attention(heads_view(s.q, heads), heads_view(s.k, heads),
                                heads_view(s.v, heads), heads_view(l.rel, heads), d,
                                heads_view(s.o, heads)));
    return linear(l.post, s.o, s.u, s.o);
}

// x + linear_end(silu(conv_norm(clamp(DWConv(GLU(linear_start(pre_norm(x)))))))) into s.x.
Status AudioBackendEncoder::light_conv(const AudioBackendLayer & l, Scratch & s) const {
    Backend & b = backend_;
    const float gc = cfg_.gradient_clipping, eps = cfg_.rms_norm_eps;
    const int64_t n = s.x.dim(0), a = cfg_.hidden_size;
    const Tensor g = tensor_prefix(s.wide, {n, 2 * a});
    GEMMA_TRY(b.rms_norm(s.x, l.lconv_pre_norm, eps, s.t));
    GEMMA_TRY(linear(l.lconv_start, s.t, g, s.t));
    GEMMA_TRY(b.glu(g, s.c));
    GEMMA_TRY(b.conv1d_dw(s.c, l.dw_conv, s.z));
    GEMMA_TRY(b.clamp(s.z, -gc, gc, s.z));
    GEMMA_TRY(b.rms_norm(s.z, l.lconv_conv_norm, eps, s.z));
    GEMMA_TRY(b.activation(s.z, Activation::silu, s.z));
    GEMMA_TRY(linear(l.lconv_end, s.z, s.u, s.z));
    return b.add(s.x, s.u, s.x);
}

// FFN½ -> attention (pre/post norms) -> light conv -> FFN½ -> norm_out (spec §5.2).
Status AudioBackendEncoder::layer_forward(const AudioBackendLayer & l, Scratch & s) const {
    Backend & b = backend_;
    const float gc = cfg_.gradient_clipping, eps = cfg_.rms_norm_eps;
    GEMMA_TRY(ffn(l.ff1, s));
    GEMMA_TRY(b.clamp(s.x, -gc, gc, s.t));
    GEMMA_TRY(b.rms_norm(s.t, l.norm_pre_attn, eps, s.t));
    GEMMA_TRY(attention(l, s));
    GEMMA_TRY(b.clamp(s.u, -gc, gc, s.u));
    GEMMA_TRY(b.rms_norm(s.u, l.norm_post_attn, eps, s.u));
    GEMMA_TRY(b.add(s.x, s.u, s.x));
    GEMMA_TRY(light_conv(l, s));
    GEMMA_TRY(ffn(l.ff2, s));
    GEMMA_TRY(b.clamp(s.x, -gc, gc, s.x));
    return b.rms_norm(s.x, l.norm_out, eps, s.x);
}

}  // namespace gemma::gemma4
