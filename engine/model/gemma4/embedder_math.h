// fp32 building blocks shared by the Gemma 4 vision and audio towers and their embedders: weight
// binding with shape checks, (clipped) linears, RMSNorm, activations, a parallel loop. Linears run
// on OpenBLAS sgemm; `reference` keeps the readable loops they were checked against (fp32 dot
// products either way; fp64 norm statistics).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "core/status.h"
#include "core/tensor.h"
#include "io/tensor_source.h"

namespace gemma::gemma4::mm {

// Reads checkpoint tensors as fp32 copies, checking shapes. Errors name the tensor, both shapes
// and the checkpoint (not_found for a missing tensor, corrupt_file for a wrong shape).
class WeightReader {
public:
    explicit WeightReader(const io::TensorSource & source) : source_(source) {}
    bool has(const std::string & name) const { return source_.find_or_null(name) != nullptr; }
    Result<std::vector<float>> f32(const std::string & name, const Shape & expected) const;
    Result<float> scalar(const std::string & name) const;  // a 0-dim (or [1]) tensor

private:
    const io::TensorSource & source_;
};

// y = clamp(clamp(x, in_min, in_max) · Wᵀ + b, out_min, out_max). Bounds are ±inf unless the
// layer is a Gemma4ClippableLinear with use_clipped_linears (spec §3.6).
struct Linear {
    int in = 0, out = 0;
    std::vector<float> w;     // [out, in] (PyTorch Linear layout)
    std::vector<float> bias;  // [out] or empty
    float in_min = -std::numeric_limits<float>::infinity();
    float in_max = std::numeric_limits<float>::infinity();
    float out_min = -std::numeric_limits<float>::infinity();
    float out_max = std::numeric_limits<float>::infinity();
    bool reference = false;  // plain loops instead of sgemm (tests: fast vs reference)

    // x: [n, in] -> y: [n, out] (y must not alias x).
    void forward(const float * x, int64_t n, float * y) const;
    void forward_reference(const float * x, int64_t n, float * y) const;
    std::vector<float> operator()(const std::vector<float> & x) const;
};

enum class LinearKind {
    plain,      // <name>.weight
    with_bias,  // <name>.weight and <name>.bias
    clippable,  // <name>.linear.weight, plus the four bound scalars when `clip` is set
};

Result<Linear> load_linear(const WeightReader & r, const std::string & name, int in, int out,
                           LinearKind kind, bool clip = false);

// Rows of x [n, d] in place: x · (mean(x²) + eps)^−½ · w (w as stored, not 1 + w; w may be null).
void rms_norm_rows(float * x, int64_t n, int d, const float * w, float eps);

inline float gelu_tanh(float x) {
    const float k = 0.7978845608028654f;  // sqrt(2/π)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

float dot(const float * a, const float * b, int n);

using gemma::parallel_for;  // core/parallel.h

// A debug tap: a host f32 tensor holding a copy of `v` with `shape` (for goldens and verify).
Tensor to_tensor(const std::vector<float> & v, Shape shape);

}  // namespace gemma::gemma4::mm
