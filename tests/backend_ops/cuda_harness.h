// Helpers for the CUDA backend_ops cases: open "cuda"/"cuda-f32" next to "cpu-ref" (skipping
// when no GPU is present), make seeded random inputs on both, guarded outputs (poisoned bytes
// around and inside every output view, so out-of-bounds or missing writes show), and NMSE
// comparison (NaN fails, Inf must match in sign).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/registry.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {

constexpr unsigned char kPoison = 0xA5;  // f32 0xA5A5A5A5 ≈ -2.9e-16: wrong if left unwritten
constexpr int64_t kGuard = 64;           // guard elements on each side of an output

struct Backends {
    std::unique_ptr<Backend> ref, gpu;
};

// Empty string on success, else why the GPU backend cannot run here (for GTEST_SKIP).
inline std::string open_backends(const std::string & gpu_name, Backends & b) {
    auto gpu = backend_create(gpu_name);
    if (!gpu) return gpu_name + " unavailable: " + gpu.error().message;
    auto ref = backend_create("cpu-ref");
    if (!ref) return "cpu-ref unavailable: " + ref.error().message;
    b.gpu = std::move(*gpu);
    b.ref = std::move(*ref);
    return "";
}

// gtest-safe parameter name for a backend name ("cuda-f32" -> "cuda_f32").
inline std::string test_name(std::string name) {
    for (char & c : name)
        if (c == '-') c = '_';
    return name;
}

// A host tensor of uniform values in [lo, hi), stored as `dtype` (f32/f16/bf16).
inline Tensor random_host(DType dtype, Shape shape, uint32_t seed, float lo = -1.0f,
                          float hi = 1.0f) {
    Tensor t = tensor_host(dtype, std::move(shape));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) {
        float v = dist(rng);
        if (dtype == DType::f32)
            t.ptr<float>()[i] = v;
        else if (dtype == DType::bf16)
            t.ptr<uint16_t>()[i] = f32_to_bf16(v);
        else
            t.ptr<uint16_t>()[i] = f32_to_f16(v);
    }
    return t;
}

inline Tensor i32_host(const std::vector<int32_t> & v) {
    Tensor t = tensor_host(DType::i32, {int64_t(v.size())});
    std::memcpy(t.data, v.data(), v.size() * 4);
    return t;
}

// `host` uploaded to backend b (cpu-ref returns the same view; a GPU copies).
inline Tensor put(Backend & b, const Tensor & host) {
    auto r = b.upload(host);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Tensor{};
}

// An output view with poisoned guard elements on both sides (and poisoned contents).
struct Guarded {
    Tensor whole, view;
};

inline Guarded guarded(Backend & b, DType dtype, const Shape & shape) {
    int64_t n = shape_numel(shape);
    auto whole = b.alloc(dtype, {n + 2 * kGuard});
    EXPECT_TRUE(whole.ok());
    if (!whole.ok()) return {};
    std::vector<unsigned char> poison(whole->nbytes(), kPoison);
    EXPECT_TRUE(b.write(*whole, poison.data(), poison.size()).ok());
    return {*whole, tensor_reshape(tensor_rows(*whole, kGuard, n), shape)};
}

inline bool guards_intact(Backend & b, const Guarded & g) {
    std::vector<unsigned char> bytes(g.whole.nbytes());
    if (!b.read(g.whole, bytes.data(), bytes.size()).ok()) return false;
    size_t guard_bytes = bytes.size() / size_t(g.whole.numel()) * size_t(kGuard);
    for (size_t i = 0; i < guard_bytes; ++i)
        if (bytes[i] != kPoison || bytes[bytes.size() - 1 - i] != kPoison) return false;
    return true;
}

// Any float tensor of backend b, read back and converted to f32.
inline std::vector<float> read_f32(Backend & b, const Tensor & t) {
    Tensor host = tensor_host(t.dtype, t.shape);
    Status s = b.read(t, host.data, t.nbytes());
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    Tensor f = tensor_to_f32(host);
    return std::vector<float>(f.ptr<float>(), f.ptr<float>() + f.numel());
}

// NMSE = Σ(ref − got)² / Σ ref² over finite values; NaN anywhere or an Inf mismatch -> +inf.
inline double nmse(const std::vector<float> & ref, const std::vector<float> & got) {
    if (ref.size() != got.size()) return INFINITY;
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (std::isnan(ref[i]) || std::isnan(got[i])) return INFINITY;
        if (std::isinf(ref[i]) || std::isinf(got[i])) {
            if (ref[i] != got[i]) return INFINITY;
            continue;
        }
        double d = double(ref[i]) - double(got[i]);
        num += d * d;
        den += double(ref[i]) * double(ref[i]);
    }
    return den > 0.0 ? num / den : num;
}

// A writable copy of `host` in backend b's memory (for ops that update an input in place).
inline Tensor copy_in(Backend & b, const Tensor & host) {
    auto t = b.alloc(host.dtype, host.shape);
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return Tensor{};
    EXPECT_TRUE(b.write(*t, host.data, host.nbytes()).ok());
    return *t;
}

// Runs `op` on both backends against guarded outputs and compares them.
// op(backend, out_view) -> Status; it uploads its own inputs to that backend (put/copy_in).
template <class Fn>
void expect_match(Backends & b, DType out_dtype, const Shape & out_shape, double tol, Fn && op,
                  const std::string & what) {
    Guarded ro = guarded(*b.ref, out_dtype, out_shape), go = guarded(*b.gpu, out_dtype, out_shape);
    Status sr = op(*b.ref, ro.view), sg = op(*b.gpu, go.view);
    ASSERT_TRUE(sr.ok()) << what << ": cpu-ref: " << sr.error().message;
    ASSERT_TRUE(sg.ok()) << what << ": gpu: " << sg.error().message;
    double e = nmse(read_f32(*b.ref, ro.view), read_f32(*b.gpu, go.view));
    EXPECT_LE(e, tol) << what;
    EXPECT_TRUE(guards_intact(*b.gpu, go)) << what << ": write outside the output";
}

// Index of the first element whose bits differ, or of a length mismatch; -1 when identical.
inline int64_t first_bit_difference(const std::vector<float> & a, const std::vector<float> & b) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return int64_t(i);
    return a.size() == b.size() ? -1 : int64_t(a.size() < b.size() ? a.size() : b.size());
}

// The CUDA op queue's fusion counters of b (cuda::cuda_queue_stats; a failed expectation and zeros
// when b is not a CUDA backend, zeros in builds without CUDA).
struct QueueCounts {
    size_t x16_reused = 0;     // matmuls that found x already rounded in scratch ((round))
    size_t writes_elided = 0;  // f32 stores left out after Backend::discard ((discard))
    size_t ffn_bf16 = 0;       // MLPs with bf16 gate/up ((ffn16))
};
inline QueueCounts queue_counts(Backend & b) {
#if GEMMA_HAS_CUDA
    auto s = cuda::cuda_queue_stats(b);
    EXPECT_TRUE(s.ok());
    if (s.ok()) return {s->x16_reused, s->writes_elided, s->ffn_bf16};
#else
    (void)b;
#endif
    return {};
}

// The backend `name` made with environment variable `var` = `value` (null on failure, a failed
// expectation); the variable is unset again (the backend reads it when made).
inline std::unique_ptr<Backend> backend_with_env(const char * name, const char * var,
                                                 const char * value) {
    setenv(var, value, 1);
    auto made = backend_create(name);
    unsetenv(var);
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? std::move(*made) : nullptr;
}

}  // namespace gemma::cuda_test
