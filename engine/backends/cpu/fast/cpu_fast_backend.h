// The fast CPU backend ("cpu"): host memory, eager in-order execution, every op multithreaded over
// all cores with Highway SIMD kernels (dynamic dispatch; a register-tiled GEMM for prefill).
// Results match "cpu-ref" to f32 rounding (checked op by op in tests/backend_ops).
#pragma once

#include <memory>

#include "core/backend.h"

namespace gemma::cpu {

// n_threads ≤ 0: default_thread_count() (GEMMA_CPU_THREADS or all hardware threads).
// The backend owns its thread pool; like every Backend, one thread drives it at a time.
std::unique_ptr<Backend> make_cpu_fast_backend(int n_threads = 0);

}  // namespace gemma::cpu
