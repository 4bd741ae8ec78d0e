// Shared run/chat option parsing and engine loading for gemdesk-cli.
#include "cli/generate_opts.h"

#include <cstdio>
#include <utility>

#include "core/kv_quant.h"
#include "media/image_processor.h"

namespace gemdesk::cli {

std::vector<std::string> generate_option_names() {
    return {"model",   "backend",  "ctx",      "max-tokens",    "temperature", "top-p",
            "top-k",   "seed",     "image",    "audio",         "video",       "image-budget",
            "weights", "kv-cache", "ple-host", "vision-backend"};
}

gemma::Result<std::vector<gemma::runtime::MediaInput>> load_media_options(const Args & args) {
    using gemma::gemma4::MediaKind;
    std::vector<gemma::runtime::MediaInput> out;
    for (auto [name, kind] :
         {std::pair{"image", MediaKind::image}, std::pair{"audio", MediaKind::audio},
          std::pair{"video", MediaKind::video}}) {
        if (!args.has(name)) continue;
        auto m = gemma::runtime::media_input_load(kind, args.get(name));
        if (!m.ok()) return m.error();
        out.push_back(std::move(*m));
    }
    return out;
}

gemma::chat::ChatMessage user_message(const std::string & text,
                                      const std::vector<gemma::runtime::MediaInput> & media) {
    if (media.empty()) return text_message("user", text);
    gemma::chat::ChatMessage m;
    m.role = "user";
    m.content.kind = gemma::chat::MessageContent::Kind::parts;
    for (const auto & item : media)
        m.content.parts.push_back({gemma::gemma4::media_kind_name(item.kind), ""});
    m.content.parts.push_back({"text", text});
    return m;
}

gemma::Result<GenerateOptions> parse_generate_options(const Args & args) {
    GenerateOptions o;
    o.engine.backend = args.get("backend", "cpu");  // the fast CPU backend (README)
    if (args.has("weights")) {
        auto w = gemma::gemma4::parse_weight_type(args.get("weights"));
        if (!w.ok()) return w.error();
        o.engine.weights = *w;
    }
    o.engine.n_ctx = int(args.get_int("ctx", 8192));
    o.engine.max_seqs = 1;
    o.max_tokens = int(args.get_int("max-tokens", -1));
    o.image_budget = int(args.get_int("image-budget", 0));
    o.sampling.temperature = float(args.get_double("temperature", 1.0));
    o.sampling.top_p = float(args.get_double("top-p", 0.95));
    o.sampling.top_k = int(args.get_int("top-k", 64));
    if (args.has("seed")) {
        o.sampling.has_seed = true;
        o.sampling.seed = uint64_t(args.get_int("seed", 0));
    }
    if (!args.error().empty())
        return gemma::make_error(gemma::ErrorCode::invalid_argument, args.error());
    if (o.engine.n_ctx <= 0 || o.max_tokens < -1)
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "--ctx must be positive and --max-tokens >= 0");
    auto kv = gemma::kv_cache_dtype_parse(args.get("kv-cache", "f32"));
    if (!kv.ok()) return gemma::make_error(kv.error().code, "--kv-cache: " + kv.error().message);
    o.engine.kv_cache = *kv;
    o.engine.ple_on_host = args.has("ple-host");
    o.engine.vision_backend = args.get("vision-backend", "auto");  // auto | host | a backend
    if (o.image_budget != 0 && !gemma::media::image_budget_is_valid(o.image_budget))
        return gemma::make_error(gemma::ErrorCode::invalid_argument,
                                 "--image-budget must be 70, 140, 280, 560 or 1120");
    GEMMA_TRY(gemma::runtime::sampling_params_check(o.sampling, 1 << 30));
    return o;
}

std::unique_ptr<gemma::runtime::ChatEngine> load_chat_engine(const std::string & dir,
                                                             const GenerateOptions & o,
                                                             bool quiet) {
    gemma::runtime::LoadProgressFn progress;
    if (!quiet)
        progress = [](const gemma::runtime::LoadProgress & p) {
            std::fprintf(stderr, "\rloading: %-10s %3d%%", p.stage.c_str(), int(p.fraction * 100));
            if (p.fraction >= 1.0) std::fprintf(stderr, "\n");
            return true;
        };
    auto e = gemma::runtime::ChatEngine::load(dir, o.engine, progress);
    if (!e.ok()) {
        std::fprintf(stderr, "cannot load model '%s': %s\n", dir.c_str(),
                     e.error().message.c_str());
        return nullptr;
    }
    return std::move(*e);
}

gemma::runtime::ChatGenerateRequest make_chat_request(const GenerateOptions & o) {
    gemma::runtime::ChatGenerateRequest r;
    r.sampling = o.sampling;
    r.max_tokens = o.max_tokens;
    r.image_budget = o.image_budget;
    return r;
}

gemma::chat::ChatMessage text_message(const std::string & role, const std::string & text) {
    gemma::chat::ChatMessage m;
    m.role = role;
    m.content.kind = gemma::chat::MessageContent::Kind::text;
    m.content.text = text;
    return m;
}

}  // namespace gemdesk::cli
