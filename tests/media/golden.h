// Test helper: golden tensors of tests/data/*/golden.safetensors as plain vectors, read through
// io::open_safetensors (the engine's reader).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_source.h"

namespace gemma::test {

struct GoldenTensor {
    DType dtype = DType::f32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;

    std::vector<float> f32() const {
        std::vector<float> v(bytes.size() / 4);
        std::memcpy(v.data(), bytes.data(), v.size() * 4);
        return v;
    }
    std::vector<int32_t> i32() const {
        std::vector<int32_t> v(bytes.size() / 4);
        std::memcpy(v.data(), bytes.data(), v.size() * 4);
        return v;
    }
};

// Every tensor of the file; an empty map when it cannot be opened (tests then fail on the
// missing key, naming it).
inline std::map<std::string, GoldenTensor> load_golden(const std::string & path) {
    std::map<std::string, GoldenTensor> out;
    auto src = io::open_safetensors(path);
    if (!src.ok()) return out;
    for (const std::string & name : (*src)->names()) {
        auto t = (*src)->get(name);
        if (!t.ok()) continue;
        const auto * p = static_cast<const uint8_t *>(t->data);
        out[name] = GoldenTensor{t->dtype, t->shape, std::vector<uint8_t>(p, p + t->nbytes())};
    }
    return out;
}

inline std::string tiny_dir() { return std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4"; }

}  // namespace gemma::test
