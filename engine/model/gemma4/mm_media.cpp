// Media encoding for prompts: the cache key of each kind names every setting that changes the
// soft tokens (budget, audio mask mode, frame sampling, model).
#include "model/gemma4/mm_media.h"

namespace gemma::gemma4 {
namespace {

MediaEmbeds to_embeds(MediaKind kind, const media::CachedMedia & c) {
    return MediaEmbeds{kind, c.parts, c.seconds};
}

// Through the cache when there is one, else a direct encode.
Result<MediaEmbeds> cached(const MmEncoders & enc, MediaKind kind, std::span<const uint8_t> bytes,
                           const std::string & settings, const media::MediaCache::Encoder & fn) {
    if (!enc.cache) {
        auto r = fn();
        if (!r) return r.error();
        return to_embeds(kind, *r);
    }
    const media::MediaKey key = media::media_key(bytes, settings + " model=" + enc.model_id);
    auto e = enc.cache->get_or_encode(key, fn);
    if (!e) return e.error();
    return to_embeds(kind, **e);
}

// One image's soft tokens on the backend path when there is one, else on the CPU path.
Result<Tensor> encode_patches(const MmEncoders & enc, const media::ImagePatches & patches) {
    if (enc.vision_backend) return enc.vision_backend->encode(patches);
    return enc.vision->encode(patches);
}

const void * vision_of(const MmEncoders & enc) {
    return enc.vision_backend ? static_cast<const void *>(enc.vision_backend) : enc.vision;
}

Status need(const void * encoder, const char * what) {
    if (encoder) return Status::success();
    return make_error(ErrorCode::invalid_argument,
                      format("this model has no %s tower; %s input is not supported", what, what));
}

Status check_image_budget(const MmEncoders & enc, int max_soft_tokens) {
    GEMMA_TRY(need(vision_of(enc), "vision"));
    if (!media::image_budget_is_valid(max_soft_tokens))
        return make_error(
            ErrorCode::invalid_argument,
            format("image budget %d is not one of 70, 140, 280, 560, 1120", max_soft_tokens));
    return Status::success();
}

// Preprocess (resize, patchify) and the vision tower.
Result<media::CachedMedia> encode_rgb(const MmEncoders & enc, const media::Image & img,
                                      int max_soft_tokens) {
    media::ImageOptions o;
    o.max_soft_tokens = max_soft_tokens;
    auto patches = media::image_preprocess(img, o);
    if (!patches) return patches.error();
    auto soft = encode_patches(enc, *patches);
    if (!soft) return soft.error();
    return media::CachedMedia{{*soft}, {}};
}

}  // namespace

Result<MediaEmbeds> encode_image(const MmEncoders & enc, std::span<const uint8_t> bytes,
                                 int max_soft_tokens) {
    GEMMA_TRY(check_image_budget(enc, max_soft_tokens));
    auto fn = [&]() -> Result<media::CachedMedia> {
        auto img = media::image_decode(bytes);
        if (!img) return img.error();
        return encode_rgb(enc, *img, max_soft_tokens);
    };
    return cached(enc, MediaKind::image, bytes, format("image budget=%d", max_soft_tokens), fn);
}

Status check_image_pixels(const media::Image & image) {
    const int64_t w = image.width, h = image.height;
    if (w <= 0 || h <= 0)
        return make_error(ErrorCode::invalid_argument,
                          format("image pixels: %lldx%lld is empty; give width and height > 0",
                                 (long long)w, (long long)h));
    if (w * h > media::kMaxImagePixels)
        return make_error(ErrorCode::invalid_argument,
                          format("image pixels: %lldx%lld is more than %lld pixels; scale it down",
                                 (long long)w, (long long)h, (long long)media::kMaxImagePixels));
    if (int64_t(image.rgb.size()) != w * h * 3)
        return make_error(ErrorCode::invalid_argument,
                          format("image pixels: %zu bytes for %lldx%lld RGB; expected %lld "
                                 "(3 bytes per pixel, rows without padding)",
                                 image.rgb.size(), (long long)w, (long long)h,
                                 (long long)(w * h * 3)));
    return Status::success();
}

Result<MediaEmbeds> encode_image_pixels(const MmEncoders & enc, const media::Image & image,
                                        int max_soft_tokens) {
    GEMMA_TRY(check_image_budget(enc, max_soft_tokens));
    GEMMA_TRY(check_image_pixels(image));
    auto fn = [&]() -> Result<media::CachedMedia> {
        return encode_rgb(enc, image, max_soft_tokens);
    };
    // The cache key: the pixels and their size (bytes alone would not tell 2x3 from 3x2).
    return cached(enc, MediaKind::image, image.rgb,
                  format("image rgb=%dx%d budget=%d", image.width, image.height, max_soft_tokens),
                  fn);
}

Result<MediaEmbeds> encode_audio(const MmEncoders & enc, std::span<const uint8_t> bytes) {
    const AudioBackendEncoder * on_backend = enc.audio_backend;
    GEMMA_TRY(need(on_backend ? static_cast<const void *>(on_backend) : enc.audio, "audio"));
    auto fn = [&]() -> Result<media::CachedMedia> {
        auto audio = media::audio_decode_16k(bytes);
        if (!audio) return audio.error();
        auto clips = on_backend ? encode_audio_clips(*on_backend, *audio)
                                : encode_audio_clips(*enc.audio, *audio);
        if (!clips) return clips.error();
        return media::CachedMedia{std::move(*clips), {}};
    };
    const AudioMaskMode mask =
        on_backend ? on_backend->options().mask_mode : enc.audio->options().mask_mode;
    const bool eager = mask == AudioMaskMode::hf_eager;
    return cached(enc, MediaKind::audio, bytes,
                  format("audio mask=%s", eager ? "hf_eager" : "sliding"), fn);
}

Result<MediaEmbeds> encode_video_frames(const MmEncoders & enc, const media::VideoFrames & frames,
                                        int max_soft_tokens) {
    GEMMA_TRY(need(vision_of(enc), "vision"));
    MediaEmbeds out{MediaKind::video, {}, frames.seconds};
    media::ImageOptions o;
    o.max_soft_tokens = max_soft_tokens;
    for (const media::Image & f : frames.frames) {
        auto patches = media::image_preprocess(f, o);
        if (!patches) return patches.error();
        auto soft = encode_patches(enc, *patches);
        if (!soft) return soft.error();
        out.parts.push_back(std::move(*soft));
    }
    return out;
}

Result<MediaEmbeds> encode_video(const MmEncoders & enc, std::span<const uint8_t> bytes,
                                 const media::VideoOptions & options) {
    GEMMA_TRY(need(vision_of(enc), "vision"));
    auto fn = [&]() -> Result<media::CachedMedia> {
        auto frames = media::video_decode(bytes, options);
        if (!frames) return frames.error();
        auto e = encode_video_frames(enc, *frames, options.max_soft_tokens);
        if (!e) return e.error();
        return media::CachedMedia{std::move(e->parts), std::move(e->frame_seconds)};
    };
    return cached(enc, MediaKind::video, bytes,
                  format("video frames=%d fps=%g budget=%d", options.max_frames, options.max_fps,
                         options.max_soft_tokens),
                  fn);
}

}  // namespace gemma::gemma4
