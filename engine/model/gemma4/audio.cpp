// Gemma 4 audio tower: weight binding, the subsampling conv projection (SSCP) and the forward
// pass driver; the Conformer layer internals live in audio_conformer.cpp. Spec §5.
#include "model/gemma4/audio.h"

#include <algorithm>
#include <cmath>

#include "media/audio_split.h"

namespace gemma::gemma4 {
namespace {

const std::string kTower = "model.audio_tower.";

int half_up(int n) { return (n + 1) / 2; }  // stride-2 conv with pad 1, kernel 3: (n − 1)//2 + 1

// Conv2d 3×3, stride 2, zero padding 1, no bias (PyTorch cross-correlation).
// in: [cin, t, f] -> out: [cout, ceil(t/2), ceil(f/2)]; w: [cout, cin, 3, 3].
std::vector<float> conv3x3_s2(const std::vector<float> & in, int cin, int t, int f,
                              const std::vector<float> & w, int cout) {
    const int to = half_up(t), fo = half_up(f);
    std::vector<float> out(size_t(cout) * size_t(to) * size_t(fo), 0.0f);
    mm::parallel_for(cout, 1, [&](int64_t c_begin, int64_t c_end) {  // output channels
        for (int64_t co = c_begin; co < c_end; ++co) {
            for (int y = 0; y < to; ++y) {
                for (int x = 0; x < fo; ++x) {
                    float s = 0.0f;
                    for (int ci = 0; ci < cin; ++ci) {
                        const float * wk = &w[((size_t(co) * size_t(cin) + size_t(ci)) * 9)];
                        for (int ky = 0; ky < 3; ++ky) {
                            const int iy = 2 * y - 1 + ky;
                            if (iy < 0 || iy >= t) continue;
                            const float * row =
                                &in[(size_t(ci) * size_t(t) + size_t(iy)) * size_t(f)];
                            for (int kx = 0; kx < 3; ++kx) {
                                const int ix = 2 * x - 1 + kx;
                                if (ix < 0 || ix >= f) continue;
                                s += wk[ky * 3 + kx] * row[ix];
                            }
                        }
                    }
                    out[(size_t(co) * size_t(to) + size_t(y)) * size_t(fo) + size_t(x)] = s;
                }
            }
        }
    });
    return out;
}

// LayerNorm over channels at every (t, f) of x [c, t·f] (biased variance, weight only), then ReLU.
void channel_layer_norm_relu(std::vector<float> & x, int c, int tf, const std::vector<float> & w,
                             float eps) {
    for (int p = 0; p < tf; ++p) {
        double mean = 0.0, var = 0.0;
        for (int k = 0; k < c; ++k) mean += x[size_t(k) * size_t(tf) + size_t(p)];
        mean /= c;
        for (int k = 0; k < c; ++k) {
            const double d = x[size_t(k) * size_t(tf) + size_t(p)] - mean;
            var += d * d;
        }
        const double inv = 1.0 / std::sqrt(var / c + eps);
        for (int k = 0; k < c; ++k) {
            float & v = x[size_t(k) * size_t(tf) + size_t(p)];
            v = std::max(0.0f, float((v - mean) * inv) * w[size_t(k)]);
        }
    }
}

Result<std::vector<float>> load_vec(const mm::WeightReader & r, const std::string & name,
                                    const Shape & shape) {
    return r.f32(name, shape);
}

}  // namespace

Result<AudioEncoder> AudioEncoder::load(const Config & config, const io::TensorSource & weights,
                                        const AudioEncoderOptions & options) {
    auto cfg = parse_audio_config(config);
    if (!cfg) return cfg.error();
    mm::WeightReader r(weights);
    AudioEncoder e;
    e.cfg_ = *cfg;
    e.opt_ = options;
    const int c0 = cfg->sscp_channels[0], c1 = cfg->sscp_channels[1], a = cfg->hidden_size;
    const std::string s = kTower + "subsample_conv_projection.";
    struct V {
        std::vector<float> * dst;
        std::string name;
        Shape shape;
    };
    for (const V & v : {V{&e.conv0_, s + "layer0.conv.weight", {c0, 1, 3, 3}},
                        V{&e.norm0_, s + "layer0.norm.weight", {c0}},
                        V{&e.conv1_, s + "layer1.conv.weight", {c1, c0, 3, 3}},
                        V{&e.norm1_, s + "layer1.norm.weight", {c1}}}) {
        auto t = load_vec(r, v.name, v.shape);
        if (!t) return t.error();
        *v.dst = std::move(*t);
    }
    // Flatten width: (mel bins / 4) frequency rows × C1 channels (spec §9: derive it from the
    // mels).
    const int f2 = half_up(half_up(cfg->n_mel));
    auto in_proj = mm::load_linear(r, s + "input_proj_linear", f2 * c1, a, mm::LinearKind::plain);
    if (!in_proj) return in_proj.error();
    e.input_proj_ = std::move(*in_proj);
    for (int i = 0; i < cfg->n_layers; ++i) {
        auto l = load_audio_layer(r, *cfg, i);
        if (!l) return l.error();
        e.layers_.push_back(std::move(*l));
    }
    auto out = mm::load_linear(r, kTower + "output_proj", a, cfg->output_proj_dims,
                               mm::LinearKind::with_bias);
    if (!out) return out.error();
    e.output_proj_ = std::move(*out);
    auto emb = MultimodalEmbedder::load(r, "model.embed_audio", cfg->output_proj_dims,
                                        cfg->text_hidden_size, cfg->rms_norm_eps);
    if (!emb) return emb.error();
    e.embed_ = std::move(*emb);
    if (options.reference) {
        e.input_proj_.reference = e.output_proj_.reference = true;
        e.embed_.set_reference(true);
        for (AudioLayer & l : e.layers_)
            for (mm::Linear * lin : {&l.ff1.up, &l.ff1.down, &l.ff2.up, &l.ff2.down, &l.q, &l.k,
                                     &l.v, &l.post, &l.relative_k, &l.lconv_start, &l.lconv_end})
                lin->reference = true;
    }
    return e;
}

// SSCP (spec §5.1) on the valid frames only: zero padding equals HF's masking of later frames.
std::vector<float> AudioEncoder::subsample(const std::vector<float> & feats, int t) const {
    const int c0 = cfg_.sscp_channels[0], c1 = cfg_.sscp_channels[1], f = cfg_.n_mel;
    std::vector<float> x0 = conv3x3_s2(feats, 1, t, f, conv0_, c0);  // [c0, t1, f1]
    const int t1 = half_up(t), f1 = half_up(f);
    channel_layer_norm_relu(x0, c0, t1 * f1, norm0_, cfg_.rms_norm_eps);
    std::vector<float> x1 = conv3x3_s2(x0, c0, t1, f1, conv1_, c1);  // [c1, t2, f2]
    const int t2 = half_up(t1), f2 = half_up(f1);
    channel_layer_norm_relu(x1, c1, t2 * f2, norm1_, cfg_.rms_norm_eps);
    std::vector<float> flat(size_t(t2) * size_t(f2) * size_t(c1));  // feature = f·C1 + c
    for (int y = 0; y < t2; ++y)
        for (int x = 0; x < f2; ++x)
            for (int c = 0; c < c1; ++c)
                flat[(size_t(y) * size_t(f2) + size_t(x)) * size_t(c1) + size_t(c)] =
                    x1[(size_t(c) * size_t(t2) + size_t(y)) * size_t(f2) + size_t(x)];
    return input_proj_(flat);
}

Result<int> audio_valid_frames(const AudioConfig & cfg, const media::AudioFeatures & features) {
    if (features.n_mel != cfg.n_mel ||
        features.values.size() != size_t(features.n_frames) * size_t(features.n_mel) ||
        features.mask.size() != size_t(features.n_frames)) {
        return make_error(ErrorCode::invalid_argument,
                          format("audio features are %d frames x %d mels (%zu values, %zu mask "
                                 "entries); the audio tower expects %d mel bins",
                                 features.n_frames, features.n_mel, features.values.size(),
                                 features.mask.size(), cfg.n_mel));
    }
    int t = 0;
    while (t < features.n_frames && features.mask[size_t(t)]) ++t;
    for (int i = t; i < features.n_frames; ++i) {
        if (features.mask[size_t(i)]) {
            return make_error(ErrorCode::invalid_argument,
                              format("audio feature mask has a hole at frame %d (valid frame %d "
                                     "follows); batch-padded features must be padded at the end",
                                     t, i));
        }
    }
    if (t > 3000) {
        return make_error(ErrorCode::invalid_argument,
                          format("audio clip has %d valid frames (over 30 s); split it with "
                                 "media::audio_split first",
                                 t));
    }
    return t;
}

Result<Tensor> AudioEncoder::encode_hidden(const media::AudioFeatures & features) const {
    auto t = audio_valid_frames(cfg_, features);
    if (!t) return t.error();
    if (*t == 0) return mm::to_tensor({}, {0, cfg_.output_proj_dims});
    std::vector<float> feats(features.values.begin(),
                             features.values.begin() + int64_t(*t) * cfg_.n_mel);
    std::vector<float> x = subsample(feats, *t);
    for (const AudioLayer & l : layers_) x = layer_forward(l, std::move(x));
    std::vector<float> out = output_proj_(x);
    const int64_t n = int64_t(out.size()) / cfg_.output_proj_dims;
    return mm::to_tensor(out, {n, cfg_.output_proj_dims});
}

Tensor AudioEncoder::embed(const Tensor & hidden) const {
    const float * p = hidden.ptr<float>();
    std::vector<float> out = embed_.forward(std::vector<float>(p, p + hidden.numel()));
    return mm::to_tensor(out, {hidden.dim(0), embed_.out()});
}

Result<Tensor> AudioEncoder::encode(const media::AudioFeatures & features) const {
    auto h = encode_hidden(features);
    if (!h) return h.error();
    return embed(*h);
}

Result<std::vector<Tensor>> encode_audio_clips(const AudioEncoder & encoder,
                                               const media::Audio & audio) {
    return encode_audio_clips([&](const media::AudioFeatures & f) { return encoder.encode(f); },
                              audio);
}

Result<std::vector<Tensor>> encode_audio_clips(const AudioFeatureEncoder & encode,
                                               const media::Audio & audio) {
    if (audio.sample_rate != media::kAudioSampleRate) {
        return make_error(ErrorCode::invalid_argument,
                          format("audio is %d Hz; resample to 16 kHz first (media::audio_resample)",
                                 audio.sample_rate));
    }
    std::vector<Tensor> out;
    for (const media::AudioChunk & c : media::audio_split(audio.samples)) {
        std::span<const float> clip(audio.samples.data() + c.begin, size_t(c.end - c.begin));
        auto feats = media::audio_log_mel(clip);
        if (!feats) return feats.error();
        auto soft = encode(*feats);
        if (!soft) return soft.error();
        out.push_back(std::move(*soft));
    }
    return out;
}

}  // namespace gemma::gemma4
