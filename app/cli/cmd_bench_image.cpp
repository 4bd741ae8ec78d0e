// gemdesk-cli bench --image BUDGET: the image-turn latency of issue #8, image -> first token, at a
// preset's real shapes with random weights (--synthetic e4b: the E4B text decoder and vision
// tower) or a checkpoint (--model DIR). Each run preprocesses a synthetic WxH image (default
// 1920x1080) at the budget, encodes it (vision backend path on the text backend itself, unless
// --vision-backend host|B: the CPU path, or a separate instance of backend B), prefills a chat turn
// of its soft tokens plus a short text prompt and takes the greedy first token. Untimed warm-up
// runs first; then best and median of --reps runs, per part and in total. Exit 0, 1 failure, 2
// bad usage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli/bench_image.h"
#include "cli/bench_model_args.h"
#include "common/args.h"
#include "core/kv_quant.h"
#include "core/registry.h"
#include "io/tensor_source.h"
#include "media/image_processor.h"
#include "model/gemma4/mm_synthetic.h"
#include "model/gemma4/text.h"
#include "model/gemma4/vision.h"
#include "model/gemma4/vision_backend.h"

namespace gemdesk::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace g4 = gemma::gemma4;

struct ImageTurnOptions : BenchModelArgs {
    std::string vision_backend;  // "" = the text backend
    int budget = 280, width = 1920, height = 1080, text = 16, reps = 5, warmup = 1;
    uint64_t seed = 1;
};

// One run's parts in milliseconds.
struct Times {
    double preprocess = 0, encode = 0, prefill = 0, total = 0;
    int32_t token = -1;  // the first token
};

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int usage(const std::string & msg) {
    std::fprintf(stderr,
                 "gemdesk-cli bench --image: %s\nusage: gemdesk-cli bench --image BUDGET "
                 "(--synthetic e4b|tiny | --model DIR) [--backend B] [--vision-backend host|B] "
                 "[--image-size WxH] [--text T] [--reps R] [--warmup W] [--seed S] "
                 "[--weights bf16|q8_0|q4_0] [--kv-cache f32|bf16|q8_0] [--ple-host]\n",
                 msg.c_str());
    return 2;
}

std::string parse(int argc, char ** argv, ImageTurnOptions & o) {
    Args args(argc, argv, {"ple-host"});
    std::string bad =
        args.check_known({"image", "synthetic", "model", "backend", "vision-backend", "image-size",
                          "text", "reps", "warmup", "seed", "weights", "kv-cache", "ple-host"});
    if (!bad.empty()) return bad;
    o.vision_backend = args.get("vision-backend");
    o.budget = int(args.get_int("image", o.budget));
    o.text = int(args.get_int("text", o.text));
    o.reps = int(args.get_int("reps", o.reps));
    o.warmup = int(args.get_int("warmup", o.warmup));
    o.seed = uint64_t(args.get_int("seed", int64_t(o.seed)));
    if (args.has("image-size") &&
        std::sscanf(args.get("image-size").c_str(), "%dx%d", &o.width, &o.height) != 2)
        return "--image-size takes WxH, e.g. 1920x1080";
    if (!args.error().empty()) return args.error();
    if (std::string bad_model = parse_bench_model_args(args, o); !bad_model.empty())
        return bad_model;
    if (!gemma::media::image_budget_is_valid(o.budget))
        return "--image must be a budget: 70, 140, 280, 560 or 1120";
    if (o.width < 1 || o.height < 1 || o.text < 0 || o.reps < 1 || o.warmup < 0)
        return "--image-size must be positive, --text and --warmup >= 0, --reps >= 1";
    return "";
}

// The text model and the config + weights its vision tower comes from.
struct Models {
    std::unique_ptr<gemma::io::TensorSource> vision_weights;
    g4::Config vision_config;
    std::unique_ptr<g4::TextModel> text;
};

gemma::Result<Models> build(const ImageTurnOptions & o, gemma::Backend & backend, int max_batch) {
    g4::TextModelOptions mo;
    mo.max_batch = max_batch;
    mo.weights = o.weights;
    mo.ple_on_host = o.ple_host;
    Models m;
    if (!o.model_dir.empty()) {
        auto cfg = g4::load_config(o.model_dir);
        if (!cfg.ok()) return cfg.error();
        auto w = gemma::io::open_safetensors(o.model_dir);
        if (!w.ok()) return w.error();
        m.vision_config = *cfg;
        m.vision_weights = std::move(*w);
        auto t = g4::load_text_model(o.model_dir, backend, mo);
        if (!t.ok()) return t.error();
        m.text = std::move(*t);
        return m;
    }
    auto text_cfg = g4::preset_config(o.synthetic);
    if (!text_cfg.ok()) return text_cfg.error();
    // The E4B tower for the E4B decoder; the narrow test tower for other presets.
    auto cfg = g4::mm_synthetic_with_vision(*text_cfg, o.synthetic == "e4b" ? "e4b" : "small");
    if (!cfg.ok()) return cfg.error();
    auto w = g4::make_synthetic_mm_weights(*cfg, o.seed);
    if (!w.ok()) return w.error();
    m.vision_config = *cfg;
    m.vision_weights = std::move(*w);
    auto t = g4::make_synthetic_text_model(*text_cfg, backend, o.seed, mo);
    if (!t.ok()) return t.error();
    m.text = std::move(*t);
    return m;
}

// Patches -> soft tokens on the text backend, by the chosen path.
using EncodeFn = std::function<gemma::Result<gemma::Tensor>(const gemma::media::ImagePatches &)>;

struct Vision {
    std::shared_ptr<const void> keep;  // the encoder (and its backend)
    EncodeFn encode;
    std::string what;
};

gemma::Result<Vision> make_vision(const ImageTurnOptions & o, const Models & m,
                                  gemma::Backend & text_backend) {
    Vision v;
    const std::string & name = o.vision_backend;
    if (name.empty()) {  // the text backend itself: the soft tokens stay on the device
        auto e = g4::VisionBackendEncoder::load(m.vision_config, *m.vision_weights, text_backend);
        if (!e.ok()) return e.error();
        std::shared_ptr<const g4::VisionBackendEncoder> p = std::move(*e);
        v.keep = p;
        v.encode = [p](const gemma::media::ImagePatches & x) { return p->encode_on_backend(x); };
        v.what = "backend path on the text backend";
        return v;
    }
    // Another path: soft tokens come back to the host and are uploaded (as the scheduler does).
    auto up = [&text_backend](gemma::Result<gemma::Tensor> r) -> gemma::Result<gemma::Tensor> {
        if (!r.ok()) return r.error();
        return text_backend.upload(*r);
    };
    if (name == g4::kHostVisionPath) {
        auto e = g4::VisionEncoder::load(m.vision_config, *m.vision_weights);
        if (!e.ok()) return e.error();
        auto p = std::make_shared<const g4::VisionEncoder>(std::move(*e));
        v.keep = p;
        v.encode = [p, up](const gemma::media::ImagePatches & x) { return up(p->encode(x)); };
        v.what = "CPU path (fp32 OpenBLAS), uploaded";
        return v;
    }
    auto b = gemma::backend_create(name);
    if (!b.ok()) return b.error();
    auto e = g4::VisionBackendEncoder::load(m.vision_config, *m.vision_weights, std::move(*b));
    if (!e.ok()) return e.error();
    std::shared_ptr<const g4::VisionBackendEncoder> p = std::move(*e);
    v.keep = p;
    v.encode = [p, up](const gemma::media::ImagePatches & x) { return up(p->encode(x)); };
    v.what = "backend path on its own " + name + " backend, read back and uploaded";
    return v;
}

// The turn around the image: bos, 4 template tokens, boi, N image rows, eoi, `text` prompt tokens,
// 5 template tokens (random ids in place of the real template's).
int turn_length(int n_image, int n_text) { return 1 + 4 + 1 + n_image + 1 + n_text + 5; }

struct Turn {
    std::vector<int32_t> ids, block_ids;
    int image_row = 0;
};

Turn make_turn(const g4::Config & cfg, int n_image, int n_text, uint64_t seed) {
    const int32_t vocab = cfg.text.vocab_size;
    auto special = [vocab](int32_t id, int32_t fallback) {
        return id >= 0 && id < vocab ? id : fallback;
    };
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    auto rnd = [&] {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return int32_t(3 + (s >> 33) % uint64_t(std::max(1, vocab - 3)));
    };
    Turn t;
    t.ids.push_back(cfg.text.bos_token_id);
    for (int i = 0; i < 4; ++i) t.ids.push_back(rnd());
    t.ids.push_back(special(cfg.boi_token_id, 3));
    t.image_row = int(t.ids.size());
    t.ids.insert(t.ids.end(), size_t(n_image), special(cfg.image_token_id, 4));
    t.ids.push_back(special(cfg.eoi_token_id, 5));
    for (int i = 0; i < n_text + 5; ++i) t.ids.push_back(rnd());
    if (cfg.text.use_bidirectional_attention == "vision") {  // as build_mm_prompt marks it
        t.block_ids.assign(t.ids.size(), -1);
        std::fill_n(t.block_ids.begin() + t.image_row, n_image, 0);
    }
    return t;
}

// One image turn: preprocess, encode, prefill, greedy first token.
gemma::Result<Times> run_once(const ImageTurnOptions & o, g4::TextModel & m, const Vision & v,
                              const gemma::media::Image & img) {
    gemma::Backend & b = m.backend();
    Times t;
    auto t0 = Clock::now();
    gemma::media::ImageOptions io;
    io.max_soft_tokens = o.budget;
    auto patches = gemma::media::image_preprocess(img, io);
    if (!patches.ok()) return patches.error();
    t.preprocess = ms_since(t0);
    auto t1 = Clock::now();
    auto soft = v.encode(*patches);
    if (!soft.ok()) return soft.error();
    GEMMA_TRY(b.synchronize());  // so the encode's device time is not billed to the prefill
    t.encode = ms_since(t1);
    Turn turn = make_turn(m.config(), int(soft->dim(0)), o.text, o.seed);
    auto kv = m.make_kv_cache(int(turn.ids.size()) + 8, 0, o.kv_cache);  // untimed
    if (!kv.ok()) return kv.error();
    auto t2 = Clock::now();
    const g4::EmbedOverride rows[] = {{turn.image_row, *soft}};
    auto logits = m.forward({turn.ids, turn.block_ids, false, rows}, *kv);
    if (!logits.ok()) return logits.error();
    auto l = g4::read_f32(b, *logits);
    if (!l.ok()) return l.error();
    t.token = int32_t(std::max_element(l->begin(), l->end()) - l->begin());  // greedy
    t.prefill = ms_since(t2);
    t.total = t.preprocess + t.encode + t.prefill;  // the cache allocation stays untimed
    return t;
}

void print_stat(const char * what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const double median =
        v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    std::printf("  %-11s best %9.2f ms  median %9.2f ms\n", what, v.front(), median);
}

}  // namespace

int cmd_bench_image(int argc, char ** argv) {
    ImageTurnOptions o;
    std::string bad = parse(argc, argv, o);
    if (!bad.empty()) return usage(bad);
    auto backend = gemma::backend_create(o.backend);
    if (!backend.ok()) return usage(backend.error().message);
    auto t_build = Clock::now();
    const gemma::media::Image img = bench_test_image(o.width, o.height);
    gemma::media::ImageOptions io;
    io.max_soft_tokens = o.budget;
    auto probe = gemma::media::image_preprocess(img, io);
    if (!probe.ok()) return usage(probe.error().message);
    const int n_image = probe->grid.n_soft_tokens();
    const int n_prompt = turn_length(n_image, o.text);
    auto models = build(o, **backend, n_prompt);
    if (!models.ok()) {
        std::fprintf(stderr, "gemdesk-cli bench --image: cannot build the models: %s\n",
                     models.error().message.c_str());
        return 1;
    }
    auto vision = make_vision(o, *models, **backend);
    if (!vision.ok()) {
        std::fprintf(stderr, "gemdesk-cli bench --image: cannot load the vision tower: %s\n",
                     vision.error().message.c_str());
        return 1;
    }
    std::printf("bench --image: model %s, backend %s (%s), built in %.1f s\n",
                o.model_dir.empty() ? ("synthetic " + o.synthetic).c_str() : o.model_dir.c_str(),
                (*backend)->info().name.c_str(), (*backend)->info().description.c_str(),
                ms_since(t_build) / 1000.0);
    std::printf(
        "bench --image: %dx%d image at budget %d -> %d soft tokens (%d patches); "
        "vision %s; turn of %d tokens; %d warm-up run(s), %d timed\n",
        o.width, o.height, o.budget, n_image, probe->grid.n_patches(), vision->what.c_str(),
        n_prompt, o.warmup, o.reps);
    std::vector<Times> runs;
    for (int r = 0; r < o.warmup + o.reps; ++r) {
        auto t = run_once(o, *models->text, *vision, img);
        if (!t.ok()) {
            std::fprintf(stderr, "gemdesk-cli bench --image: run failed: %s\n",
                         t.error().message.c_str());
            return 1;
        }
        if (r >= o.warmup) runs.push_back(*t);
    }
    std::vector<double> pre, enc, fill, total;
    for (const Times & t : runs) {
        pre.push_back(t.preprocess);
        enc.push_back(t.encode);
        fill.push_back(t.prefill);
        total.push_back(t.total);
    }
    std::printf("image -> first token (token %d):\n", runs.back().token);
    print_stat("preprocess", pre);
    print_stat("encode", enc);
    print_stat("prefill+tok", fill);
    print_stat("total", total);
    return 0;
}

}  // namespace gemdesk::cli
