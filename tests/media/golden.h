// Test-only reader for tests/data/*/golden.safetensors (8-byte header length, JSON header, raw
// little-endian data): enough to compare against reference tensors until io::open_safetensors lands.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma::test {

struct GoldenTensor {
    std::string dtype;  // "F32" | "I32" | "BF16" ...
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

// Loads every tensor; an empty map when the file is missing or malformed (tests then fail on
// the missing key, naming it).
inline std::map<std::string, GoldenTensor> load_golden(const std::string & path) {
    std::map<std::string, GoldenTensor> out;
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (file.size() < 8) return out;
    uint64_t n = 0;
    std::memcpy(&n, file.data(), 8);
    if (n > file.size() - 8) return out;
    auto header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + int64_t(n), nullptr, false);
    if (header.is_discarded()) return out;
    for (auto & [name, info] : header.items()) {
        if (name == "__metadata__") continue;
        GoldenTensor t;
        t.dtype = info["dtype"].get<std::string>();
        t.shape = info["shape"].get<std::vector<int64_t>>();
        auto off = info["data_offsets"].get<std::vector<uint64_t>>();
        if (off.size() != 2 || off[1] < off[0] || 8 + n + off[1] > file.size()) continue;
        t.bytes.assign(file.begin() + int64_t(8 + n + off[0]), file.begin() + int64_t(8 + n + off[1]));
        out.emplace(name, std::move(t));
    }
    return out;
}

inline std::string tiny_dir() { return std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4"; }

}  // namespace gemma::test
