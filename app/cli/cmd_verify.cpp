// gemdesk-cli verify: runs the model on every case of a golden file (fixtures README schema), or
// those named by --cases, and compares with the reference: one line per case (relative error
// ||out-ref||/||ref||, PASS/FAIL or SKIP with the reason), then `verify: N passed, M failed`.
// Exit 0 all passed, 1 any failure, 2 bad usage or a model/golden that cannot be loaded.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.h"
#include "common/args.h"
#include "core/registry.h"
#include "io/tensor_source.h"
#include "model/gemma4/embedder_cases.h"
#include "model/gemma4/mm_prompt.h"
#include "model/gemma4/text.h"

namespace {
// This process's own peak resident set (VmHWM, KiB), or -1. VmHWM belongs to the address space
// created at exec, so unlike a parent's RUSAGE_CHILDREN it excludes the launcher's memory.
long peak_rss_kib() {
    std::FILE * f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return -1;
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    }
    std::fclose(f);
    return kib;
}
}  // namespace

namespace gemdesk::cli {
namespace {

using gemma::Result;
using gemma::Tensor;
using Floats = std::vector<float>;

struct Ctx {
    std::unique_ptr<gemma::Backend> backend;
    std::unique_ptr<gemma::gemma4::TextModel> model;
    const gemma::io::TensorSource * golden = nullptr;
    std::map<std::string, Floats> text_taps;  // filled by the first text.* case
    std::string model_dir;
    // image.* / audio.* producers; the audio tower runs with AudioMaskMode::hf_eager, the mask the
    // fixture's reference used (see MediaCaseOptions), never the engine default elsewhere.
    std::unique_ptr<gemma::gemma4::MediaCases> media;
    std::map<std::string, Tensor> media_out;  // soft tokens, shared by the image/audio/mm cases
};

std::vector<int32_t> golden_ids(const Ctx & ctx, const std::string & name) {
    auto t = ctx.golden->get(name);
    if (!t.ok() || t->dtype != gemma::DType::i32) return {};
    return std::vector<int32_t>(t->ptr<int32_t>(), t->ptr<int32_t>() + t->numel());
}

Result<Floats> missing_input(const std::string & name) {
    return gemma::make_error(gemma::ErrorCode::not_found,
                             "input '" + name + "' (i32) is missing from the golden file");
}

// One prefill over `ids` returning all logits; taps collect intermediates when given.
Result<Floats> prefill_all(Ctx & ctx, const std::vector<int32_t> & ids,
                           gemma::gemma4::DebugTap * tap) {
    auto kv = ctx.model->make_kv_cache(int(ids.size()), int(ids.size()));
    if (!kv.ok()) return kv.error();
    auto logits = ctx.model->forward({ids, {}, true}, *kv, tap);
    if (!logits.ok()) return logits.error();
    return gemma::gemma4::read_f32(ctx.model->backend(), *logits);
}

// text.logits and text.hidden.<i>: one full-sequence forward over text.input_ids, tapped.
Result<Floats> run_text(Ctx & ctx, const std::string & name) {
    if (ctx.text_taps.empty()) {
        std::vector<int32_t> ids = golden_ids(ctx, "text.input_ids");
        if (ids.empty()) return missing_input("text.input_ids");
        gemma::gemma4::DebugTap tap = [&](const std::string & n, const Tensor & t) {
            auto v = gemma::gemma4::read_f32(ctx.model->backend(), t);
            if (v.ok()) ctx.text_taps[n] = std::move(*v);
        };
        auto logits = prefill_all(ctx, ids, &tap);
        if (!logits.ok()) return logits.error();
        ctx.text_taps["text.logits"] = std::move(*logits);
    }
    auto it = ctx.text_taps.find(name);
    if (it == ctx.text_taps.end())
        return gemma::make_error(gemma::ErrorCode::not_found,
                                 "the model produced no '" + name + "'");
    return it->second;
}

// decode.forced_logits / decode.logits: prefill text.input_ids, then feed the tokens one at a
// time; row 0 = logits at the prompt's last position, row i = after token i-1.
Result<Floats> run_decode(Ctx & ctx, const std::string & name) {
    std::vector<int32_t> ids = golden_ids(ctx, "text.input_ids");
    std::string tokens_name =
        name == "decode.forced_logits" ? "decode.forced_tokens" : "decode.tokens";
    std::vector<int32_t> tokens = golden_ids(ctx, tokens_name);
    if (ids.empty()) return missing_input("text.input_ids");
    if (tokens.empty()) return missing_input(tokens_name);
    auto ref = ctx.golden->get(name);
    if (!ref.ok()) return ref.error();
    size_t rows = size_t(ref->dim(0));
    auto & model = *ctx.model;
    auto kv = model.make_kv_cache(int(ids.size() + tokens.size()), int(ids.size()));
    if (!kv.ok()) return kv.error();
    Floats out;
    auto logits = model.forward({ids, {}, false}, *kv);
    for (size_t row = 0; row < rows; ++row) {
        if (row > 0 && row <= tokens.size())
            logits = model.forward({std::span<const int32_t>(&tokens[row - 1], 1), {}, false}, *kv);
        if (!logits.ok()) return logits.error();
        auto v = gemma::gemma4::read_f32(model.backend(), *logits);
        if (!v.ok()) return v.error();
        out.insert(out.end(), v->begin(), v->end());
    }
    return out;
}

Result<Floats> run_chat(Ctx & ctx, const std::string &) {
    std::vector<int32_t> ids = golden_ids(ctx, "chat.input_ids");
    if (ids.empty()) return missing_input("chat.input_ids");
    return prefill_all(ctx, ids, nullptr);
}

Floats tensor_floats(const Tensor & t) {
    Floats v(size_t(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i)
        v[size_t(i)] =
            t.dtype == gemma::DType::i32 ? float(t.ptr<int32_t>()[i]) : t.ptr<float>()[i];
    return v;
}

// The MediaCases output `name` (computed once per run).
Result<Tensor> media_tensor(Ctx & ctx, const std::string & name) {
    auto it = ctx.media_out.find(name);
    if (it != ctx.media_out.end()) return it->second;
    if (!ctx.media) {
        auto m = gemma::gemma4::MediaCases::open(ctx.model_dir);
        if (!m.ok()) return m.error();
        ctx.media = std::move(*m);
    }
    auto t = ctx.media->run(name);
    if (!t.ok()) return t.error();
    ctx.media_out[name] = *t;
    return *t;
}

// image.* / audio.*: the processors and towers on the fixture's image.png and audio.wav.
Result<Floats> run_media(Ctx & ctx, const std::string & name) {
    auto t = media_tensor(ctx, name);
    if (!t.ok()) return t.error();
    return tensor_floats(*t);
}

// mm.logits / mm_image.logits: the encoders' soft tokens scattered onto the placeholder runs of
// <prefix>.input_ids (already expanded with BOI/EOI, BOA/EOA), block ids for the bidirectional
// vision overlay when the config asks for it, one full-sequence forward with all logits.
Result<Floats> run_mm(Ctx & ctx, const std::string & name) {
    const std::string prefix = name.substr(0, name.find('.'));
    std::vector<int32_t> ids = golden_ids(ctx, prefix + ".input_ids");
    if (ids.empty()) return missing_input(prefix + ".input_ids");
    const auto & cfg = ctx.model->config();
    auto tok = gemma::gemma4::MmTokenIds::from_config(cfg);
    std::vector<gemma::gemma4::MediaEmbeds> media;
    for (auto [kind, id, golden] :
         {std::tuple{gemma::gemma4::MediaKind::image, tok.image, "image.soft_tokens"},
          std::tuple{gemma::gemma4::MediaKind::audio, tok.audio, "audio.soft_tokens"}}) {
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) continue;
        auto soft = media_tensor(ctx, golden);
        if (!soft.ok()) return soft.error();
        media.push_back({kind, {*soft}, {}});
    }
    auto prompt = gemma::gemma4::attach_mm_embeds(ids, media, cfg);
    if (!prompt.ok()) return prompt.error();
    auto chunk = gemma::gemma4::mm_prompt_chunk(*prompt, 0, int(ids.size()), ctx.backend.get());
    if (!chunk.ok()) return chunk.error();
    auto kv = ctx.model->make_kv_cache(int(ids.size()), int(ids.size()));
    if (!kv.ok()) return kv.error();
    auto logits = ctx.model->forward(chunk->input(true), *kv);
    if (!logits.ok()) return logits.error();
    return gemma::gemma4::read_f32(ctx.model->backend(), *logits);
}

// The case table: golden outputs by name prefix, how to produce them, or why they are skipped.
// Inputs (ids, pixel values, features) are not cases. Add a row to verify a new output.
struct CaseKind {
    const char * prefix;
    std::function<Result<Floats>(Ctx &, const std::string &)> run;  // null = skipped
    const char * skip_reason;
    const char * note = nullptr;  // printed after the result
};

// The fixture's audio soft tokens come from transformers' eager attention, whose audio mask is
// inverted (AudioMaskMode::hf_eager); verify reproduces that, the engine default stays sliding.
constexpr const char * kHfEagerNote = "audio mask: hf_eager, as the fixture's reference";

const std::vector<CaseKind> & case_kinds() {
    static const std::vector<CaseKind> kinds = {
        {"text.logits", run_text, nullptr},
        {"text.hidden.", run_text, nullptr},
        {"decode.forced_logits", run_decode, nullptr},
        {"decode.logits", run_decode, nullptr},
        {"chat.logits", run_chat, nullptr},
        {"image.", run_media, nullptr},
        {"audio.soft_tokens", run_media, nullptr, kHfEagerNote},
        {"audio.", run_media, nullptr},
        {"mm.input_ids", nullptr, nullptr},  // inputs
        {"mm_image.input_ids", nullptr, nullptr},
        {"mm.logits", run_mm, nullptr, kHfEagerNote},
        {"mm_image.logits", run_mm, nullptr},
    };
    return kinds;
}

const CaseKind * find_kind(const std::string & name) {
    for (const CaseKind & k : case_kinds())
        if (name.rfind(k.prefix, 0) == 0) return &k;
    return nullptr;
}

double rel_error(const Floats & out, const Floats & ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        double r = ref[i], d = double(out[i]) - r;
        num += d * d;
        den += r * r;
    }
    return std::sqrt(num / (den > 0 ? den : 1.0));
}

// Runs one case; prints its line; returns true when it passed. Integer goldens (positions,
// masks) must match exactly; float ones within tol.
bool run_case(Ctx & ctx, const CaseKind & kind, const std::string & name, double tol) {
    auto ref = ctx.golden->get(name);
    auto out = kind.run(ctx, name);
    if (!out.ok()) {
        std::printf("%-24s FAIL  (%s)\n", name.c_str(), out.error().message.c_str());
        return false;
    }
    const bool is_int = ref.ok() && ref->dtype == gemma::DType::i32;
    if (!ref.ok() || (ref->dtype != gemma::DType::f32 && !is_int) ||
        size_t(ref->numel()) != out->size()) {
        std::printf("%-24s FAIL  (produced %zu values, golden has %lld)\n", name.c_str(),
                    out->size(), ref.ok() ? (long long)ref->numel() : -1LL);
        return false;
    }
    double err = rel_error(*out, tensor_floats(*ref));
    bool pass = std::isfinite(err) && err <= (is_int ? 0.0 : tol);
    std::printf("%-24s %.3e  %s%s%s%s\n", name.c_str(), err, pass ? "PASS" : "FAIL",
                kind.note ? "  (" : "", kind.note ? kind.note : "", kind.note ? ")" : "");
    return pass;
}

int usage(const std::string & msg) {
    std::fprintf(stderr,
                 "gemdesk-cli verify: %s\nusage: gemdesk-cli verify --model DIR --golden FILE "
                 "[--backend NAME] [--tolerance T] [--cases PREFIX[,PREFIX...]]\n"
                 "       [--weights bf16|q8_0|q4_0]\n"
                 "  --weights  quantize the text decoder's matrices while loading (expect larger\n"
                 "             errors than --tolerance's fp32 default: see docs/perf.md)\n"
                 "  --cases  run only the golden outputs whose names start with a PREFIX, e.g. "
                 "text.,decode.\n",
                 msg.c_str());
    return 2;
}

// --cases "text.,decode." -> {"text.", "decode."}; empty when not given (every case runs).
std::vector<std::string> split_prefixes(const std::string & list) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at <= list.size()) {
        size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) out.push_back(list.substr(at, comma - at));
        at = comma + 1;
    }
    return out;
}

bool selected(const std::vector<std::string> & prefixes, const std::string & name) {
    if (prefixes.empty()) return true;
    for (const std::string & p : prefixes)
        if (name.rfind(p, 0) == 0) return true;
    return false;
}

}  // namespace

int cmd_verify(int argc, char ** argv) {
    Args args(argc, argv, {});
    std::string unknown =
        args.check_known({"model", "golden", "backend", "tolerance", "cases", "weights"});
    if (!unknown.empty()) return usage(unknown);
    const std::vector<std::string> cases = split_prefixes(args.get("cases"));
    if (args.has("cases") && cases.empty())
        return usage("--cases needs one or more name prefixes, e.g. --cases text.,decode.");
    double tol =
        args.get_double("tolerance", 1e-4);  // fp32 compute vs fp32 reference (fixtures README)
    if (!args.error().empty()) return usage(args.error());
    if (!args.has("model") || !args.has("golden"))
        return usage("--model and --golden are required");
    Ctx ctx;
    auto backend = gemma::backend_create(args.get("backend", "cpu-ref"));
    if (!backend.ok()) return usage(backend.error().message);
    ctx.backend = std::move(*backend);
    auto golden = gemma::io::open_safetensors(args.get("golden"));
    if (!golden.ok()) return usage("cannot read the golden file: " + golden.error().message);
    ctx.golden = golden->get();
    ctx.model_dir = args.get("model");
    int64_t max_len = 64;
    for (const char * in :
         {"text.input_ids", "chat.input_ids", "mm.input_ids", "mm_image.input_ids"}) {
        const gemma::io::TensorInfo * info = ctx.golden->find_or_null(in);
        if (info && !info->shape.empty()) max_len = std::max(max_len, info->shape[0]);
    }
    int batch = int(std::min<int64_t>(max_len, 8192));
    gemma::gemma4::TextModelOptions mo{batch, batch};
    if (args.has("weights")) {
        auto w = gemma::gemma4::parse_weight_type(args.get("weights"));
        if (!w.ok()) return usage(w.error().message);
        mo.weights = *w;
    }
    auto model = gemma::gemma4::load_text_model(args.get("model"), *ctx.backend, mo);
    if (!model.ok()) return usage("cannot load the model: " + model.error().message);
    ctx.model = std::move(*model);
    int passed = 0, failed = 0;
    for (const std::string & name : ctx.golden->names()) {
        const CaseKind * kind = find_kind(name);
        if (kind == nullptr || (!kind->run && !kind->skip_reason)) continue;  // an input
        if (!selected(cases, name)) continue;
        if (!kind->run) {
            std::printf("%-24s SKIP  (%s)\n", name.c_str(), kind->skip_reason);
            continue;
        }
        (run_case(ctx, *kind, name, tol) ? passed : failed)++;
    }
    if (passed + failed == 0)
        std::printf("no verifiable case%s%s in %s\n", cases.empty() ? "" : " matching --cases ",
                    args.get("cases").c_str(), args.get("golden").c_str());
    long hwm_kib = peak_rss_kib();
    if (hwm_kib >= 0) std::printf("peak RSS: %ld KiB\n", hwm_kib);
    std::printf("verify: %d passed, %d failed\n", passed, failed);
    return (failed == 0 && passed > 0) ? 0 : 1;
}

}  // namespace gemdesk::cli
