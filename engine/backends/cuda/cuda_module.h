// The boundary between programs and the CUDA backend module (libgemma_backend_cuda.so). Programs
// never link CUDA: loader/cuda_loader.cpp dlopen()s the module on the first "cuda*" backend and
// calls these C entry points, which are the module's only exported symbols.
#pragma once

#include <memory>

#include "backends/cuda/cuda_backend.h"

namespace gemma::cuda {

// File name of the module; the loader looks in <executable dir>/../lib, then the default
// library search path (LD_LIBRARY_PATH, ld.so cache).
inline constexpr const char * kCudaModuleFile = "libgemma_backend_cuda.so";

// Changes whenever the types crossing the boundary change (C++ types pass by pointer between
// two builds of the same tree). The loader refuses a module answering anything else.
struct CudaModuleAbi {
    int version;
    unsigned size_options, size_tensor, size_result, size_info;
};
inline constexpr CudaModuleAbi cuda_module_abi_expected() {
    return {5, unsigned(sizeof(CudaOptions)), unsigned(sizeof(Tensor)),
            unsigned(sizeof(Result<std::unique_ptr<Backend>>)), unsigned(sizeof(BackendInfo))};
}

// Module-side implementations behind the exported entry points (cuda_backend.cpp). Programs
// reach them only through the loader's make_cuda_backend() etc. of cuda_backend.h.
namespace module {
Result<std::unique_ptr<Backend>> create(const CudaOptions & options);
Result<CudaQueueStats> queue_stats(Backend & backend);
bool device_available();
}  // namespace module

}  // namespace gemma::cuda

// Entry points (the loader resolves them with dlsym). None throws; each writes its result to *out.
extern "C" {
using GemmaCudaAbiFn = void (*)(gemma::cuda::CudaModuleAbi * out);
using GemmaCudaCreateFn = void (*)(const gemma::cuda::CudaOptions * options,
                                   gemma::Result<std::unique_ptr<gemma::Backend>> * out);
using GemmaCudaStatsFn = void (*)(gemma::Backend * backend,
                                  gemma::Result<gemma::cuda::CudaQueueStats> * out);
using GemmaCudaAvailableFn = int (*)();
}
