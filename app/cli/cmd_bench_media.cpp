// gemdesk-cli bench-media: time the multimodal front ends at real encoder shapes with random
// weights (no checkpoint needed): image preprocessing + vision tower + embed_vision for each
// budget, log-mel + audio tower + embed_audio for a clip. Both towers run on their CPU paths, or
// with --backend B on the backend ops (vision_backend.h, audio_backend.h) on backend B. Prints one
// line per case; exit 0, 2 bad usage.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bench_image.h"
#include "cli/commands.h"
#include "common/args.h"
#include "core/registry.h"
#include "media/audio_features.h"
#include "media/image_processor.h"
#include "model/gemma4/audio.h"
#include "model/gemma4/audio_backend.h"
#include "model/gemma4/mm_synthetic.h"
#include "model/gemma4/vision.h"
#include "model/gemma4/vision_backend.h"

namespace gemdesk::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int usage(const std::string & msg) {
    std::fprintf(stderr,
                 "gemdesk-cli bench-media: %s\nusage: gemdesk-cli bench-media [--preset e4b|small] "
                 "[--budgets 280,1120] [--image WxH] [--audio-seconds S] [--reps N] [--reference] "
                 "[--backend host|B] [--warmup W]\n",
                 msg.c_str());
    return 2;
}

}  // namespace

gemma::media::Image bench_test_image(int w, int h) {
    gemma::media::Image img;
    img.width = w;
    img.height = h;
    img.rgb.resize(size_t(w) * size_t(h) * 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c)
                img.rgb[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(c)] =
                    uint8_t((x * (c + 1) + y * (3 - c) + ((x * 7919 + y * 104729) >> 4)) & 255);
    return img;
}

namespace {

using ImageEncodeFn =
    std::function<gemma::Result<gemma::Tensor>(const gemma::media::ImagePatches &)>;

// Best-of-reps wall time of fn in milliseconds (fn returns false on failure).
template <class F>
double best_ms(int reps, F && fn, bool & ok) {
    double best = 1e300;
    for (int r = 0; r < reps && ok; ++r) {
        auto t0 = Clock::now();
        ok = fn();
        best = std::min(best, ms_since(t0));
    }
    return best;
}

// `warmup` untimed encodes per budget first (first kernel launches, cuBLAS heuristics).
int bench_images(const ImageEncodeFn & encode, const std::vector<int> & budgets, int w, int h,
                 int reps, int warmup) {
    const gemma::media::Image img = bench_test_image(w, h);
    for (int budget : budgets) {
        gemma::media::ImageOptions o;
        o.max_soft_tokens = budget;
        gemma::Result<gemma::media::ImagePatches> patches = gemma::media::image_preprocess(img, o);
        bool ok = patches.ok();
        const double pre = best_ms(
            reps, [&] { return (patches = gemma::media::image_preprocess(img, o)).ok(); }, ok);
        if (!ok) return usage(patches.error().message);
        gemma::Status st = gemma::Status::success();
        auto run = [&] {
            auto r = encode(*patches);
            if (!r.ok()) st = r.error();
            return r.ok();
        };
        for (int i = 0; i < warmup && ok; ++i) ok = run();
        const double enc_ms = ok ? best_ms(reps, run, ok) : 0.0;
        if (!ok) {
            std::fprintf(stderr, "gemdesk-cli bench-media: vision encode failed: %s\n",
                         st.error().message.c_str());
            return 1;
        }
        std::printf(
            "image %dx%d budget %4d: %4d tokens (%5d patches)  preprocess %8.1f ms  "
            "encode %9.1f ms\n",
            w, h, budget, patches->grid.n_soft_tokens(), patches->grid.n_patches(), pre, enc_ms);
        std::fflush(stdout);
    }
    return 0;
}

// Times `encode` (the CPU or the backend path) on a synthetic clip.
int bench_audio(const gemma::gemma4::AudioFeatureEncoder & encode, double seconds, int reps) {
    std::vector<float> wave(size_t(seconds * 16000.0));
    for (size_t i = 0; i < wave.size(); ++i)
        wave[i] =
            0.3f * std::sin(0.05f * float(i)) + 0.05f * std::sin(0.0007f * float(i * 3 % 9973));
    gemma::Result<gemma::media::AudioFeatures> feats = gemma::media::audio_log_mel(wave);
    bool ok = feats.ok();
    const double pre = best_ms(
        reps, [&] { return (feats = gemma::media::audio_log_mel(wave)).ok(); }, ok);
    if (!ok) return usage(feats.error().message);
    int64_t tokens = 0;
    const double enc_ms = best_ms(
        reps,
        [&] {
            auto r = encode(*feats);
            if (r.ok()) tokens = r->dim(0);
            return r.ok();
        },
        ok);
    if (!ok) return usage("audio encode failed");
    std::printf(
        "audio %5.1f s          : %4lld tokens (%5d frames)   log-mel %8.1f ms  encode %9.1f ms\n",
        seconds, (long long)tokens, feats->n_frames, pre, enc_ms);
    return 0;
}

// The audio tower to time: the CPU path, or the backend ops on `backend` when one is named.
struct AudioPath {
    std::unique_ptr<gemma::gemma4::AudioEncoder> cpu;
    std::unique_ptr<gemma::Backend> backend;
    std::unique_ptr<gemma::gemma4::AudioBackendEncoder> on_backend;
    gemma::gemma4::AudioFeatureEncoder encode;
    std::string where;
};

int load_audio(const gemma::gemma4::Config & cfg, const gemma::io::TensorSource & weights,
               const gemma::gemma4::AudioEncoderOptions & ao, const std::string & backend,
               AudioPath & out) {
    if (backend.empty()) {
        auto a = gemma::gemma4::AudioEncoder::load(cfg, weights, ao);
        if (!a.ok()) return usage(a.error().message);
        out.cpu = std::make_unique<gemma::gemma4::AudioEncoder>(std::move(*a));
        out.encode = [&out](const gemma::media::AudioFeatures & f) { return out.cpu->encode(f); };
        out.where = "the CPU path";
        return 0;
    }
    auto b = gemma::backend_create(backend);
    if (!b.ok()) return usage(b.error().message);
    auto e = gemma::gemma4::AudioBackendEncoder::load(cfg, weights, **b, ao);
    if (!e.ok()) return usage(e.error().message);
    out.backend = std::move(*b);
    out.on_backend = std::move(*e);
    out.encode = [&out](const gemma::media::AudioFeatures & f) {
        return out.on_backend->encode(f);
    };
    out.where = "backend " + out.backend->info().name;
    return 0;
}

// The vision tower on the CPU path ("host") or the backend path on a new backend `name`.
struct VisionUnderTest {
    std::shared_ptr<const gemma::gemma4::VisionEncoder> cpu;
    std::shared_ptr<const gemma::gemma4::VisionBackendEncoder> gpu;
    ImageEncodeFn encode;
    std::string what;
};

gemma::Result<VisionUnderTest> make_vision(const gemma::gemma4::Config & cfg,
                                           const gemma::io::TensorSource & weights,
                                           const std::string & name,
                                           const gemma::gemma4::VisionEncoderOptions & vo) {
    VisionUnderTest v;
    if (name == gemma::gemma4::kHostVisionPath) {
        auto e = gemma::gemma4::VisionEncoder::load(cfg, weights, vo);
        if (!e.ok()) return e.error();
        v.cpu = std::make_shared<const gemma::gemma4::VisionEncoder>(std::move(*e));
        v.encode = [p = v.cpu](const gemma::media::ImagePatches & x) { return p->encode(x); };
        v.what = vo.reference ? "vision CPU path (reference loops)" : "vision CPU path (fast)";
        return v;
    }
    auto b = gemma::backend_create(name);
    if (!b.ok()) return b.error();
    const std::string desc = (*b)->info().description;
    auto e = gemma::gemma4::VisionBackendEncoder::load(cfg, weights, std::move(*b));
    if (!e.ok()) return e.error();
    v.gpu = std::move(*e);
    v.encode = [p = v.gpu](const gemma::media::ImagePatches & x) { return p->encode(x); };
    v.what = "vision backend path on " + name + " (" + desc + ")";
    return v;
}

}  // namespace

int cmd_bench_media(int argc, char ** argv) {
    Args args(argc, argv, {"reference"});
    std::string unknown = args.check_known({"preset", "budgets", "image", "audio-seconds", "reps",
                                            "reference", "seed", "backend", "warmup"});
    if (!unknown.empty()) return usage(unknown);
    const int reps = int(args.get_int("reps", 1));
    const double seconds = args.get_double("audio-seconds", 30.0);
    int w = 1920, h = 1080;
    if (args.has("image") && std::sscanf(args.get("image").c_str(), "%dx%d", &w, &h) != 2)
        return usage("--image takes WxH, e.g. 1920x1080");
    std::vector<int> budgets;
    std::stringstream ss(args.get("budgets", "280,1120"));
    for (std::string tok; std::getline(ss, tok, ',');) budgets.push_back(std::atoi(tok.c_str()));
    if (!args.error().empty() || reps <= 0)
        return usage(args.error().empty() ? "--reps must be > 0" : args.error());
    const std::string preset = args.get("preset", "e4b");
    auto cfg = gemma::gemma4::mm_synthetic_config(preset);
    if (!cfg.ok()) return usage(cfg.error().message);
    auto t0 = Clock::now();
    auto weights =
        gemma::gemma4::make_synthetic_mm_weights(*cfg, uint64_t(args.get_int("seed", 1)));
    if (!weights.ok()) return usage(weights.error().message);
    gemma::gemma4::VisionEncoderOptions vo;
    vo.reference = args.has("reference");
    gemma::gemma4::AudioEncoderOptions ao;
    ao.reference = vo.reference;
    const std::string backend = args.get("backend", gemma::gemma4::kHostVisionPath);
    const int warmup = int(args.get_int("warmup", backend == "host" ? 0 : 1));
    if (warmup < 0) return usage("--warmup must be 0 or more");
    auto vision = make_vision(*cfg, **weights, backend, vo);
    if (!vision.ok()) return usage(vision.error().message);
    AudioPath audio;
    if (int rc = load_audio(*cfg, **weights, ao, backend == "host" ? "" : backend, audio))
        return rc;
    std::printf(
        "bench-media: preset %s (random weights), %s, audio on %s, setup %.1f s, best of %d\n",
        preset.c_str(), vision->what.c_str(), audio.where.c_str(), ms_since(t0) / 1000.0, reps);
    if (int rc = bench_images(vision->encode, budgets, w, h, reps, warmup)) return rc;
    if (seconds > 0) return bench_audio(audio.encode, seconds, reps);
    return 0;
}

}  // namespace gemdesk::cli
