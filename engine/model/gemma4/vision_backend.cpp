// The vision tower's forward pass on a Backend (vision_backend.h): the op sequence of vision.cpp
// with the same math, mirroring transformers 5.17 Gemma4VisionModel (spec gemma4-multimodal §3).
// The host prepares only inputs (2v − 1 pixels, table ids, RoPE positions, pooling ids); the
// activations stay on the backend until the soft tokens are read back (or handed over).
#include "model/gemma4/vision_backend.h"

#include <algorithm>
#include <cmath>

namespace gemma::gemma4 {
namespace {

// Views [rows, cols] of a flat scratch buffer.
Tensor view(const Tensor & buf, int64_t rows, int64_t cols) {
    return tensor_prefix(buf, {rows, cols});
}

Status write_i32(Backend & b, const Tensor & dst, const std::vector<int32_t> & v) {
    return b.write(dst, v.data(), v.size() * sizeof(int32_t));
}

// Reads an f32 backend tensor into a new host tensor of the same shape.
Result<Tensor> read_host(Backend & b, const Tensor & t) {
    Tensor host = tensor_host(DType::f32, t.shape);
    GEMMA_TRY(b.read(t, host.data, host.nbytes()));
    return host;
}

}  // namespace

// Grows the scratch to `n` patches (never shrinks: budgets repeat).
Status VisionBackendEncoder::reserve(int64_t n) const {
    if (n <= s_.cap) return Status::success();
    Backend & b = *backend_;
    const int64_t d = cfg_.hidden_size, f = cfg_.intermediate_size;
    const int64_t wide = std::max<int64_t>({d, f, media::kImagePatchDim});
    Scratch s;
    s.cap = n;
    struct B {
        Tensor * dst;
        DType type;
        int64_t size;
    };
    for (const B & x :
         {B{&s.x, DType::f32, n * d}, B{&s.t, DType::f32, n * d}, B{&s.q, DType::f32, n * d},
          B{&s.k, DType::f32, n * d}, B{&s.v, DType::f32, n * d}, B{&s.att, DType::f32, n * d},
          B{&s.a, DType::f32, n * d}, B{&s.c, DType::f32, n * wide}, B{&s.g, DType::f32, n * f},
          B{&s.u, DType::f32, n * f}, B{&s.ids, DType::i32, 2 * n},
          B{&s.rope_pos, DType::i32, 2 * n * cfg_.n_heads}, B{&s.attn_pos, DType::i32, n},
          B{&s.blocks, DType::i32, n}, B{&s.pool_ids, DType::i32, n}}) {
        auto t = b.alloc(x.type, {x.size});
        if (!t) return t.error();
        *x.dst = std::move(*t);
    }
    // Attention over the patches as one chunk: positions 0..n−1, one block (all zeros), so every
    // query sees every key (Op::attention's bidirectional overlay).
    std::vector<int32_t> pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = int32_t(i);
    GEMMA_TRY(write_i32(b, s.attn_pos, pos));
    s_ = std::move(s);
    return Status::success();
}

// y = clamp(clamp(x, in) · wᵀ, out); the input clamp goes to the scratch c (x is shared).
Status VisionBackendEncoder::linear(const VisionBackendLinear & l, const Tensor & x,
                                    const Tensor & y) const {
    Backend & b = *backend_;
    Tensor src = x;
    if (l.clip_in) {
        src = view(s_.c, x.dim(0), x.dim(1));
        GEMMA_TRY(b.clamp(x, l.in_min, l.in_max, src));
    }
    GEMMA_TRY(b.matmul(src, l.w, y));
    if (l.clip_out) GEMMA_TRY(b.clamp(y, l.out_min, l.out_max, y));
    return Status::success();
}

// e = input_proj(2v − 1) + T[x] + T[P + y] into s_.x (spec §3.1).
Status VisionBackendEncoder::embed_patches(const ValidPatches & vp) const {
    Backend & b = *backend_;
    const int64_t n = vp.n, d = cfg_.hidden_size, dim = media::kImagePatchDim;
    std::vector<float> px(vp.pixels.size());
    for (size_t i = 0; i < px.size(); ++i) px[i] = 2.0f * vp.pixels[i] - 1.0f;
    Tensor pixels = view(s_.c, n, dim);
    GEMMA_TRY(b.write(pixels, px.data(), px.size() * sizeof(float)));
    Tensor x = view(s_.x, n, d);
    GEMMA_TRY(b.matmul(pixels, patch_proj_, x));
    std::vector<int32_t> ids(size_t(2 * n));
    for (int64_t i = 0; i < n; ++i) {
        ids[size_t(i)] = vp.pos[size_t(i) * 2];
        ids[size_t(n + i)] = cfg_.position_embedding_size + vp.pos[size_t(i) * 2 + 1];
    }
    GEMMA_TRY(write_i32(b, s_.ids, ids));
    Tensor tx = view(s_.q, n, d), ty = view(s_.k, n, d);
    GEMMA_TRY(b.get_rows(pos_table_, tensor_prefix(s_.ids, {n}), 1.0f, tx));
    GEMMA_TRY(b.get_rows(pos_table_, tensor_rows(tensor_prefix(s_.ids, {2 * n}), n, n), 1.0f, ty));
    GEMMA_TRY(b.add(tx, ty, tx));  // x + (T[x] + T[y]), vision.cpp's order
    return b.add(x, tx, x);
}

// Bidirectional attention of all patches (spec §3.3, §3.4) from s_.t into s_.a.
Status VisionBackendEncoder::attention(const VisionBackendLayer & l, int64_t n) const {
    Backend & b = *backend_;
    const int64_t d = cfg_.hidden_size, h = cfg_.n_heads, hd = cfg_.head_dim;
    const float eps = cfg_.rms_norm_eps;
    Tensor t = view(s_.t, n, d);
    Tensor q = view(s_.q, n, d), k = view(s_.k, n, d), v = view(s_.v, n, d);
    GEMMA_TRY(linear(l.q, t, q));
    GEMMA_TRY(linear(l.k, t, k));
    GEMMA_TRY(linear(l.v, t, v));
    GEMMA_TRY(
        b.rms_norm(tensor_reshape(q, {n * h, hd}), l.q_norm, eps, tensor_reshape(q, {n * h, hd})));
    GEMMA_TRY(
        b.rms_norm(tensor_reshape(k, {n * h, hd}), l.k_norm, eps, tensor_reshape(k, {n * h, hd})));
    GEMMA_TRY(
        b.rms_norm(tensor_reshape(v, {n * h, hd}), Tensor{}, eps, tensor_reshape(v, {n * h, hd})));
    // 2-D RoPE as the 1-D NeoX op on half-heads: row (i·h + head)·2 + axis rotates with
    // position pos[i][axis] over its hd/2 dims (pairs i, i + hd/4), spec §3.4.
    Tensor rp = tensor_prefix(s_.rope_pos, {n * h * 2});
    Tensor qr = tensor_reshape(q, {n * h * 2, 1, hd / 2}),
           kr = tensor_reshape(k, {n * h * 2, 1, hd / 2});
    GEMMA_TRY(b.rope(qr, rp, rope_freqs_, qr));
    GEMMA_TRY(b.rope(kr, rp, rope_freqs_, kr));
    AttentionDesc desc;
    desc.scale = 1.0f;  // q and k are RMS-normalized instead (spec §3.3)
    Tensor q3 = tensor_reshape(q, {n, h, hd});
    Tensor att = tensor_reshape(view(s_.att, n, d), {n, h, hd});
    GEMMA_TRY(b.attention(q3, tensor_reshape(k, {n, h, hd}), tensor_reshape(v, {n, h, hd}),
                          tensor_prefix(s_.attn_pos, {n}), tensor_prefix(s_.blocks, {n}), desc,
                          att));
    return linear(l.o, tensor_reshape(att, {n, d}), view(s_.a, n, d));
}

// Sandwich-norm layer on s_.x (spec §3.2): h = x + post_attn(Attn(in(x)));
// y = h + post_ff(down(gelu(gate(pre_ff(h))) ⊙ up(pre_ff(h)))).
Status VisionBackendEncoder::layer(const VisionBackendLayer & l, int64_t n) const {
    Backend & b = *backend_;
    const int64_t d = cfg_.hidden_size, f = cfg_.intermediate_size;
    const float eps = cfg_.rms_norm_eps;
    Tensor x = view(s_.x, n, d), t = view(s_.t, n, d), a = view(s_.a, n, d);
    GEMMA_TRY(b.rms_norm(x, l.input_norm, eps, t));
    GEMMA_TRY(attention(l, n));
    GEMMA_TRY(b.rms_norm(a, l.post_attn_norm, eps, a));
    GEMMA_TRY(b.add(x, a, x));
    GEMMA_TRY(b.rms_norm(x, l.pre_ff_norm, eps, t));
    Tensor g = view(s_.g, n, f), u = view(s_.u, n, f);
    GEMMA_TRY(linear(l.gate, t, g));
    GEMMA_TRY(linear(l.up, t, u));
    GEMMA_TRY(b.gelu_tanh_mul(g, u, g));
    GEMMA_TRY(linear(l.down, g, a));
    GEMMA_TRY(b.rms_norm(a, l.post_ff_norm, eps, a));
    return b.add(x, a, x);
}

// 3×3 mean pool by position, × √D, standardize (spec §3.7) from s_.x into `hidden` [N_img, D]:
// one gather puts the nine members of every block in nine row runs of s_.q, then the runs are
// summed in the members' patch order (row-major), as vision.cpp accumulates them.
Status VisionBackendEncoder::pool(const ValidPatches & vp, const Tensor & hidden) const {
    Backend & b = *backend_;
    const int k = media::kImagePoolKernel, gx = vp.grid_x / k;
    const int64_t n = vp.n, d = cfg_.hidden_size, n_out = hidden.dim(0);
    std::vector<int32_t> row_of(size_t(vp.grid_x) * size_t(vp.grid_y));
    for (int64_t i = 0; i < n; ++i)
        row_of[size_t(vp.pos[size_t(i) * 2 + 1]) * size_t(vp.grid_x) +
               size_t(vp.pos[size_t(i) * 2])] = int32_t(i);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int m = 0; m < k * k; ++m)
        for (int64_t j = 0; j < n_out; ++j) {
            const int64_t px = (j % gx) * k + m % k, py = (j / gx) * k + m / k;
            ids[size_t(m * n_out + j)] = row_of[size_t(py * vp.grid_x + px)];
        }
    GEMMA_TRY(write_i32(b, s_.pool_ids, ids));
    Tensor members = view(s_.q, n, d);
    GEMMA_TRY(b.get_rows(view(s_.x, n, d), tensor_prefix(s_.pool_ids, {n}), 1.0f, members));
    GEMMA_TRY(b.add(tensor_rows(members, 0, n_out), tensor_rows(members, n_out, n_out), hidden));
    for (int m = 2; m < k * k; ++m)
        GEMMA_TRY(b.add(hidden, tensor_rows(members, m * n_out, n_out), hidden));
    // Mean and √D in fp32 (HF keeps this product fp32: it can exceed fp16).
    GEMMA_TRY(b.scale(hidden, std::sqrt(float(d)) / float(k * k), hidden));
    if (!cfg_.standardize) return Status::success();
    GEMMA_TRY(b.add(hidden, std_neg_bias_, hidden));
    return b.mul(hidden, std_scale_, hidden);
}

Result<Tensor> VisionBackendEncoder::run_tower(const media::ImagePatches & patches) const {
    auto vp = valid_patches(patches, cfg_.position_embedding_size);
    if (!vp) return vp.error();
    const int64_t n = vp->n, h = cfg_.n_heads, d = cfg_.hidden_size;
    GEMMA_TRY(reserve(n));
    std::vector<int32_t> rp(size_t(n * h * 2));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < h; ++j)
            for (int axis = 0; axis < 2; ++axis)
                rp[size_t((i * h + j) * 2 + axis)] = vp->pos[size_t(i) * 2 + size_t(axis)];
    GEMMA_TRY(write_i32(*backend_, s_.rope_pos, rp));
    GEMMA_TRY(embed_patches(*vp));
    for (const VisionBackendLayer & l : layers_) GEMMA_TRY(layer(l, n));
    const int k = media::kImagePoolKernel;
    Tensor hidden = view(s_.att, int64_t(vp->grid_x / k) * (vp->grid_y / k), d);
    GEMMA_TRY(pool(*vp, hidden));
    return hidden;
}

Result<Tensor> VisionBackendEncoder::encode_hidden(const media::ImagePatches & patches) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto hidden = run_tower(patches);
    if (!hidden) return hidden.error();
    return read_host(*backend_, *hidden);
}

Result<Tensor> VisionBackendEncoder::encode_on_backend(const media::ImagePatches & patches) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto hidden = run_tower(patches);
    if (!hidden) return hidden.error();
    // embed_vision (spec §3.8): weightless RMSNorm, then the projection to the text width.
    const int64_t n_out = hidden->dim(0), d = cfg_.hidden_size;
    Tensor normed = view(s_.t, n_out, d);
    GEMMA_TRY(backend_->rms_norm(*hidden, Tensor{}, cfg_.rms_norm_eps, normed));
    auto out = backend_->alloc(DType::f32, {n_out, embed_proj_.dim(0)});
    if (!out) return out.error();
    GEMMA_TRY(backend_->matmul(normed, embed_proj_, *out));
    return out;
}

Result<Tensor> VisionBackendEncoder::encode(const media::ImagePatches & patches) const {
    auto soft = encode_on_backend(patches);
    if (!soft) return soft.error();
    std::lock_guard<std::mutex> lock(mu_);
    return read_host(*backend_, *soft);
}

}  // namespace gemma::gemma4
