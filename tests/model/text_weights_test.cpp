// Weight binding: zero-copy views of the mapped checkpoint, shape errors that name the tensor and
// both shapes, redundant k/v tensors on KV-shared layers accepted and ignored, parameter counts
// of the E4B preset against the spec's table, synthetic models, and bad forward inputs.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace text_test;
namespace fs = std::filesystem;

namespace {

class TempDir {
public:
    TempDir()
        : path_(fs::temp_directory_path() /
                ("gemma_w_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++))) {
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    fs::path path_;
    static inline int counter_ = 0;
};

std::string read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Writes tensors (host, bf16) as a safetensors file.
void write_safetensors(const fs::path & path,
                       const std::vector<std::pair<std::string, Tensor>> & tensors) {
    std::string header = "{", data;
    for (const auto & [name, t] : tensors) {
        std::string shape;
        for (int64_t d : t.shape) shape += (shape.empty() ? "" : ",") + std::to_string(d);
        size_t begin = data.size();
        data.append(static_cast<const char *>(t.data), t.nbytes());
        header += (header.size() > 1 ? "," : "") + std::string("\"") + name +
                  "\":{\"dtype\":\"BF16\",\"shape\":[" + shape + "],\"data_offsets\":[" +
                  std::to_string(begin) + "," + std::to_string(data.size()) + "]}";
    }
    header += "}";
    while ((header.size() + 8) % 8) header += ' ';
    std::ofstream out(path, std::ios::binary);
    uint64_t n = header.size();
    out.write(reinterpret_cast<const char *>(&n), 8);
    out << header << data;
}

std::unique_ptr<Backend> cpu_ref() { return backend_create("cpu-ref").value(); }

}  // namespace

TEST(TextWeights, ViewsIntoTheMappedFile) {
    auto backend = cpu_ref();
    auto m = load_text_model(kTiny, *backend);
    ASSERT_TRUE(m.ok()) << m.error().message;
    // Find the mapping of model.safetensors in /proc/self/maps; every weight must point into it.
    std::istringstream maps(read_file("/proc/self/maps"));
    std::string line;
    uintptr_t lo = 0, hi = 0;
    while (std::getline(maps, line)) {
        if (line.find("tiny-gemma4/model.safetensors") == std::string::npos) continue;
        unsigned long a = 0, b = 0;
        std::sscanf(line.c_str(), "%lx-%lx", &a, &b);
        lo = lo == 0 ? a : std::min<uintptr_t>(lo, a);
        hi = std::max<uintptr_t>(hi, b);
    }
    ASSERT_NE(lo, 0u) << "model.safetensors is not mapped";
    TextWeights w = (*m)->weights();
    for (const WeightSpec & spec :
         text_weight_specs((*m)->config().text, (*m)->config().weight_prefix, w)) {
        uintptr_t p = reinterpret_cast<uintptr_t>(spec.slot->data);
        EXPECT_TRUE(p >= lo && p + spec.slot->nbytes() <= hi) << spec.name << " was copied";
    }
}

TEST(TextWeights, ShapeMismatchNamesTensorAndShapes) {
    TempDir dir;
    std::string cfg = read_file(kTiny + "/config.json");
    size_t at = cfg.find("\"intermediate_size\": 128");
    ASSERT_NE(at, std::string::npos);
    cfg.replace(at, 24, "\"intermediate_size\": 130");
    std::ofstream(dir.path_ / "config.json") << cfg;
    fs::create_symlink(fs::absolute(kTiny + "/model.safetensors"), dir.path_ / "model.safetensors");
    auto backend = cpu_ref();
    auto m = load_text_model(dir.path_.string(), *backend);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::corrupt_file);
    const std::string & msg = m.error().message;
    EXPECT_NE(msg.find("model.language_model.layers.0.mlp.gate_proj.weight"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("[128, 64]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[130, 64]"), std::string::npos) << msg;
}

TEST(TextWeights, MissingTensorNamed) {
    TempDir dir;
    fs::copy_file(kTiny + "/config.json", dir.path_ / "config.json");
    auto src = io::open_safetensors(kTiny);
    ASSERT_TRUE(src.ok());
    std::vector<std::pair<std::string, Tensor>> kept;
    for (const std::string & n : (*src)->names())
        if (n != "model.language_model.layers.3.layer_scalar") kept.push_back({n, *(*src)->get(n)});
    write_safetensors(dir.path_ / "model.safetensors", kept);
    auto backend = cpu_ref();
    auto m = load_text_model(dir.path_.string(), *backend);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::not_found);
    EXPECT_NE(m.error().message.find("layers.3.layer_scalar"), std::string::npos)
        << m.error().message;
}

// Google's original files ship k_proj/v_proj/k_norm for shared layers too (spec §6.6): accepted,
// ignored, and the logits still match the golden.
TEST(TextWeights, RedundantSharedKvTensorsIgnored) {
    TempDir dir;
    fs::copy_file(kTiny + "/config.json", dir.path_ / "config.json");
    auto src = io::open_safetensors(kTiny);
    ASSERT_TRUE(src.ok());
    std::vector<std::pair<std::string, Tensor>> all;
    for (const std::string & n : (*src)->names()) all.push_back({n, *(*src)->get(n)});
    const std::string p = "model.language_model.layers.";
    for (auto [shared, donor] : {std::pair{4, 3}, std::pair{5, 2}})
        for (const char * t :
             {"self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.k_norm.weight"})
            all.push_back({p + std::to_string(shared) + "." + t,
                           *(*src)->get(p + std::to_string(donor) + "." + t)});
    write_safetensors(dir.path_ / "model.safetensors", all);
    auto backend = cpu_ref();
    auto m = load_text_model(dir.path_.string(), *backend, {64, 64});
    ASSERT_TRUE(m.ok()) << m.error().message;
    Golden g = open_golden(kTiny);
    std::vector<int32_t> ids = g.ids("text.input_ids");
    auto kv = (*m)->make_kv_cache(64);
    auto logits = (*m)->forward({ids, {}, true}, *kv);
    ASSERT_TRUE(logits.ok()) << logits.error().message;
    std::vector<float> out = *read_f32(*backend, *logits);
    EXPECT_LT(rel_error(out, g.get("text.logits").ptr<float>(), out.size()), kTol);
}

// Spec §10.2: E4B text decoder has 7,463,013,418 unique parameters.
TEST(TextWeights, E4bPresetParameterCountMatchesSpec) {
    auto cfg = preset_config("e4b");
    ASSERT_TRUE(cfg.ok());
    TextWeights w;
    int64_t total = 0;
    for (const WeightSpec & s : text_weight_specs(cfg->text, cfg->weight_prefix, w))
        total += shape_numel(s.shape);
    EXPECT_EQ(total, 7463013418LL);
}

TEST(TextSynthetic, TinyPresetRunsAndIsDeterministic) {
    auto cfg = preset_config("tiny");
    ASSERT_TRUE(cfg.ok());
    auto backend = cpu_ref();
    std::vector<int32_t> ids = {2, 17, 99, 300, 5};
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
        auto m = make_synthetic_text_model(*cfg, *backend, 7);
        ASSERT_TRUE(m.ok()) << m.error().message;
        auto kv = (*m)->make_kv_cache(16);
        auto logits = (*m)->forward({ids, {}, false}, *kv);
        ASSERT_TRUE(logits.ok()) << logits.error().message;
        std::vector<float> out = *read_f32(*backend, *logits);
        ASSERT_EQ(out.size(), 512u);
        for (float v : out) ASSERT_TRUE(std::isfinite(v) && std::fabs(v) < 30.0f);  // soft cap 30
        if (run == 0)
            first = out;
        else
            EXPECT_EQ(out, first);
    }
}

TEST(TextForward, BadInputsAreErrors) {
    auto backend = cpu_ref();
    auto m = load_text_model(kTiny, *backend, {4, 1});
    ASSERT_TRUE(m.ok());
    auto kv = (*m)->make_kv_cache(6);
    ASSERT_TRUE(kv.ok());
    std::vector<int32_t> bad_id = {2, 512};
    auto r1 = (*m)->forward({bad_id, {}, false}, *kv);
    ASSERT_FALSE(r1.ok());
    EXPECT_NE(r1.error().message.find("512"), std::string::npos) << r1.error().message;
    std::vector<int32_t> too_many = {2, 3, 4, 5, 6};
    EXPECT_EQ((*m)->forward({too_many, {}, false}, *kv).error().code, ErrorCode::invalid_argument);
    EXPECT_EQ((*m)->forward({{}, {}, false}, *kv).error().code, ErrorCode::invalid_argument);
    std::vector<int32_t> four = {2, 3, 4, 5};
    EXPECT_EQ((*m)->forward({four, {}, true}, *kv).error().code,
              ErrorCode::invalid_argument);  // max_logit_rows 1
    ASSERT_TRUE((*m)->forward({four, {}, false}, *kv).ok());
    auto full = (*m)->forward({four, {}, false}, *kv);  // 4 + 4 > 6
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().code, ErrorCode::context_full);
    EXPECT_EQ(kv->n_past, 4);
}

// Soft-token rows: overriding rows with the scaled pad embedding is the same as feeding pad ids
// there (both lookups use the pad row, spec §5.4), so the logits must be identical.
TEST(TextForward, EmbedOverrideMatchesPadTokens) {
    auto backend = cpu_ref();
    auto m = load_text_model(kTiny, *backend, {8, 8});
    ASSERT_TRUE(m.ok());
    std::vector<int32_t> ids = {2, 40, 41, 42, 43, 7};
    std::vector<int32_t> padded = {2, 40, 0, 0, 43, 7};
    Tensor pad_row = tensor_host(DType::f32, {2, 64});
    Tensor embed = (*m)->weights().embed;
    for (int r = 0; r < 2; ++r)
        for (int j = 0; j < 64; ++j)  // f32 compute: scale sqrt(64) = 8 exactly
            pad_row.ptr<float>()[r * 64 + j] = bf16_to_f32(embed.ptr<uint16_t>()[j]) * 8.0f;
    EmbedOverride ov{2, pad_row};
    auto kv1 = (*m)->make_kv_cache(8);
    auto a = (*m)->forward({ids, {}, true, std::span<const EmbedOverride>(&ov, 1)}, *kv1);
    ASSERT_TRUE(a.ok()) << a.error().message;
    std::vector<float> with_override = *read_f32(*backend, *a);
    auto kv2 = (*m)->make_kv_cache(8);
    auto b = (*m)->forward({padded, {}, true}, *kv2);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(with_override, *read_f32(*backend, *b));
    EmbedOverride bad{5, pad_row};  // rows 5..6 of a 6-token chunk
    auto kv3 = (*m)->make_kv_cache(8);
    EXPECT_EQ(
        (*m)->forward({ids, {}, false, std::span<const EmbedOverride>(&bad, 1)}, *kv3).error().code,
        ErrorCode::invalid_argument);
}
