// Helpers for the vision backend-path tests (vision_backend_test.cpp, vision_backend_gpu_test.cpp):
// the tiny fixture's image through the backend path against image.vision_last_hidden and
// image.soft_tokens, and a synthetic clipped tower against vision.cpp's CPU path.
#pragma once

#include <string>

#include "../common/golden.h"
#include "core/registry.h"
#include "model/gemma4/mm_synthetic.h"
#include "model/gemma4/vision.h"
#include "model/gemma4/vision_backend.h"

namespace vision_test {

using namespace gemma;
using namespace gemma::gemma4;

struct GoldenErrors {
    double hidden = 1, soft = 1;  // ‖out − ref‖ / ‖ref‖
};

// The processor output for the fixture image, as the reference made it (image.pixel_values and
// image.position_ids; the CPU tests check our processor against them): no image decoding needed,
// so the GPU tests run where the OpenCV codec module is absent.
inline Result<media::ImagePatches> tiny_patches() {
    golden_test::Golden g = golden_test::open_golden(golden_test::kTiny);
    if (!g.src) return make_error(ErrorCode::not_found, "tiny golden file missing");
    const Tensor px = g.get("image.pixel_values"), pos = g.get("image.position_ids");
    if (px.ndim() != 2 || pos.ndim() != 2 || px.dim(0) != pos.dim(0))
        return make_error(ErrorCode::corrupt_file, "image.pixel_values / position_ids mismatch");
    media::ImagePatches p;
    p.n_rows = int(px.dim(0));
    p.pixel_values.assign(px.ptr<float>(), px.ptr<float>() + px.numel());
    p.position_ids.assign(pos.ptr<int32_t>(), pos.ptr<int32_t>() + pos.numel());
    return p;
}

// A 10 × 5000 strip at budget 1120 becomes 48 × 24000 pixels: 1500 patch columns, past the tiny
// fixture's position table (256 per axis); encoders must refuse it with a clear error.
inline Result<media::ImagePatches> oversized_strip_patches() {
    media::Image strip;
    strip.width = 5000;
    strip.height = 10;
    strip.rgb.assign(size_t(5000) * 10 * 3, 200);
    media::ImageOptions big;
    big.max_soft_tokens = 1120;
    return media::image_preprocess(strip, big);
}

inline double rel(const Tensor & out, const Tensor & ref) {
    if (out.shape != ref.shape) return 1e30;
    return golden_test::rel_error(out.ptr<float>(), ref.ptr<float>(), size_t(ref.numel()));
}

// The tiny checkpoint's tower on `backend` against the goldens.
inline Result<GoldenErrors> golden_errors(Backend & backend) {
    auto cfg = load_config(golden_test::kTiny);
    if (!cfg) return cfg.error();
    auto w = io::open_safetensors(golden_test::kTiny);
    if (!w) return w.error();
    auto enc = VisionBackendEncoder::load(*cfg, **w, backend);
    if (!enc) return enc.error();
    auto p = tiny_patches();
    if (!p) return p.error();
    golden_test::Golden g = golden_test::open_golden(golden_test::kTiny);
    if (!g.src) return make_error(ErrorCode::not_found, "tiny golden file missing");
    auto hidden = (*enc)->encode_hidden(*p);
    if (!hidden) return hidden.error();
    auto soft = (*enc)->encode(*p);
    if (!soft) return soft.error();
    GoldenErrors e;
    e.hidden = rel(*hidden, g.get("image.vision_last_hidden"));
    e.soft = rel(*soft, g.get("image.soft_tokens"));
    return e;
}

// A deterministic asymmetric test image (the gradient of mm_fast_vs_reference_test).
inline media::Image gradient_image(int w, int h) {
    media::Image img;
    img.width = w;
    img.height = h;
    img.rgb.resize(size_t(w) * size_t(h) * 3);
    for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = uint8_t((i * 7 + i / 900) % 251);
    return img;
}

// The E4B vision tower's widths (768, 12 heads × 64, MLP 3072, clipped linears, text hidden 2560)
// with `layers` layers and no audio tower. All 16 random layers make the tower chaotic: a 1e-6
// relative change of some pixels moved its output by 1.5e-3 (measured on the CPU path), which
// would hide any backend difference; two layers keep the shapes and a meaningful comparison.
inline Result<Config> e4b_width_config(int layers) {
    auto cfg = mm_synthetic_config("e4b");
    if (!cfg) return cfg.error();
    std::string json = cfg->raw_json;
    const std::string key = "\"num_hidden_layers\": 16";
    const size_t at = json.find(key);
    if (at == std::string::npos) return make_error(ErrorCode::internal, "e4b preset changed");
    json.replace(at, key.size(), "\"num_hidden_layers\": " + std::to_string(layers));
    auto out = parse_config(json, "e4b widths");
    if (out) out->has_audio = false;
    return out;
}

// Soft tokens of a synthetic tower (clipped linears) for one image at `budget`: the backend path
// on `backend` and vision.cpp's CPU path (`reference` loops or the OpenBLAS one), and their
// relative difference.
inline Result<double> synthetic_vs_cpu_path(Backend & backend, const Result<Config> & cfg,
                                            int budget, bool reference) {
    if (!cfg) return cfg.error();
    auto w = make_synthetic_mm_weights(*cfg, 11);
    if (!w) return w.error();
    auto enc = VisionBackendEncoder::load(*cfg, **w, backend);
    if (!enc) return enc.error();
    VisionEncoderOptions vo;
    vo.reference = reference;
    auto cpu = VisionEncoder::load(*cfg, **w, vo);
    if (!cpu) return cpu.error();
    media::ImageOptions o;
    o.max_soft_tokens = budget;
    auto p = media::image_preprocess(gradient_image(300, 200), o);
    if (!p) return p.error();
    auto a = (*enc)->encode(*p);
    if (!a) return a.error();
    auto b = cpu->encode(*p);
    if (!b) return b.error();
    return rel(*a, *b);
}

}  // namespace vision_test
