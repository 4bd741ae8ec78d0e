// MediaWorker: request checks on the caller's thread; decoding, encoding (through the media
// cache), marker expansion and submission to the scheduler on the worker thread.
#include "runtime/engine_media.h"

#include <fstream>
#include <iterator>

#include "core/log.h"
#include "core/registry.h"
#include "media/image_processor.h"
#include "model/gemma4/mm_media.h"

namespace gemma::runtime {

MediaInput media_input(gemma4::MediaKind kind, std::vector<uint8_t> bytes, std::string name) {
    return {kind, std::make_shared<const std::vector<uint8_t>>(std::move(bytes)), std::move(name),
            nullptr};
}

MediaInput media_input_pixels(media::Image image, std::string name) {
    MediaInput m;
    m.kind = gemma4::MediaKind::image;
    m.name = std::move(name);
    m.pixels = std::make_shared<const media::Image>(std::move(image));
    return m;
}

Result<MediaInput> media_input_load(gemma4::MediaKind kind, const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return make_error(ErrorCode::not_found,
                          format("cannot read %s file '%s'; check the path",
                                 gemma4::media_kind_name(kind), path.c_str()));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    if (bytes.empty())
        return make_error(
            ErrorCode::invalid_argument,
            format("%s file '%s' is empty", gemma4::media_kind_name(kind), path.c_str()));
    return media_input(kind, std::move(bytes), path);
}

namespace {

std::string item_name(const MediaInput & m, size_t index) {
    if (!m.name.empty()) return m.name;
    return format("%s %zu", gemma4::media_kind_name(m.kind), index + 1);
}

// The marker kinds of a prompt, in order.
std::vector<gemma4::MediaKind> marker_kinds(std::span<const int32_t> ids,
                                            const gemma4::MmTokenIds & t) {
    std::vector<gemma4::MediaKind> out;
    for (int32_t id : ids) {
        if (t.image >= 0 && id == t.image) out.push_back(gemma4::MediaKind::image);
        if (t.audio >= 0 && id == t.audio) out.push_back(gemma4::MediaKind::audio);
        if (t.video >= 0 && id == t.video) out.push_back(gemma4::MediaKind::video);
    }
    return out;
}

}  // namespace

MediaWorker::MediaWorker(gemma4::Config config, MediaWorkerOptions options)
    : config_(std::move(config)), opt_(std::move(options)), cache_(opt_.cache_bytes) {}

Result<std::unique_ptr<MediaWorker>> MediaWorker::load(const std::string & dir,
                                                       const gemma4::Config & config,
                                                       const io::TensorSource & weights,
                                                       MediaWorkerOptions options) {
    std::unique_ptr<MediaWorker> w(new MediaWorker(config, std::move(options)));
    auto pc = media::load_processor_config(dir);
    if (pc.ok())
        w->processor_ = *pc;
    else if (pc.error().code == ErrorCode::not_found)
        GEMMA_LOG_INFO("no processor_config.json in %s: Gemma 4 defaults (image budget %d)",
                       dir.c_str(), w->processor_.image_max_soft_tokens);
    else
        return pc.error();
    if (config.has_vision) GEMMA_TRY(w->load_vision(weights));
    if (config.has_audio) {
        gemma4::AudioEncoderOptions ao;
        ao.mask_mode = w->opt_.audio_mask;
        if (!w->opt_.audio_backend.empty()) w->load_audio_on_backend(config, weights, ao);
        if (!w->audio_on_backend_) {
            auto a = gemma4::AudioEncoder::load(config, weights, ao);
            if (!a.ok()) return a.error();
            w->audio_ = std::make_unique<gemma4::AudioEncoder>(std::move(*a));
        }
    }
    return w;
}

// The audio tower on its own instance of options.audio_backend; on failure the CPU path is
// used instead (logged), so a GPU problem never takes audio input away.
void MediaWorker::load_audio_on_backend(const gemma4::Config & config,
                                        const io::TensorSource & weights,
                                        const gemma4::AudioEncoderOptions & options) {
    const std::string & name = opt_.audio_backend;
    auto b = media_backend(name);
    if (b.ok()) {
        auto e = gemma4::AudioBackendEncoder::load(config, weights, **b, options);
        if (e.ok()) {
            audio_on_backend_ = std::move(*e);
            GEMMA_LOG_INFO("audio tower on backend '%s'", name.c_str());
            return;
        }
        GEMMA_LOG_WARN("audio tower on backend '%s' failed (%s); using the CPU path", name.c_str(),
                       e.error().message.c_str());
        return;
    }
    GEMMA_LOG_WARN("no backend '%s' for the audio tower (%s); using the CPU path", name.c_str(),
                   b.error().message.c_str());
}

// The backend path on the worker's backend of the options' name, else (or when that fails) the CPU
// path.
Status MediaWorker::load_vision(const io::TensorSource & weights) {
    const std::string & name = opt_.vision_backend;
    if (!name.empty() && name != gemma4::kHostVisionPath) {
        auto b = media_backend(name);
        auto v = b.ok() ? gemma4::VisionBackendEncoder::load(config_, weights, **b)
                        : Result<std::unique_ptr<gemma4::VisionBackendEncoder>>(b.error());
        if (v.ok()) {
            vision_backend_ = std::move(*v);
            GEMMA_LOG_INFO("images encode on backend %s", name.c_str());
            return Status::success();
        }
        GEMMA_LOG_WARN("images cannot encode on backend %s (%s); using the CPU path", name.c_str(),
                       v.error().message.c_str());
    }
    auto v = gemma4::VisionEncoder::load(config_, weights);
    if (!v.ok()) return v.error();
    vision_ = std::make_unique<gemma4::VisionEncoder>(std::move(*v));
    return Status::success();
}

Result<Backend *> MediaWorker::media_backend(const std::string & name) {
    for (auto & [n, b] : backends_)
        if (n == name) return b.get();
    auto b = backend_create(name);
    if (!b.ok()) return b.error();
    backends_.emplace_back(name, std::move(*b));
    return backends_.back().second.get();
}

std::string MediaWorker::vision_path() const {
    return vision_backend_ ? vision_backend_->backend().info().name : gemma4::kHostVisionPath;
}

MediaWorker::~MediaWorker() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    Usage none;
    for (auto & job : queue_) job->sink->on_finish(FinishReason::cancelled, none, nullptr);
}

void MediaWorker::start(Scheduler & sched) {
    sched_ = &sched;
    thread_ = std::thread([this] { loop(); });
}

Status MediaWorker::check(const MediaRequest & req) const {
    if (!req.tokens.media.empty() || !req.tokens.block_ids.empty())
        return make_error(ErrorCode::invalid_argument,
                          "generate: a media request fills tokens.media and block_ids itself; "
                          "leave them empty");
    if (req.image_budget != 0 && !media::image_budget_is_valid(req.image_budget))
        return make_error(
            ErrorCode::invalid_argument,
            format("image budget %d is not one of 70, 140, 280, 560, 1120", req.image_budget));
    const auto markers = marker_kinds(req.tokens.prompt, gemma4::MmTokenIds::from_config(config_));
    if (markers.size() != req.media.size())
        return make_error(ErrorCode::invalid_argument,
                          format("the prompt has %zu media markers but %zu media inputs were "
                                 "given; send one input per image/audio/video part, in order",
                                 markers.size(), req.media.size()));
    for (size_t i = 0; i < req.media.size(); ++i) {
        const MediaInput & m = req.media[i];
        const char * kind = gemma4::media_kind_name(m.kind);
        if (markers[i] != m.kind)
            return make_error(ErrorCode::invalid_argument,
                              format("media part %zu is %s but input %zu (%s) is %s; give the "
                                     "inputs in prompt order",
                                     i + 1, gemma4::media_kind_name(markers[i]), i + 1,
                                     item_name(m, i).c_str(), kind));
        const bool tower = m.kind == gemma4::MediaKind::audio ? has_audio() : has_vision();
        if (!tower)
            return make_error(
                ErrorCode::unsupported,
                format("this model has no %s tower; %s input is not supported",
                       m.kind == gemma4::MediaKind::audio ? "audio" : "vision", kind));
        if (m.pixels) {
            if (m.kind != gemma4::MediaKind::image)
                return make_error(ErrorCode::invalid_argument,
                                  format("%s: decoded pixels are for images only, not %s",
                                         item_name(m, i).c_str(), kind));
            if (Status s = gemma4::check_image_pixels(*m.pixels); !s.ok())
                return make_error(s.error().code, format("%s: %s", item_name(m, i).c_str(),
                                                         s.error().message.c_str()));
        } else if (!m.bytes || m.bytes->empty()) {
            return make_error(ErrorCode::invalid_argument,
                              format("%s has no data", item_name(m, i).c_str()));
        }
        if (m.kind == gemma4::MediaKind::video && !req.tokenize)
            return make_error(ErrorCode::invalid_argument,
                              "video input needs a tokenizer for the frame timestamps");
    }
    return Status::success();
}

Result<gemma4::MediaEmbeds> MediaWorker::encode(const MediaRequest & req, size_t i) const {
    const MediaInput & m = req.media[i];
    const gemma4::MmEncoders enc{
        vision_.get(),           audio_.get(),         &cache_, opt_.model_id,
        audio_on_backend_.get(), vision_backend_.get()};
    const std::span<const uint8_t> bytes =
        m.bytes ? std::span<const uint8_t>(*m.bytes) : std::span<const uint8_t>();
    const int budget = req.image_budget ? req.image_budget : default_image_budget();
    Result<gemma4::MediaEmbeds> e = make_error(ErrorCode::internal, "unknown media kind");
    switch (m.kind) {
        case gemma4::MediaKind::image:
            e = m.pixels ? gemma4::encode_image_pixels(enc, *m.pixels, budget)
                         : gemma4::encode_image(enc, bytes, budget);
            break;
        case gemma4::MediaKind::audio:
            e = gemma4::encode_audio(enc, bytes);
            break;
        case gemma4::MediaKind::video:
            e = gemma4::encode_video(enc, bytes, req.video);
            break;
    }
    if (!e.ok())
        return make_error(e.error().code,
                          format("%s: %s", item_name(m, i).c_str(), e.error().message.c_str()));
    return e;
}

// The prefix-cache key of item i's soft tokens: its bytes and every setting that changes them.
uint64_t MediaWorker::prefix_key(const MediaRequest & req, size_t i) const {
    const MediaInput & m = req.media[i];
    const int budget = req.image_budget ? req.image_budget : default_image_budget();
    const std::string settings =
        format("%s budget=%d mask=%d frames=%d fps=%g vbudget=%d model=%s",
               gemma4::media_kind_name(m.kind), budget, int(opt_.audio_mask), req.video.max_frames,
               req.video.max_fps, req.video.max_soft_tokens, opt_.model_id.c_str());
    const media::MediaKey k =
        m.pixels ? media::media_key(m.pixels->rgb, format("%s rgb=%dx%d", settings.c_str(),
                                                          m.pixels->width, m.pixels->height))
                 : media::media_key(*m.bytes, settings);
    return k.a ^ (k.b * 0x9E3779B97F4A7C15ull);
}

Result<TokenRequest> MediaWorker::prepare(MediaRequest req) const {
    GEMMA_TRY(check(req));
    std::vector<gemma4::MediaEmbeds> embeds;
    for (size_t i = 0; i < req.media.size(); ++i) {
        auto e = encode(req, i);
        if (!e.ok()) return e.error();
        embeds.push_back(std::move(*e));
    }
    auto p = gemma4::build_mm_prompt(req.tokens.prompt, embeds, config_, req.tokenize);
    if (!p.ok()) return p.error();
    TokenRequest t = std::move(req.tokens);
    t.prompt = std::move(p->ids);
    t.block_ids = std::move(p->block_ids);
    // Every part has its own BOI/BOA … run, so the k-th override is the k-th part.
    size_t k = 0;
    for (size_t i = 0; i < embeds.size(); ++i) {
        const uint64_t key = prefix_key(req, i);
        for (size_t part = 0; part < embeds[i].parts.size(); ++part, ++k) {
            if (k >= p->overrides.size() ||
                p->overrides[k].embeds.dim(0) != embeds[i].parts[part].dim(0))
                return make_error(ErrorCode::internal,
                                  "media runs do not line up with the encoded parts");
            const gemma4::EmbedOverride & o = p->overrides[k];
            t.media.push_back(
                {o.row, o.embeds, key ^ (uint64_t(part + 1) * 0xBF58476D1CE4E5B9ull)});
        }
    }
    return t;
}

Result<uint64_t> MediaWorker::submit(MediaRequest req, std::shared_ptr<TokenSink> sink) {
    GEMMA_TRY(check(req));
    if (!sink) return make_error(ErrorCode::invalid_argument, "generate: no sink");
    auto job = std::make_shared<Job>();
    job->id = sched_->reserve_id();
    job->req = std::move(req);
    job->sink = std::move(sink);
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return make_error(ErrorCode::cancelled, "the engine is shutting down");
    pending_[job->id] = job;
    queue_.push_back(job);
    cv_.notify_all();
    return job->id;
}

bool MediaWorker::cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return false;
    it->second->cancelled = true;
    return true;
}

void MediaWorker::loop() {
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (stop_) return;
            job = queue_.front();
            queue_.pop_front();
        }
        run_job(*job);
    }
}

// Encodes, then submits under the lock, so cancel() either finds the job pending or finds it
// in the scheduler.
void MediaWorker::run_job(Job & job) {
    const Usage usage{int(job.req.tokens.prompt.size()), 0, 0};
    bool cancelled;
    {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled = job.cancelled;
    }
    Result<TokenRequest> tr = cancelled ? Result<TokenRequest>(make_error(ErrorCode::cancelled, ""))
                                        : prepare(std::move(job.req));
    std::unique_lock<std::mutex> lock(mu_);
    pending_.erase(job.id);
    cancelled = job.cancelled;
    Result<uint64_t> id = make_error(ErrorCode::cancelled, "");
    if (!cancelled && tr.ok()) id = sched_->submit(std::move(*tr), job.sink, job.id);
    lock.unlock();
    if (cancelled) {
        job.sink->on_finish(FinishReason::cancelled, usage, nullptr);
    } else if (!tr.ok() || !id.ok()) {
        Error e = tr.ok() ? id.error() : tr.error();
        job.sink->on_finish(FinishReason::error, usage, &e);
    }
}

}  // namespace gemma::runtime
