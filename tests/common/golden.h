// Shared by the model and runtime tests: fixture paths, the golden-file reader and the relative
// error ||out-ref||/||ref|| used against the reference tensors.
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "io/tensor_source.h"

namespace golden_test {

inline const std::string kTiny = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4";
inline const std::string kChat = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4-chat";

// fp32 compute from bf16 weights lands within ~1e-4 of the reference (fixtures README).
constexpr double kTol = 1e-4;

inline double rel_error(const float * out, const float * ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = double(out[i]) - double(ref[i]);
        num += d * d;
        den += double(ref[i]) * double(ref[i]);
    }
    return std::sqrt(num / (den > 0 ? den : 1));
}

struct Golden {
    std::unique_ptr<gemma::io::TensorSource> src;
    gemma::Tensor get(const std::string & name) const {
        auto t = src->get(name);
        return t.ok() ? *t : gemma::Tensor{};
    }
    std::vector<int32_t> ids(const std::string & name) const {
        gemma::Tensor t = get(name);
        return std::vector<int32_t>(t.ptr<int32_t>(), t.ptr<int32_t>() + t.numel());
    }
};

inline Golden open_golden(const std::string & dir) {
    auto src = gemma::io::open_safetensors(dir + "/golden.safetensors");
    return Golden{src.ok() ? std::move(*src) : nullptr};
}

}  // namespace golden_test
