// MediaCases: fixture inputs -> processor -> towers -> the tensors named in golden.safetensors.
#include "model/gemma4/embedder_cases.h"

#include <cstring>

#include "media/processor_config.h"

namespace gemma::gemma4 {
namespace {

Tensor i32_tensor(const std::vector<int32_t> & v, Shape shape) {
    Tensor t = tensor_host(DType::i32, std::move(shape));
    if (!v.empty()) std::memcpy(t.data, v.data(), v.size() * sizeof(int32_t));
    return t;
}

}  // namespace

Result<std::unique_ptr<MediaCases>> MediaCases::open(const std::string & dir,
                                                     const MediaCaseOptions & opt) {
    auto cfg = load_config(dir);
    if (!cfg) return cfg.error();
    auto w = io::open_safetensors(dir);
    if (!w) return w.error();
    auto m = std::unique_ptr<MediaCases>(new MediaCases());
    m->dir_ = dir;
    m->opt_ = opt;
    m->config_ = std::move(*cfg);
    m->weights_ = std::move(*w);
    return m;
}

bool MediaCases::handles(const std::string & n) {
    for (const char * k : {"image.pixel_values", "image.position_ids", "image.vision_last_hidden",
                           "image.soft_tokens", "audio.input_features", "audio.input_features_mask",
                           "audio.soft_tokens"}) {
        if (n == k) return true;
    }
    return false;
}

Result<media::ImagePatches> MediaCases::image_patches(bool padded) const {
    auto pc = media::load_processor_config(dir_);
    auto img = media::image_load(dir_ + "/image.png");
    if (!img) return img.error();
    media::ImageOptions o;
    o.max_soft_tokens = pc ? pc->image_max_soft_tokens : 280;
    o.rescale_factor = pc ? pc->image_rescale_factor : 1.0f / 255.0f;
    o.pad_to_budget = padded;
    return media::image_preprocess(*img, o);
}

Result<media::AudioFeatures> MediaCases::audio_features(bool padded) const {
    auto pc = media::load_processor_config(dir_);
    media::AudioFeatureOptions o = pc ? pc->audio : media::AudioFeatureOptions{};
    o.pad_like_reference = padded;
    auto audio = media::audio_load(dir_ + "/audio.wav");
    if (!audio) return audio.error();
    auto x = media::audio_resample(audio->samples, audio->sample_rate, o.sampling_rate);
    if (!x) return x.error();
    return media::audio_log_mel(*x, o);
}

Result<Tensor> MediaCases::run(const std::string & name) {
    if (name.rfind("image.", 0) == 0) {
        const bool raw = name == "image.pixel_values" || name == "image.position_ids";
        auto p = image_patches(raw);
        if (!p) return p.error();
        if (name == "image.pixel_values")
            return mm::to_tensor(p->pixel_values, {p->n_rows, media::kImagePatchDim});
        if (name == "image.position_ids") return i32_tensor(p->position_ids, {p->n_rows, 2});
        if (!vision_) {
            auto v = VisionEncoder::load(config_, *weights_);
            if (!v) return v.error();
            vision_ = std::make_unique<VisionEncoder>(std::move(*v));
        }
        auto h = vision_->encode_hidden(*p);
        if (!h) return h.error();
        if (name == "image.vision_last_hidden") return *h;
        if (name == "image.soft_tokens") return vision_->embed(*h);
    } else if (name.rfind("audio.", 0) == 0) {
        auto f = audio_features(name != "audio.soft_tokens");
        if (!f) return f.error();
        if (name == "audio.input_features")
            return mm::to_tensor(f->values, {f->n_frames, f->n_mel});
        if (name == "audio.input_features_mask")
            return i32_tensor(std::vector<int32_t>(f->mask.begin(), f->mask.end()), {f->n_frames});
        if (!audio_) {
            auto a = AudioEncoder::load(config_, *weights_, AudioEncoderOptions{opt_.audio_mask});
            if (!a) return a.error();
            audio_ = std::make_unique<AudioEncoder>(std::move(*a));
        }
        if (name == "audio.soft_tokens") return audio_->encode(*f);
    }
    return make_error(ErrorCode::not_found,
                      format("'%s' is not a multimodal golden case", name.c_str()));
}

}  // namespace gemma::gemma4
