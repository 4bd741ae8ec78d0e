// Gemma 4 vision tower forward pass (fp32 reference loops); see vision.h and spec §3.
#include "model/gemma4/vision.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace gemma::gemma4 {
namespace {

const std::string kTower = "model.vision_tower.";

}  // namespace

Result<ValidPatches> valid_patches(const media::ImagePatches & p, int table_size) {
    ValidPatches v;
    const int dim = media::kImagePatchDim;
    if (p.pixel_values.size() != size_t(p.n_rows) * dim ||
        p.position_ids.size() != size_t(p.n_rows) * 2) {
        return make_error(ErrorCode::invalid_argument,
                          format("image patches: %zu pixel values and %zu positions for %d rows",
                                 p.pixel_values.size(), p.position_ids.size(), p.n_rows));
    }
    for (int i = 0; i < p.n_rows; ++i) {
        const int x = p.position_ids[size_t(i) * 2], y = p.position_ids[size_t(i) * 2 + 1];
        if (x < 0 || y < 0) continue;  // padding
        if (x >= table_size || y >= table_size) {
            return make_error(ErrorCode::invalid_argument,
                              format("image patch position (%d, %d) exceeds the vision position "
                                     "table (%d); use a smaller image budget",
                                     x, y, table_size));
        }
        v.pixels.insert(v.pixels.end(), p.pixel_values.begin() + int64_t(i) * dim,
                        p.pixel_values.begin() + int64_t(i + 1) * dim);
        v.pos.insert(v.pos.end(), {x, y});
        v.grid_x = std::max(v.grid_x, x + 1);  // HF: pw = max(x) + 1
        v.grid_y = std::max(v.grid_y, y + 1);
        ++v.n;
    }
    const int k = media::kImagePoolKernel;
    if (v.n == 0 || v.n != v.grid_x * v.grid_y || v.grid_x % k || v.grid_y % k) {
        return make_error(ErrorCode::invalid_argument,
                          format("image patches do not form a full grid of multiples of %d (%d "
                                 "valid patches, grid %d x %d); use image_preprocess",
                                 k, v.n, v.grid_x, v.grid_y));
    }
    return v;
}

namespace {

// 2-D axial RoPE on one head vector h[0..hd): dims [0, hd/2) rotate with x, [hd/2, hd) with y,
// NeoX half-split pairing inside each half (spec §3.4). cs holds cos then sin of the angles
// [x·inv_freq[0..hd/4), y·inv_freq[0..hd/4)] (hd/2 values each), computed once per patch.
void rope_2d(float * h, int hd, const float * cs) {
    const int half = hd / 2, quarter = hd / 4;
    const float * cosv = cs;
    const float * sinv = cs + half;
    for (int axis = 0; axis < 2; ++axis) {
        float * s = h + axis * half;
        for (int i = 0; i < quarter; ++i) {
            const float c = cosv[axis * quarter + i], sn = sinv[axis * quarter + i];
            const float a = s[i], b = s[i + quarter];
            s[i] = a * c - b * sn;
            s[i + quarter] = b * c + a * sn;
        }
    }
}

// Bidirectional attention of all heads with sgemm, softmax in fp32 between the two products:
// S = Q_h·K_hᵀ for a block of query rows, P = softmax(S) row-wise, O_h = P·V_h (scale 1.0).
void attend_blas(const std::vector<float> & q, const std::vector<float> & k,
                 const std::vector<float> & v, int n, int heads, int hd, std::vector<float> & out) {
    const int stride = heads * hd;
    const int block = std::min(n, 512);
    std::vector<float> s(size_t(block) * size_t(n));
    for (int h = 0; h < heads; ++h) {
        for (int r0 = 0; r0 < n; r0 += block) {
            const int rb = std::min(block, n - r0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, n, hd, 1.0f,
                        &q[size_t(r0) * size_t(stride) + size_t(h) * size_t(hd)], stride,
                        &k[size_t(h) * size_t(hd)], stride, 0.0f, s.data(), n);
            mm::parallel_for(rb, 16, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) {
                    float * row = &s[size_t(i) * size_t(n)];
                    float mx = -INFINITY, sum = 0.0f;
                    for (int j = 0; j < n; ++j) mx = std::max(mx, row[j]);
                    for (int j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - mx));
                    const float inv = 1.0f / sum;
                    for (int j = 0; j < n; ++j) row[j] *= inv;
                }
            });
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, hd, n, 1.0f, s.data(), n,
                        &v[size_t(h) * size_t(hd)], stride, 0.0f,
                        &out[size_t(r0) * size_t(stride) + size_t(h) * size_t(hd)], stride);
        }
    }
}

// Softmax-weighted sum over all keys (bidirectional, scale 1.0), one head: the reference loops.
void attend_head(const std::vector<float> & q, const std::vector<float> & k,
                 const std::vector<float> & v, int n, int heads, int hd, int h,
                 std::vector<float> & out) {
    const size_t stride = size_t(heads) * size_t(hd);
    std::vector<float> s(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const float * qi = &q[size_t(i) * stride + size_t(h) * size_t(hd)];
        float mx = -INFINITY;
        for (int j = 0; j < n; ++j) {
            s[size_t(j)] = mm::dot(qi, &k[size_t(j) * stride + size_t(h) * size_t(hd)], hd);
            mx = std::max(mx, s[size_t(j)]);
        }
        float sum = 0.0f;
        for (int j = 0; j < n; ++j) sum += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
        float * oi = &out[size_t(i) * stride + size_t(h) * size_t(hd)];
        for (int j = 0; j < n; ++j) {
            const float a = s[size_t(j)] / sum;
            const float * vj = &v[size_t(j) * stride + size_t(h) * size_t(hd)];
            for (int d = 0; d < hd; ++d) oi[d] += a * vj[d];
        }
    }
}

Result<std::vector<float>> load_norm(const mm::WeightReader & r, const std::string & name, int d) {
    return r.f32(name + ".weight", {d});
}

Result<VisionLayer> load_layer(const mm::WeightReader & r, const VisionConfig & c, int i) {
    const std::string p = kTower + format("encoder.layers.%d.", i);
    const int d = c.hidden_size, f = c.intermediate_size;
    VisionLayer l;
    struct N {
        std::vector<float> * dst;
        std::string name;
        int size;
    };
    for (const N & n : {N{&l.input_norm, "input_layernorm", d},
                        N{&l.post_attn_norm, "post_attention_layernorm", d},
                        N{&l.pre_ff_norm, "pre_feedforward_layernorm", d},
                        N{&l.post_ff_norm, "post_feedforward_layernorm", d},
                        N{&l.q_norm, "self_attn.q_norm", c.head_dim},
                        N{&l.k_norm, "self_attn.k_norm", c.head_dim}}) {
        auto w = load_norm(r, p + n.name, n.size);
        if (!w) return w.error();
        *n.dst = std::move(*w);
    }
    struct L {
        mm::Linear * dst;
        std::string name;
        int in, out;
    };
    for (const L & x : {L{&l.q, "self_attn.q_proj", d, d}, L{&l.k, "self_attn.k_proj", d, d},
                        L{&l.v, "self_attn.v_proj", d, d}, L{&l.o, "self_attn.o_proj", d, d},
                        L{&l.gate, "mlp.gate_proj", d, f}, L{&l.up, "mlp.up_proj", d, f},
                        L{&l.down, "mlp.down_proj", f, d}}) {
        auto lin = mm::load_linear(r, p + x.name, x.in, x.out, mm::LinearKind::clippable,
                                   c.use_clipped_linears);
        if (!lin) return lin.error();
        *x.dst = std::move(*lin);
    }
    return l;
}

}  // namespace

Result<VisionEncoder> VisionEncoder::load(const Config & config, const io::TensorSource & weights,
                                          const VisionEncoderOptions & options) {
    auto cfg = parse_vision_config(config);
    if (!cfg) return cfg.error();
    mm::WeightReader r(weights);
    VisionEncoder e;
    e.cfg_ = *cfg;
    e.opt_ = options;
    const int d = cfg->hidden_size;
    auto proj = mm::load_linear(r, kTower + "patch_embedder.input_proj", media::kImagePatchDim, d,
                                mm::LinearKind::plain);
    if (!proj) return proj.error();
    e.patch_proj_ = std::move(*proj);
    auto table = r.f32(kTower + "patch_embedder.position_embedding_table",
                       {2, cfg->position_embedding_size, d});
    if (!table) return table.error();
    e.pos_table_ = std::move(*table);
    for (int i = 0; i < cfg->n_layers; ++i) {
        auto l = load_layer(r, *cfg, i);
        if (!l) return l.error();
        e.layers_.push_back(std::move(*l));
    }
    if (cfg->standardize) {
        auto b = r.f32(kTower + "std_bias", {d});
        if (!b) return b.error();
        auto s = r.f32(kTower + "std_scale", {d});
        if (!s) return s.error();
        e.std_bias_ = std::move(*b);
        e.std_scale_ = std::move(*s);
    }
    auto emb = MultimodalEmbedder::load(r, "model.embed_vision", d, cfg->text_hidden_size,
                                        cfg->rms_norm_eps);
    if (!emb) return emb.error();
    e.embed_ = std::move(*emb);
    if (options.reference) {
        e.patch_proj_.reference = true;
        e.embed_.set_reference(true);
        for (VisionLayer & l : e.layers_)
            for (mm::Linear * lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down})
                lin->reference = true;
    }
    return e;
}

// 2-D RoPE on q and k [n, heads, hd] after their norms; cos/sin per patch shared by all heads.
void VisionEncoder::rope(std::vector<float> & q, std::vector<float> & k,
                         const std::vector<int32_t> & pos) const {
    const int n = int(pos.size() / 2), heads = cfg_.n_heads, hd = cfg_.head_dim, quarter = hd / 4;
    std::vector<float> inv_freq(static_cast<size_t>(quarter));
    for (int i = 0; i < quarter; ++i)
        inv_freq[size_t(i)] = 1.0f / std::pow(cfg_.rope_theta, float(2 * i) / float(hd / 2));
    mm::parallel_for(n, 64, [&](int64_t b, int64_t e) {
        std::vector<float> cs(static_cast<size_t>(hd));  // cos[hd/2], sin[hd/2]
        for (int64_t i = b; i < e; ++i) {
            for (int axis = 0; axis < 2; ++axis) {
                const float p = float(pos[size_t(i) * 2 + size_t(axis)]);
                for (int f = 0; f < quarter; ++f) {
                    const float th = p * inv_freq[size_t(f)];
                    cs[size_t(axis * quarter + f)] = std::cos(th);
                    cs[size_t(hd / 2 + axis * quarter + f)] = std::sin(th);
                }
            }
            for (int h = 0; h < heads; ++h) {
                const size_t at = (size_t(i) * size_t(heads) + size_t(h)) * size_t(hd);
                rope_2d(&q[at], hd, cs.data());
                rope_2d(&k[at], hd, cs.data());
            }
        }
    });
}

std::vector<float> VisionEncoder::attention(const VisionLayer & l, const std::vector<float> & xn,
                                            const std::vector<int32_t> & pos) const {
    const int n = int(pos.size() / 2), heads = cfg_.n_heads, hd = cfg_.head_dim;
    std::vector<float> q = l.q(xn), k = l.k(xn), v = l.v(xn);
    mm::rms_norm_rows(q.data(), int64_t(n) * heads, hd, l.q_norm.data(), cfg_.rms_norm_eps);
    mm::rms_norm_rows(k.data(), int64_t(n) * heads, hd, l.k_norm.data(), cfg_.rms_norm_eps);
    mm::rms_norm_rows(v.data(), int64_t(n) * heads, hd, nullptr, cfg_.rms_norm_eps);
    rope(q, k, pos);
    std::vector<float> o(q.size(), 0.0f);
    if (opt_.reference) {
        for (int h = 0; h < heads; ++h) attend_head(q, k, v, n, heads, hd, h, o);
    } else {
        attend_blas(q, k, v, n, heads, hd, o);
    }
    return l.o(o);
}

// Sandwich-norm encoder layer: h = x + post_attn(Attn(in(x))); y = h + post_ff(MLP(pre_ff(h))).
std::vector<float> VisionEncoder::layer_forward(const VisionLayer & l, std::vector<float> x,
                                                const std::vector<int32_t> & pos) const {
    const int d = cfg_.hidden_size;
    const int64_t n = int64_t(x.size()) / d;
    const float eps = cfg_.rms_norm_eps;
    std::vector<float> t = x;
    mm::rms_norm_rows(t.data(), n, d, l.input_norm.data(), eps);
    std::vector<float> a = attention(l, t, pos);
    mm::rms_norm_rows(a.data(), n, d, l.post_attn_norm.data(), eps);
    for (size_t i = 0; i < x.size(); ++i) x[i] += a[i];
    t = x;
    mm::rms_norm_rows(t.data(), n, d, l.pre_ff_norm.data(), eps);
    std::vector<float> g = l.gate(t), u = l.up(t);
    mm::parallel_for(int64_t(g.size()), 1 << 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) g[size_t(i)] = mm::gelu_tanh(g[size_t(i)]) * u[size_t(i)];
    });
    std::vector<float> m = l.down(g);
    mm::rms_norm_rows(m.data(), n, d, l.post_ff_norm.data(), eps);
    for (size_t i = 0; i < x.size(); ++i) x[i] += m[i];
    return x;
}

Result<Tensor> VisionEncoder::encode_hidden(const media::ImagePatches & patches) const {
    auto vp = valid_patches(patches, cfg_.position_embedding_size);
    if (!vp) return vp.error();
    const int d = cfg_.hidden_size, n = vp->n;
    // Patch embedding: input_proj(2·v − 1) + T[0][x] + T[1][y] (the 2v − 1 is inside the model).
    for (float & p : vp->pixels) p = 2.0f * p - 1.0f;
    std::vector<float> x = patch_proj_(vp->pixels);
    const size_t table_rows = size_t(cfg_.position_embedding_size);
    for (int i = 0; i < n; ++i) {
        const float * tx = &pos_table_[size_t(vp->pos[size_t(i) * 2]) * size_t(d)];
        const float * ty =
            &pos_table_[(table_rows + size_t(vp->pos[size_t(i) * 2 + 1])) * size_t(d)];
        for (int c = 0; c < d; ++c) x[size_t(i) * size_t(d) + size_t(c)] += tx[c] + ty[c];
    }
    for (const VisionLayer & l : layers_) x = layer_forward(l, std::move(x), vp->pos);
    // Pooling: mean over each 3×3 block of positions, kidx = x/3 + (pw/3)·(y/3), then × √D.
    const int k = media::kImagePoolKernel, gx = vp->grid_x / k,
              n_out = (vp->grid_x / k) * (vp->grid_y / k);
    std::vector<float> pooled(size_t(n_out) * size_t(d), 0.0f);
    for (int i = 0; i < n; ++i) {
        const int j = vp->pos[size_t(i) * 2] / k + gx * (vp->pos[size_t(i) * 2 + 1] / k);
        for (int c = 0; c < d; ++c)
            pooled[size_t(j) * size_t(d) + size_t(c)] += x[size_t(i) * size_t(d) + size_t(c)];
    }
    const float root_d = std::sqrt(float(d));  // fp32, as HF keeps it (it can exceed fp16)
    for (size_t i = 0; i < pooled.size(); ++i) {
        float v = pooled[i] / float(k * k) * root_d;
        if (cfg_.standardize) v = (v - std_bias_[i % size_t(d)]) * std_scale_[i % size_t(d)];
        pooled[i] = v;
    }
    return mm::to_tensor(pooled, {n_out, d});
}

Tensor VisionEncoder::embed(const Tensor & hidden) const {
    const float * p = hidden.ptr<float>();
    std::vector<float> out = embed_.forward(std::vector<float>(p, p + hidden.numel()));
    return mm::to_tensor(out, {hidden.dim(0), embed_.out()});
}

Result<Tensor> VisionEncoder::encode(const media::ImagePatches & patches) const {
    auto h = encode_hidden(patches);
    if (!h) return h.error();
    return embed(*h);
}

Result<Tensor> encode_image_file(const VisionEncoder & encoder, const std::string & path,
                                 int max_soft_tokens) {
    auto img = media::image_load(path);
    if (!img) return img.error();
    media::ImageOptions opt;
    opt.max_soft_tokens = max_soft_tokens;
    auto patches = media::image_preprocess(*img, opt);
    if (!patches) return patches.error();
    return encoder.encode(*patches);
}

}  // namespace gemma::gemma4
