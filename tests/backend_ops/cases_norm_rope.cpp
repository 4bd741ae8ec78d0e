// rms_norm and rope cases: per-row and per-head norms (bf16 and f32 weights, no weight, in place),
// RoPE with default and proportional (zero-padded) frequencies, large positions, in place.
#include <cmath>

#include "op_harness.h"

namespace gemma::test {
namespace {

OpCase rms_norm_case(const char * tag, int64_t r, int64_t d, DType wt, bool with_w, bool in_place,
                     uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("rms_norm %s %s [%lld,%lld]%s%s", dtype_name(wt), tag, (long long)r,
                    (long long)d, with_w ? "" : " no weight", in_place ? " in place" : "");
    c.desc = {Op::rms_norm, DType::f32, wt};
    c.inputs = {random_tensor(rng, DType::f32, {r, d}, -3.0f, 3.0f),
                random_tensor(rng, wt, {d}, 0.8f, 1.2f)};
    c.outputs = {{DType::f32, {r, d}, in_place ? 0 : -1}};
    c.call = [with_w, in_place](Backend & b, const OpArgs & a) {
        const Tensor & x = in_place ? a.out[0] : a.in[0];
        return b.rms_norm(x, with_w ? a.in[1] : Tensor{}, 1e-6f, a.out[0]);
    };
    return c;
}

// freqs: base^(−2i/D) for the first `rotated` pairs, zero after (proportional RoPE).
Tensor rope_freqs(int64_t d, int64_t rotated, float base) {
    Tensor f = tensor_host(DType::f32, {d / 2});
    for (int64_t i = 0; i < d / 2; ++i)
        f.ptr<float>()[i] = i < rotated ? std::pow(base, -2.0f * float(i) / float(d)) : 0.0f;
    return f;
}

OpCase rope_case(const char * tag, int64_t n, int64_t h, int64_t d, int64_t rotated, int32_t pos0,
                 bool in_place, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("rope %s [%lld,%lld,%lld] pos %d%s", tag, (long long)n, (long long)h,
                    (long long)d, pos0, in_place ? " in place" : "");
    c.desc = {Op::rope, DType::f32, DType::f32};
    std::vector<int32_t> pos;
    for (int64_t i = 0; i < n; ++i) pos.push_back(pos0 + int32_t(i));
    c.inputs = {random_tensor(rng, DType::f32, {n, h, d}), i32_tensor(pos),
                rope_freqs(d, rotated, 10000.0f)};
    c.outputs = {{DType::f32, {n, h, d}, in_place ? 0 : -1}};
    c.call = [in_place](Backend & b, const OpArgs & a) {
        return b.rope(in_place ? a.out[0] : a.in[0], a.in[1], a.in[2], a.out[0]);
    };
    return c;
}

}  // namespace

std::vector<OpCase> norm_rope_cases() {
    return {
        rms_norm_case("round", 4, 2560, DType::bf16, true, false, 31),
        rms_norm_case("odd", 5 * 7 * 11, 13, DType::f32, true, false, 32),
        rms_norm_case("per head", 16, 256, DType::bf16, true, true, 33),
        rms_norm_case("v_norm", 6, 512, DType::f32, false, false, 34),
        rms_norm_case("odd", 3, 37, DType::f16, true, true, 35),
        rope_case("sliding", 6, 8, 256, 128, 0, false, 41),
        rope_case("proportional", 3, 8, 512, 64, 1000, true, 42),
        rope_case("odd", 5, 3, 14, 7, 7, false, 43),
        rope_case("far position", 2, 2, 64, 32, 100000, false, 44),
    };
}

}  // namespace gemma::test
