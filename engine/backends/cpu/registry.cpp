// The backend registry (declared in core/registry.h). It lives in the CPU backend library because
// core cannot link the backends built on it; this is the one place where built-in backends are
// listed (GPU backends add theirs here under #if GEMMA_HAS_CUDA / GEMMA_HAS_VULKAN, or call
// backend_register() at startup).
#include "core/registry.h"

#include <mutex>

#include "backends/cpu/cpu_ref_backend.h"
#include "backends/cpu/fast/cpu_fast_backend.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma {
namespace {

std::mutex & registry_mutex() {
    static std::mutex m;
    return m;
}

std::vector<BackendEntry> & registry() {
    static std::vector<BackendEntry> entries = [] {
        std::vector<BackendEntry> e;
        e.push_back(
            {"cpu-ref", "CPU reference: scalar loops, f32 accumulation (for verification)",
             []() -> Result<std::unique_ptr<Backend>> { return cpu::make_cpu_ref_backend(); }});
        e.push_back(
            {"cpu", "CPU fast: all cores, Highway SIMD kernels",
             []() -> Result<std::unique_ptr<Backend>> { return cpu::make_cpu_fast_backend(); }});
#if GEMMA_HAS_CUDA
        e.push_back({"cuda", "NVIDIA GPU (CUDA): tensor-core prefill (split bf16), f32 decode, CUDA graphs",
                     []() { return cuda::make_cuda_backend({}); }});
        e.push_back({"cuda-f32", "NVIDIA GPU (CUDA), every product in f32 (verification)",
                     []() { return cuda::make_cuda_backend({.precision = cuda::CudaPrecision::f32}); }});
        e.push_back({"cuda-bf16", "NVIDIA GPU (CUDA), single-pass bf16 prefill GEMMs (fastest, ~1e-2)",
                     []() { return cuda::make_cuda_backend({.precision = cuda::CudaPrecision::bf16}); }});
#endif
        return e;
    }();
    return entries;
}

}  // namespace

std::vector<BackendEntry> backend_list() {
    std::lock_guard<std::mutex> lock(registry_mutex());
    return registry();
}

std::vector<std::string> backend_names() {
    std::vector<std::string> names;
    for (const BackendEntry & e : backend_list()) names.push_back(e.name);
    return names;
}

Result<std::unique_ptr<Backend>> backend_create(const std::string & name) {
    std::string known;
    for (const BackendEntry & e : backend_list()) {
        if (e.name == name) return e.create();
        known += (known.empty() ? "" : ", ") + e.name;
    }
    return make_error(ErrorCode::not_found,
                      format("unknown backend '%s' (available: %s)", name.c_str(), known.c_str()));
}

void backend_register(BackendEntry entry) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    for (BackendEntry & e : registry()) {
        if (e.name == entry.name) {
            e = std::move(entry);
            return;
        }
    }
    registry().push_back(std::move(entry));
}

}  // namespace gemma
