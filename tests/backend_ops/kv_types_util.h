// Helpers for the KV cache type tests (kv_types_test.cpp on the CPU backends,
// cuda_kv_types_gpu_test.cpp on CUDA): one kv_store + attention scenario run on any backend with
// caches of any KV type (f32, bf16, q8_0), the caches' raw bytes read back with poisoned guard
// rows around them, and f32 attention over given host caches (to compare against dequantized).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/kv_quant.h"

namespace gemma::kv_test {

constexpr uint8_t kPoison = 0xA5;

struct Scenario {
    const char * name;
    int64_t hq, hkv, d, slots;
    int window;
    int64_t n_hist, n;            // positions [0, n_hist) stored first, then a chunk of n queries
    std::vector<int32_t> blocks;  // empty: causal
};

// Decode and prefill, full and sliding (ring wrapped), GQA and MHA, bidirectional blocks, and the
// Gemma 4 E4B head sizes (256 sliding, 512 full), and the tiny test model's D = 16 with 2 KV
// heads (q8_0 blocks then span both heads of a slot; q8_0 needs h_kv·D % 32 == 0).
inline std::vector<Scenario> scenarios() {
    const std::vector<int32_t> blocks = {-1, -1, 0, 0, 0, 0, -1, 1, 1, -1};
    return {
        {"sliding decode, ring wrapped", 4, 2, 32, 8, 8, 40, 1, {}},
        {"full prefill chunk", 4, 2, 64, 64, 0, 20, 13, {}},
        {"sliding prefill chunk", 4, 2, 32, 20, 8, 30, 13, {}},
        {"first token", 4, 1, 32, 16, 0, 0, 1, {}},
        {"tiny sliding, d 16 (blocks span 2 heads)", 4, 2, 16, 10, 8, 25, 3, {}},
        {"tiny full decode, d 16", 4, 2, 16, 40, 0, 30, 1, {}},
        {"mha", 3, 3, 64, 24, 0, 9, 5, {}},
        {"bidirectional blocks, sliding", 4, 2, 32, 13, 4, 5, 10, blocks},
        {"e4b sliding decode", 8, 2, 256, 512, 512, 700, 1, {}},
        {"e4b full, 3 queries", 8, 2, 512, 256, 0, 200, 3, {}},
    };
}

inline Tensor host_f32(Shape shape, uint32_t seed, float lo, float hi) {
    Tensor t = tensor_host(DType::f32, std::move(shape));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.ptr<float>()[i] = dist(rng);
    return t;
}

inline Tensor host_i32(std::vector<int32_t> v) {
    Tensor t = tensor_host(DType::i32, {int64_t(v.size())});
    std::memcpy(t.data, v.data(), v.size() * 4);
    return t;
}

inline std::vector<int32_t> iota(int64_t from, int64_t n) {
    std::vector<int32_t> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(int32_t(from + i));
    return v;
}

inline Tensor put(Backend & b, const Tensor & host) {
    auto t = b.upload(host);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : Tensor{};
}

// A tensor of `rows` rows of `type` with one poisoned guard row before and after it.
struct GuardedRows {
    Tensor whole, view;
    size_t row_bytes = 0;
};

inline GuardedRows guarded_rows(Backend & b, DType type, Shape shape) {
    Shape whole_shape = shape;
    whole_shape[0] += 2;
    auto whole = b.alloc(type, whole_shape);
    EXPECT_TRUE(whole.ok());
    if (!whole.ok()) return {};
    std::vector<uint8_t> poison(whole->nbytes(), kPoison);
    EXPECT_TRUE(b.write(*whole, poison.data(), poison.size()).ok());
    GuardedRows g{*whole, tensor_rows(*whole, 1, shape[0]),
                  whole->nbytes() / size_t(whole_shape[0])};
    return g;
}

// The body's bytes; `guards_ok` false when a guard byte changed.
inline std::vector<uint8_t> read_body(Backend & b, const GuardedRows & g, bool & guards_ok) {
    std::vector<uint8_t> all(g.whole.nbytes());
    Status s = b.read(g.whole, all.data(), all.size());
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    for (size_t i = 0; i < g.row_bytes; ++i)
        if (all[i] != kPoison || all[all.size() - 1 - i] != kPoison) guards_ok = false;
    return std::vector<uint8_t>(all.begin() + std::ptrdiff_t(g.row_bytes),
                                all.end() - std::ptrdiff_t(g.row_bytes));
}

inline std::vector<float> as_floats(const std::vector<uint8_t> & bytes) {
    std::vector<float> f(bytes.size() / 4);
    std::memcpy(f.data(), bytes.data(), f.size() * 4);
    return f;
}

// Every value of a cache's bytes widened to f32 (core codec).
inline std::vector<float> dequantize(DType type, const std::vector<uint8_t> & bytes, int64_t n) {
    std::vector<float> f(size_t(n), 0.0f);
    kv_row_load(type, bytes.data(), f.data(), n);
    return f;
}

struct KvRun {
    std::vector<uint8_t> k_bytes, v_bytes;  // the caches as stored, [slots, hkv, d] of the type
    std::vector<float> out;                 // attention output [n, hq, d]
    bool guards_ok = true;
};

// The same q for every run of a scenario.
inline Tensor scenario_q(const Scenario & s) { return host_f32({s.n, s.hq, s.d}, 8, -2.0f, 2.0f); }

// Attention of the scenario's chunk over caches k_cache / v_cache (already on b).
inline std::vector<float> attend(Backend & b, const Scenario & s, const Tensor & k_cache,
                                 const Tensor & v_cache, bool & guards_ok) {
    GuardedRows out = guarded_rows(b, DType::f32, {s.n, s.hq, s.d});
    Tensor blocks = s.blocks.empty() ? Tensor{} : put(b, host_i32(s.blocks));
    AttentionDesc desc;
    desc.scale = 1.0f / float(s.d);  // scores of |q|, |k| ~ 1 per element: a sharp softmax
    desc.window = s.window;
    Status st = b.attention(put(b, scenario_q(s)), k_cache, v_cache,
                            put(b, host_i32(iota(s.n_hist, s.n))), blocks, desc, out.view);
    EXPECT_TRUE(st.ok()) << s.name << ": " << (st.ok() ? "" : st.error().message);
    return as_floats(read_body(b, out, guards_ok));
}

// Stores positions [0, n_hist) in chunks, then the query chunk, into caches of `type`, then runs
// attention for the chunk. K/V values come from fixed seeds: identical for every backend/type.
inline KvRun run_scenario(Backend & b, const Scenario & s, DType type) {
    KvRun r;
    GuardedRows kc = guarded_rows(b, type, {s.slots, s.hkv, s.d});
    GuardedRows vc = guarded_rows(b, type, {s.slots, s.hkv, s.d});
    auto store = [&](int64_t from, int64_t n) {
        Tensor k = host_f32({n, s.hkv, s.d}, uint32_t(100 + from), -2.0f, 2.0f);
        Tensor v = host_f32({n, s.hkv, s.d}, uint32_t(5000 + from), -1.0f, 1.0f);
        Status st =
            b.kv_store(put(b, k), put(b, v), put(b, host_i32(iota(from, n))), kc.view, vc.view);
        EXPECT_TRUE(st.ok()) << s.name << ": " << (st.ok() ? "" : st.error().message);
    };
    int64_t chunk = std::min<int64_t>(64, s.slots);  // one kv_store never wraps onto itself
    for (int64_t t = 0; t < s.n_hist; t += chunk) store(t, std::min(chunk, s.n_hist - t));
    store(s.n_hist, s.n);
    r.out = attend(b, s, kc.view, vc.view, r.guards_ok);
    r.k_bytes = read_body(b, kc, r.guards_ok);
    r.v_bytes = read_body(b, vc, r.guards_ok);
    return r;
}

// Attention of the scenario's chunk over f32 host caches (e.g. a quantized run's caches,
// dequantized), uploaded to b.
inline std::vector<float> attend_f32(Backend & b, const Scenario & s, const std::vector<float> & k,
                                     const std::vector<float> & v) {
    Tensor kh = tensor_host(DType::f32, {s.slots, s.hkv, s.d});
    Tensor vh = tensor_host(DType::f32, {s.slots, s.hkv, s.d});
    std::memcpy(kh.data, k.data(), k.size() * 4);
    std::memcpy(vh.data, v.data(), v.size() * 4);
    bool guards_ok = true;
    auto kd = b.alloc(DType::f32, kh.shape), vd = b.alloc(DType::f32, vh.shape);
    EXPECT_TRUE(kd.ok() && vd.ok());
    EXPECT_TRUE(b.write(*kd, kh.data, kh.nbytes()).ok() && b.write(*vd, vh.data, vh.nbytes()).ok());
    std::vector<float> out = attend(b, s, *kd, *vd, guards_ok);
    EXPECT_TRUE(guards_ok) << s.name;
    return out;
}

// NMSE = Σ(ref − got)² / Σ ref²; NaN or a size mismatch -> +inf.
inline double nmse(const std::vector<float> & ref, const std::vector<float> & got) {
    if (ref.size() != got.size()) return INFINITY;
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (std::isnan(ref[i]) || std::isnan(got[i])) return INFINITY;
        double d = double(ref[i]) - double(got[i]);
        num += d * d;
        den += double(ref[i]) * double(ref[i]);
    }
    return den > 0.0 ? num / den : num;
}

}  // namespace gemma::kv_test
