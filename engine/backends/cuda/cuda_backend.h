// The CUDA backend ("cuda", "cuda-f32"): device memory from a stream-ordered pool, one in-order
// stream, ops recorded and replayed as CUDA graphs when a step repeats (op_queue.h), cuBLAS for
// prefill GEMMs and weight-streaming GEMV kernels for decode. HIP builds reuse it (backends/hip).
#pragma once

#include <memory>

#include "core/backend.h"

namespace gemma::cuda {

struct CudaOptions {
    int device = 0;
    // true ("cuda-f32"): every product in f32 FMA (verification; 1e-4 class against goldens).
    // false ("cuda"): prefill GEMMs round activations to bf16/f16 for tensor cores (1e-2 class).
    bool exact_f32 = false;
    // Replay repeated op sequences as CUDA graphs (env GEMMA_CUDA_GRAPHS=0 turns this off).
    bool graphs = true;
};

// device_error (saying why) when no usable GPU is present or the device cannot be set up.
// The environment variable GEMMA_CUDA_GRAPHS=0 forces options.graphs off (debugging).
Result<std::unique_ptr<Backend>> make_cuda_backend(const CudaOptions & options);

// How the backend's op queue ran its segments so far (see op_queue.h).
struct CudaQueueStats {
    size_t eager_segments = 0;  // launched kernel by kernel
    size_t captured = 0;        // captured into a new CUDA graph
    size_t replayed = 0;        // replayed from a cached graph
};
// invalid_argument when `backend` is not a CUDA backend.
Result<CudaQueueStats> cuda_queue_stats(Backend & backend);

// Whether at least one CUDA device is visible (false without a driver). Never fails.
bool cuda_device_available();

}  // namespace gemma::cuda
