// CudaContext: device setup, pooled allocation with deferred release, scratch, staging and host
// mappings (see cuda_context.h).
#include "backends/cuda/cuda_context.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/blas_tune.h"

namespace gemma::cuda {
namespace {

constexpr size_t kBlasWorkspace = size_t(32) << 20;  // fixed, so cuBLAS never allocates in capture

Error blas_error(const char * what, gpublasStatus_t st) {
    return make_error(ErrorCode::device_error,
                      format("cuda: %s failed: %s", what, gpublasGetStatusString(st)));
}

}  // namespace

Result<std::shared_ptr<CudaContext>> CudaContext::create(const CudaOptions & options) {
    std::shared_ptr<CudaContext> ctx(new CudaContext());
    GEMMA_TRY(ctx->init(options));
    return ctx;
}

Status CudaContext::init(const CudaOptions & options) {
    options_ = options;
    int count = 0;
    gpuError_t e = gpuGetDeviceCount(&count);
    if (e != gpuSuccess || count == 0)
        return make_error(
            ErrorCode::device_error,
            format("cuda: no %s device found (%s); check the driver with %s, "
                   "or choose the cpu backend",
                   kGpuApiName, e != gpuSuccess ? gpuGetErrorString(e) : "device count is 0",
                   kGpuDriverTool));
    if (options.device < 0 || options.device >= count)
        return make_error(
            ErrorCode::device_error,
            format("cuda: device %d does not exist (%d found)", options.device, count));
    GEMMA_CUDA_TRY(gpuSetDevice(options.device));
    GEMMA_CUDA_TRY(gpuGetDeviceProperties(&props_, options.device));
    GEMMA_CUDA_TRY(gpuStreamCreateWithFlags(&stream_, gpuStreamNonBlocking));
    // The default pool keeps freed memory for reuse instead of returning it to the driver.
    gpuMemPool_t pool = nullptr;
    GEMMA_CUDA_TRY(gpuDeviceGetDefaultMemPool(&pool, options.device));
    uint64_t keep = UINT64_MAX;
    GEMMA_CUDA_TRY(gpuMemPoolSetAttribute(pool, gpuMemPoolAttrReleaseThreshold, &keep));
    gpublasStatus_t st = gpublasCreate(&blas_);
    if (st != gpublasSuccess) return blas_error("cublasCreate", st);
    GEMMA_CUDA_TRY(gpuMalloc(&blas_workspace_, kBlasWorkspace));
    if ((st = gpublasSetStream(blas_, stream_)) != gpublasSuccess)
        return blas_error("cublasSetStream", st);
    if ((st = gpublasSetWorkspace(blas_, blas_workspace_, kBlasWorkspace)) != gpublasSuccess)
        return blas_error("cublasSetWorkspace", st);
    env_.blas = blas_;
    blas_tuner_ = blas_tuner_create(stream_, blas_workspace_, kBlasWorkspace);
    env_.blas_tuner = blas_tuner_;
    env_.n_sms = props_.multiProcessorCount;
    env_.pdl = options.pdl && props_.major >= 9;  // griddepcontrol needs sm_90
    // The split-KV counters, then the folded row_fuse's (LaunchEnv::row_fuse_counter).
    const size_t counters = size_t(kSplitCounters) + 1;
    GEMMA_CUDA_TRY(
        gpuMalloc(reinterpret_cast<void **>(&split_counters_), counters * sizeof(unsigned)));
    GEMMA_CUDA_TRY(gpuMemsetAsync(split_counters_, 0, counters * sizeof(unsigned), stream_));
    if (!options.split_merge_kernel) env_.split_counters = split_counters_;
    env_.row_fuse_counter = split_counters_ + kSplitCounters;
    if (const char * e = std::getenv("GEMMA_GEMV_SPLIT_WARPS_PER_SM"); e && std::atoi(e) >= 0)
        env_.gemv_split_warps_per_sm = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_GEMV_WARPS_PER_SM"); e && std::atoi(e) > 0)
        env_.gemv_warps_per_sm = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_QGEMV_WARPS_PER_SM"); e && std::atoi(e) > 0)
        env_.quant_gemv_warps_per_sm = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_QGEMV_MAX_ROWS"); e && std::atoi(e) > 0)
        env_.quant_gemv_max_rows = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_MMQ_OWN_X_TILES"); e && std::atoi(e) >= 0)
        env_.mmq_own_x_tiles = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_MMQ_SPLIT_STAGES"); e && std::atoi(e) > 0)
        env_.mmq_split_stages = std::atoi(e);
    if (const char * e = std::getenv("GEMMA_MMQ_LAST_BLOCK"); e && std::strcmp(e, "1") == 0)
        env_.mmq_last_block = true;
    if (const char * e = std::getenv("GEMMA_MMQ_CLUSTER"); e && std::strcmp(e, "1") == 0)
        env_.mmq_cluster = true;
    if (const char * e = std::getenv("GEMMA_GEMV_BALANCE"); e && std::strcmp(e, "0") == 0)
        env_.gemv_balanced_grid = false;
    if (const char * e = std::getenv("GEMMA_GEMV_PRELOAD"); e && std::strcmp(e, "0") == 0)
        env_.gemv_preload = false;
    if (const char * e = std::getenv("GEMMA_FA512_V1"); e && std::strcmp(e, "1") == 0)
        env_.fa512_v1 = true;
    if (const char * e = std::getenv("GEMMA_NORM_ROPE_REGS"); e && std::strcmp(e, "0") == 0)
        env_.norm_rope_regs = false;
    size_t segment = OpQueue::kSegmentOps;
    if (const char * e = std::getenv("GEMMA_CUDA_SEGMENT"); e && std::atoi(e) > 0)
        segment = size_t(std::atoi(e));
    queue_ = std::make_unique<OpQueue>(stream_, env_, options.graphs, segment);
    if (const char * e = std::getenv("GEMMA_CUDA_PROFILE"); e && std::strcmp(e, "1") == 0)
        queue_->set_profiling(true);
    return Status::success();
}

CudaContext::~CudaContext() {
    if (stream_) (void)gpuStreamSynchronize(stream_);
    queue_.reset();
    for (void * p : frees_) (void)gpuFree(p);
    for (Block & b : scratch_)
        if (b.p) (void)gpuFree(b.p);
    if (staging_.p) (void)gpuFreeHost(staging_.p);
    for (auto & [host, m] : mapped_) (void)gpuHostUnregister(const_cast<void *>(host));
    blas_tuner_destroy(blas_tuner_);
    if (blas_) (void)gpublasDestroy(blas_);
    if (blas_workspace_) (void)gpuFree(blas_workspace_);
    if (split_counters_) (void)gpuFree(split_counters_);
    if (stream_) (void)gpuStreamDestroy(stream_);
}

void CudaContext::release(void * p) {
    std::lock_guard<std::mutex> lock(free_mutex_);
    frees_.push_back(p);
}

void CudaContext::drain_frees() {
    std::vector<void *> frees;
    {
        std::lock_guard<std::mutex> lock(free_mutex_);
        frees.swap(frees_);
    }
    for (void * p : frees) (void)gpuFreeAsync(p, stream_);
}

Result<std::shared_ptr<void>> CudaContext::alloc(size_t bytes, bool zero) {
    if (queue_->empty()) drain_frees();
    void * p = nullptr;
    size_t size = bytes == 0 ? 256 : bytes;  // a live, non-null pointer even for empty tensors
    gpuError_t e = gpuMallocAsync(&p, size, stream_);
    if (e != gpuSuccess) {
        (void)gpuGetLastError();
        size_t free_b = 0, total_b = 0;
        (void)gpuMemGetInfo(&free_b, &total_b);
        return make_error(
            ErrorCode::out_of_memory,
            format("cuda: cannot allocate %.1f MiB (%.1f of %.1f MiB free): %s; use a "
                   "smaller context or model",
                   double(size) / 1048576.0, double(free_b) / 1048576.0,
                   double(total_b) / 1048576.0, gpuGetErrorString(e)));
    }
    if (zero) {
        e = gpuMemsetAsync(p, 0, size, stream_);
        if (e != gpuSuccess) {
            (void)gpuFreeAsync(p, stream_);
            GEMMA_CUDA_TRY(e);
        }
    }
    std::shared_ptr<CudaContext> self = shared_from_this();
    return std::shared_ptr<void>(p, [self](void * q) { self->release(q); });
}

Status CudaContext::flush() {
    Status s = queue_->flush();
    drain_frees();
    return s;
}

Status CudaContext::synchronize() {
    GEMMA_TRY(flush());
    return wait();
}

Status CudaContext::wait() {
    auto t0 = std::chrono::steady_clock::now();
    GEMMA_CUDA_TRY(gpuStreamSynchronize(stream_));
    waited_ms_ +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return Status::success();
}

Result<void *> CudaContext::scratch(int slot, size_t bytes) {
    Block & b = scratch_[slot];
    if (b.bytes >= bytes && b.p) return b.p;
    if (b.p) release(b.p);  // pending ops may still use it: freed after they launch
    b = {};
    size_t size = bytes < (size_t(1) << 20) ? (size_t(1) << 20) : bytes + bytes / 4;
    void * p = nullptr;
    gpuError_t e = gpuMallocAsync(&p, size, stream_);
    if (e != gpuSuccess) {
        (void)gpuGetLastError();
        return make_error(ErrorCode::out_of_memory,
                          format("cuda: cannot allocate %.1f MiB of scratch: %s",
                                 double(size) / 1048576.0, gpuGetErrorString(e)));
    }
    b = {p, size};
    return p;
}

Result<void *> CudaContext::staging(size_t bytes) {
    if (staging_.bytes >= bytes && staging_.p) return staging_.p;
    GEMMA_CUDA_TRY(gpuStreamSynchronize(stream_));  // the old buffer may be a pending copy target
    if (staging_.p) (void)gpuFreeHost(staging_.p);
    staging_ = {};
    size_t size = bytes < (size_t(4) << 20) ? (size_t(4) << 20) : bytes;
    void * p = nullptr;
    GEMMA_CUDA_TRY(gpuMallocHost(&p, size));
    staging_ = {p, size};
    return p;
}

Result<const void *> CudaContext::map_host(const void * p, size_t bytes,
                                           const std::shared_ptr<void> & owner) {
    auto it = mapped_.find(p);
    if (it != mapped_.end()) {
        if (it->second.bytes >= bytes) return it->second.device;
        (void)gpuHostUnregister(const_cast<void *>(p));  // a longer view of the same memory
        mapped_.erase(it);
    }
    // Read-only: the memory may be a read-only file mapping (weights).
    GEMMA_CUDA_TRY(gpuHostRegister(const_cast<void *>(p), bytes,
                                   gpuHostRegisterMapped | gpuHostRegisterReadOnly));
    void * dev = nullptr;
    gpuError_t e = gpuHostGetDevicePointer(&dev, const_cast<void *>(p), 0);
    if (e != gpuSuccess) {
        (void)gpuHostUnregister(const_cast<void *>(p));
        GEMMA_CUDA_TRY(e);
    }
    mapped_[p] = {dev, bytes, owner};
    return static_cast<const void *>(dev);
}

}  // namespace gemma::cuda
