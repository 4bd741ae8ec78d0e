// Media input for generation (issues #5, #7): encoded image / audio / video files in, soft tokens
// into the scheduler. The Engine's media worker decodes and encodes each item (through a
// MediaCache, so bytes sent again in a later turn or request are encoded once), expands the
// prompt's bare markers (gemma4::build_mm_prompt) and submits the request as EmbedOverride rows.
//
// Threading: encoding runs on this worker's own thread, neither on the caller's (the GUI and the
// HTTP handlers get their stream back at once) nor on the inference thread (running requests
// keep decoding while an image encodes). Requests are encoded one at a time, in arrival order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "io/tensor_source.h"
#include "media/image.h"
#include "media/media_cache.h"
#include "media/processor_config.h"
#include "media/video.h"
#include "model/gemma4/audio.h"
#include "model/gemma4/audio_backend.h"
#include "model/gemma4/mm_prompt.h"
#include "model/gemma4/vision.h"
#include "model/gemma4/vision_backend.h"
#include "runtime/scheduler.h"

namespace gemma::runtime {

// One media item of a request: the encoded file, shared so chat histories copy it cheaply.
// Images: PNG, JPEG, WebP, BMP; audio: WAV, FLAC, Ogg, MP3 (longer than 30 s is split into
// clips); video: what OpenCV reads. An image may instead come as decoded 8-bit RGB pixels
// (camera frames, screen captures: no encode / decode round trip on the way to the tower).
struct MediaInput {
    gemma4::MediaKind kind = gemma4::MediaKind::image;
    std::shared_ptr<const std::vector<uint8_t>> bytes;
    std::string name;  // names the item in error messages (a path, "image 1"); may be empty
    std::shared_ptr<const media::Image> pixels;  // images only: used instead of `bytes` when set
};
MediaInput media_input(gemma4::MediaKind kind, std::vector<uint8_t> bytes, std::string name = {});
// An image from decoded pixels (media::Image: width · height · 3 bytes, row-major RGB).
MediaInput media_input_pixels(media::Image image, std::string name = {});
// Reads a file. Errors: not_found when it cannot be read, invalid_argument when it is empty.
Result<MediaInput> media_input_load(gemma4::MediaKind kind, const std::string & path);

// A token-level request with media: the prompt holds one bare marker id per item (the config's
// image_token_id / audio_token_id / video_token_id, as the chat template renders them); the
// worker replaces each by its BOI … EOI (BOA … EOA) run and fills tokens.media / block_ids.
struct MediaRequest {
    TokenRequest tokens;
    std::vector<MediaInput> media;  // in marker order
    int image_budget = 0;  // soft tokens per image: 0 = processor_config.json's max_soft_tokens,
                           // else 70, 140, 280, 560 or 1120
    media::VideoOptions video;   // frame sampling and the per-frame budget
    gemma4::TextToIds tokenize;  // text -> ids for video frame timestamps (video only)
};

struct MediaWorkerOptions {
    // hf_eager reproduces the tiny fixtures' reference only (see AudioMaskMode); never in use.
    gemma4::AudioMaskMode audio_mask = gemma4::AudioMaskMode::sliding;
    size_t cache_bytes = size_t(256) << 20;  // media cache cap (encoded soft tokens)
    std::string model_id;                    // tells models apart in the cache keys
    // A backend registry name ("cuda", ...): the audio tower then runs on the backend ops
    // (gemma4::AudioBackendEncoder) on the worker's own instance of that backend (shared with the
    // vision tower when both name the same backend), driven by the worker only. Empty:
    // the fp32 CPU path (audio.h). A backend that fails to load falls back to the CPU path.
    std::string audio_backend;
    // Where images and video frames encode: "host" or "" = vision.h's fp32 CPU path, else a
    // registry name: the backend path (vision_backend.h) on the worker's own backend of that name
    // (a backend is driven by one thread; the scheduler's stays its own). When that backend
    // or the upload fails, the CPU path is used and the reason logged.
    std::string vision_backend;
};

// Thread-safe. Owns the vision / audio encoders and the media cache.
class MediaWorker {
public:
    // Loads the towers the config declares from `weights` and DIR/processor_config.json (absent:
    // Gemma 4 defaults, logged). Errors: those of VisionEncoder::load / AudioEncoder::load
    // (a failing backend path falls back to VisionEncoder, see options.vision_backend).
    static Result<std::unique_ptr<MediaWorker>> load(const std::string & dir,
                                                     const gemma4::Config & config,
                                                     const io::TensorSource & weights,
                                                     MediaWorkerOptions options);
    ~MediaWorker();  // stops the thread; queued requests end as cancelled

    // Starts the worker thread; requests go to `sched`, which must outlive the worker.
    void start(Scheduler & sched);

    // The cheap checks, on the caller's thread: kinds the model can take, non-empty bytes, a
    // valid image budget, a marker per item. invalid_argument / unsupported naming the item.
    Status check(const MediaRequest & req) const;
    // Queues the request and returns its id at once (cancel with cancel(), else
    // Scheduler::cancel once submitted). Decoding / encoding errors reach the sink as an error
    // finish (corrupt_file, unsupported, invalid_argument, context_full for a prompt that
    // outgrew the context). Errors here: those of check().
    Result<uint64_t> submit(MediaRequest req, std::shared_ptr<TokenSink> sink);
    // True when `id` had not reached the scheduler yet: it ends as cancelled (after the item
    // being encoded, if any, finishes). False: the caller cancels it in the scheduler.
    bool cancel(uint64_t id);

    // Encodes and expands on the calling thread (blocks): the TokenRequest submit() would queue.
    Result<TokenRequest> prepare(MediaRequest req) const;

    media::MediaCacheStats cache_stats() const { return cache_.stats(); }
    int default_image_budget() const { return processor_.image_max_soft_tokens; }
    bool has_vision() const { return vision_ != nullptr || vision_backend_ != nullptr; }
    // "host" for the CPU path, else the backend name images encode on.
    std::string vision_path() const;
    bool has_audio() const { return audio_ != nullptr || audio_on_backend_ != nullptr; }
    // Whether audio is encoded on MediaWorkerOptions::audio_backend (false: the CPU path).
    bool audio_on_backend() const { return audio_on_backend_ != nullptr; }
    // Backend instances the worker made for its towers (one when both use the same name).
    size_t media_backends() const { return backends_.size(); }

private:
    struct Job {
        uint64_t id = 0;
        MediaRequest req;
        std::shared_ptr<TokenSink> sink;
        bool cancelled = false;  // guarded by mu_
    };
    MediaWorker(gemma4::Config config, MediaWorkerOptions options);
    void loop();
    void load_audio_on_backend(const gemma4::Config & config, const io::TensorSource & weights,
                               const gemma4::AudioEncoderOptions & options);
    void run_job(Job & job);
    Status load_vision(const io::TensorSource & weights);
    // The worker's own backend instance of that name, made on first use: both towers share it
    // (only the worker thread drives it), so a GPU holds one context for media, not two.
    Result<Backend *> media_backend(const std::string & name);
    Result<gemma4::MediaEmbeds> encode(const MediaRequest & req, size_t index) const;
    uint64_t prefix_key(const MediaRequest & req, size_t index) const;

    gemma4::Config config_;
    MediaWorkerOptions opt_;
    media::ProcessorConfig processor_;
    // Declared before the encoders that use them, so destroyed after them.
    std::vector<std::pair<std::string, std::unique_ptr<Backend>>> backends_;
    std::unique_ptr<gemma4::VisionEncoder> vision_;
    std::unique_ptr<gemma4::VisionBackendEncoder> vision_backend_;  // instead of vision_
    std::unique_ptr<gemma4::AudioEncoder> audio_;
    std::unique_ptr<gemma4::AudioBackendEncoder> audio_on_backend_;  // instead of audio_
    mutable media::MediaCache cache_;
    Scheduler * sched_ = nullptr;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::unordered_map<uint64_t, std::shared_ptr<Job>> pending_;  // queued or being encoded
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace gemma::runtime
