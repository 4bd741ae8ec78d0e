// The op-by-op harness (STYLE §4 rung 3): an OpCase builds fixed-seed random host inputs once,
// runs one Backend op on any backend (inputs uploaded, outputs surrounded by guard elements),
// and the test compares every backend's outputs against "cpu-ref" by NMSE = Σ(a−b)²/Σa².
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"

namespace gemma::test {

// Deterministic inputs: every case seeds its own generator.
class Rng {
public:
    explicit Rng(uint32_t seed) : gen_(seed) {}
    float uniform(float lo, float hi) {
        return std::uniform_real_distribution<float>(lo, hi)(gen_);
    }
    int32_t integer(int32_t lo, int32_t hi) {
        return std::uniform_int_distribution<int32_t>(lo, hi)(gen_);
    }

private:
    std::mt19937 gen_;
};

// Host tensors with values uniform in [lo, hi), stored in `dtype` (bf16/f16 rounded from f32).
Tensor random_tensor(Rng & rng, DType dtype, Shape shape, float lo = -1.0f, float hi = 1.0f);
Tensor i32_tensor(std::vector<int32_t> values);

// One output of a case: its dtype and shape, and optionally the input whose values it starts with
// (caches written in place, ops run with out aliasing an input).
struct OutputSpec {
    DType dtype = DType::f32;
    Shape shape;
    int init_from = -1;  // index into OpCase::inputs, or -1: starts as guard-pattern garbage
    bool exact = false;  // compared element for element, bit for bit (ids, selected values)
};

// What an OpCase's call receives: its inputs and outputs on the backend under test.
struct OpArgs {
    std::vector<Tensor> in;
    std::vector<Tensor> out;
};

struct OpCase {
    std::string name;            // "rms_norm f32 odd [5,7,11,13]": unique, used in test names
    OpDesc desc;                 // asked of supports() first
    std::vector<Tensor> inputs;  // host tensors; weights (non-f32 float) go through upload()
    std::vector<OutputSpec> outputs;
    std::function<Status(Backend &, const OpArgs &)> call;
    double nmse_max = 1e-7;  // loosened only with a one-line reason where the case is defined
};

// Outputs of one run, widened to f32, and whether every guard element came back untouched.
struct OpRun {
    std::vector<std::vector<float>> outputs;
    std::string guard_error;  // empty when the guards are intact
};

// Uploads the inputs, runs the call, synchronizes and reads everything back.
Result<OpRun> run_case(Backend & backend, const OpCase & c);

// NMSE of `got` against `ref`; sets `problem` for NaN, Inf sign mismatches or size mismatches
// (then the returned value is meaningless).
double nmse(const std::vector<float> & ref, const std::vector<float> & got, std::string & problem);
// Empty when `got` equals `ref` bit for bit, else where the first difference is.
std::string exact_mismatch(const std::vector<float> & ref, const std::vector<float> & got);

// Every case, grouped by op family (cases_*.cpp).
std::vector<OpCase> matmul_cases();
std::vector<OpCase> norm_rope_cases();
std::vector<OpCase> attention_cases();
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> quant_cases();  // q8_0 / q4_0 weights (cases_quant.cpp)
std::vector<OpCase> audio_cases();  // the audio conformer's ops (cases_audio.cpp)
std::vector<OpCase> top_k_cases();  // cases_top_k.cpp
std::vector<OpCase> all_cases();

}  // namespace gemma::test
