// processor_config.json -> ProcessorConfig, refusing settings the front ends do not implement.
#include "media/processor_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "media/image_processor.h"
#include "io/json_read.h"

namespace gemma::media {
namespace {

using json = nlohmann::json;

const json & section(const json & j, const char * name) {
    return j.contains(name) && j[name].is_object() ? j[name] : j;
}

// Settings that would change the features and are not implemented: refuse rather than drift.
std::string unsupported_audio(const json & f) {
    auto is_nonzero = [&](const char * k) {
        return f.contains(k) && f[k].is_number() && f[k].get<double>() != 0.0;
    };
    if (is_nonzero("preemphasis")) return "preemphasis";
    if (is_nonzero("dither")) return "dither";
    if (f.contains("fft_overdrive") && f["fft_overdrive"].is_boolean() &&
        f["fft_overdrive"].get<bool>())
        return "fft_overdrive";
    if (f.contains("input_scale_factor") && f["input_scale_factor"].is_number() &&
        f["input_scale_factor"].get<double>() != 1.0)
        return "input_scale_factor";
    for (const char * k : {"per_bin_mean", "per_bin_stddev"}) {
        if (f.contains(k) && !f[k].is_null()) return k;
    }
    return "";
}

}  // namespace

Result<ProcessorConfig> parse_processor_config(const std::string & text,
                                               const std::string & origin) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return make_error(ErrorCode::corrupt_file,
                          format("%s is not a JSON object", origin.c_str()));
    }
    ProcessorConfig c;
    std::string err;
    const json & img = section(j, "image_processor");
    io::json_read_key(img, "max_soft_tokens", c.image_max_soft_tokens, err);
    io::json_read_key(img, "rescale_factor", c.image_rescale_factor, err);
    const json & f = section(j, "feature_extractor");
    AudioFeatureOptions & a = c.audio;
    io::json_read_key(f, "sampling_rate", a.sampling_rate, err);
    io::json_read_key(f, "feature_size", a.n_mel, err);
    io::json_read_key(f, "frame_length", a.frame_length, err);
    io::json_read_key(f, "hop_length", a.hop_length, err);
    io::json_read_key(f, "fft_length", a.fft_length, err);
    io::json_read_key(f, "min_frequency", a.min_frequency, err);
    io::json_read_key(f, "max_frequency", a.max_frequency, err);
    io::json_read_key(f, "mel_floor", a.mel_floor, err);
    if (!err.empty()) return make_error(ErrorCode::corrupt_file, origin + ": " + err);
    if (!image_budget_is_valid(c.image_max_soft_tokens)) {
        return make_error(
            ErrorCode::unsupported,
            format("%s: image max_soft_tokens %d is not one of 70, 140, 280, 560, 1120",
                   origin.c_str(), c.image_max_soft_tokens));
    }
    if (std::string k = unsupported_audio(f); !k.empty()) {
        return make_error(ErrorCode::unsupported,
                          format("%s: feature_extractor.%s is set, which this engine does not "
                                 "implement (Gemma 4 leaves it off)",
                                 origin.c_str(), k.c_str()));
    }
    return c;
}

Result<ProcessorConfig> load_processor_config(const std::string & path) {
    std::string file = path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        file = (std::filesystem::path(path) / "processor_config.json").string();
    std::ifstream in(file);
    if (!in) {
        return make_error(
            ErrorCode::not_found,
            format("no processor_config.json at '%s'; image budget and audio features "
                   "fall back to Gemma 4 defaults",
                   file.c_str()));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_processor_config(ss.str(), file);
}

}  // namespace gemma::media
