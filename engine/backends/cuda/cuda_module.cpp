// The CUDA module's exported C entry points (see cuda_module.h): thin wrappers that keep C++
// exceptions (bad_alloc from the runtime, say) from crossing into the program that loaded us.
#include "backends/cuda/cuda_module.h"

#include <exception>

#define GEMMA_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

template <class T>
void guarded(gemma::Result<T> * out, const auto & fn) {
    try {
        *out = fn();
    } catch (const std::exception & e) {
        *out = gemma::make_error(gemma::ErrorCode::device_error,
                                 gemma::format("cuda: %s (inside the CUDA module)", e.what()));
    } catch (...) {
        *out = gemma::make_error(gemma::ErrorCode::device_error,
                                 "cuda: unknown exception inside the CUDA module");
    }
}

}  // namespace

GEMMA_CUDA_EXPORT void gemma_cuda_module_abi(gemma::cuda::CudaModuleAbi * out) {
    *out = gemma::cuda::cuda_module_abi_expected();
}

GEMMA_CUDA_EXPORT void gemma_cuda_module_create(
    const gemma::cuda::CudaOptions * options,
    gemma::Result<std::unique_ptr<gemma::Backend>> * out) {
    guarded(out, [&] { return gemma::cuda::module::create(*options); });
}

GEMMA_CUDA_EXPORT void gemma_cuda_module_queue_stats(
    gemma::Backend * backend, gemma::Result<gemma::cuda::CudaQueueStats> * out) {
    guarded(out, [&] { return gemma::cuda::module::queue_stats(*backend); });
}

GEMMA_CUDA_EXPORT int gemma_cuda_module_device_available() {
    try {
        return gemma::cuda::module::device_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}
