// CudaContext: the device-side state a CUDA backend and its buffers share: stream, cuBLAS handle,
// the op queue, the memory pool and scratch space. Buffers keep the context alive through their
// owner, so memory outlives a destroyed backend safely. Freed buffers are returned to the pool
// only after the ops recorded before the free have been launched (stream order does the rest).
// Thread-compatible; buffer release is thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/op_queue.h"
#include "core/status.h"

// Evaluates a gpu* runtime call; on failure returns device_error naming the call and file:line.
#define GEMMA_CUDA_TRY(expr)                                                            \
    do {                                                                                \
        gpuError_t gemma_cuda_e_ = (expr);                                              \
        if (gemma_cuda_e_ != gpuSuccess)                                                \
            return ::gemma::make_error(                                                 \
                ::gemma::ErrorCode::device_error,                                       \
                ::gemma::format("cuda: %s failed: %s (%s:%d)", #expr,                   \
                                gpuGetErrorString(gemma_cuda_e_), __FILE__, __LINE__)); \
    } while (0)

namespace gemma::cuda {

class CudaContext : public std::enable_shared_from_this<CudaContext> {
public:
    static Result<std::shared_ptr<CudaContext>> create(const CudaOptions & options);
    ~CudaContext();

    const CudaOptions & options() const { return options_; }
    const gpuDeviceProp & props() const { return props_; }
    gpuStream_t stream() const { return stream_; }
    OpQueue & queue() { return *queue_; }
    const LaunchEnv & env() const { return env_; }

    // Device memory of `bytes` (zero-filled when `zero`), owned by the returned pointer.
    Result<std::shared_ptr<void>> alloc(size_t bytes, bool zero);
    // Launches pending ops, then returns freed buffers to the pool.
    Status flush();
    // flush + wait for the stream.
    Status synchronize();
    // Waits for the stream (no flush), adding the time to waited_ms().
    Status wait();
    double waited_ms() const { return waited_ms_; }
    // Scratch of at least `bytes`, valid for ops recorded until the next scratch() call of the
    // same slot with a larger size (the old block is freed after pending ops launch).
    Result<void *> scratch(int slot, size_t bytes);
    // Page-locked host staging buffer of at least `bytes` (for read()).
    Result<void *> staging(size_t bytes);
    // A device-visible pointer to host memory [p, p + bytes), registering it once (kept alive
    // by `owner` until the context dies).
    Result<const void *> map_host(const void * p, size_t bytes,
                                  const std::shared_ptr<void> & owner);

private:
    CudaContext() = default;
    Status init(const CudaOptions & options);
    void release(void * p);
    void drain_frees();

    CudaOptions options_;
    gpuDeviceProp props_{};
    gpuStream_t stream_ = nullptr;
    gpublasHandle_t blas_ = nullptr;
    void * blas_workspace_ = nullptr;
    BlasTuner * blas_tuner_ = nullptr;  // blas_tune.h; null when off
    unsigned * split_counters_ = nullptr;  // LaunchEnv::split_counters, then row_fuse_counter
    LaunchEnv env_;
    std::unique_ptr<OpQueue> queue_;
    double waited_ms_ = 0;  // host time blocked on the GPU in wait()

    std::mutex free_mutex_;
    std::vector<void *> frees_;  // released while ops may still be unlaunched

    struct Block {
        void * p = nullptr;
        size_t bytes = 0;
    };
    Block scratch_[4];
    Block staging_;
    struct Mapping {
        const void * device = nullptr;
        size_t bytes = 0;
        std::shared_ptr<void> owner;
    };
    std::unordered_map<const void *, Mapping> mapped_;
};

}  // namespace gemma::cuda
