// The portable GEMM behind compat/gemm_fallback.h: 16×16 output tiles, x and w staged through
// shared memory 16 k-values at a time, one output per thread, f32 FMAs in k order. Written only
// against compat/gpu.h names; built by backends/hip when hipBLAS is missing.
#include <new>

#include "backends/cuda/compat/gpu.h"

struct GemmaGemmHandle {
    gpuStream_t stream = nullptr;
};

namespace {

constexpr int kTile = 16;

template <gpublasDataType T>
__device__ __forceinline__ float gemm_load(const void * p, int64_t i) {
    if constexpr (T == gpublasDataType::f32) return static_cast<const float *>(p)[i];
    if constexpr (T == gpublasDataType::bf16)
        return gemma_bf16_to_f32(static_cast<const uint16_t *>(p)[i]);
    return gemma_f16_to_f32(static_cast<const uint16_t *>(p)[i]);
}

// x: [n, k], w: [m, k] of type T -> out [n, m] f32 = x·wᵀ + beta·out. Block (kTile, kTile):
// threadIdx.x walks out columns (w rows), threadIdx.y out rows (x rows).
template <gpublasDataType T>
__global__ void __launch_bounds__(kTile * kTile)
    gemm_xwt_kernel(int n, int m, int k, const void * x, const void * w, float * out, float beta) {
    __shared__ float xs[kTile][kTile + 1];  // xs[row][kk]
    __shared__ float ws[kTile][kTile + 1];  // ws[col][kk]
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = int(blockIdx.y) * kTile + ty, col = int(blockIdx.x) * kTile + tx;
    const int w_row = int(blockIdx.x) * kTile + ty;  // the w row this thread stages
    float acc = 0.0f;
    for (int k0 = 0; k0 < k; k0 += kTile) {
        const int kk = k0 + tx;
        xs[ty][tx] = row < n && kk < k ? gemm_load<T>(x, int64_t(row) * k + kk) : 0.0f;
        ws[ty][tx] = w_row < m && kk < k ? gemm_load<T>(w, int64_t(w_row) * k + kk) : 0.0f;
        __syncthreads();
#pragma unroll
        for (int j = 0; j < kTile; ++j) acc = fmaf(xs[ty][j], ws[tx][j], acc);
        __syncthreads();
    }
    if (row < n && col < m) {
        float * o = out + int64_t(row) * m + col;
        *o = beta == 0.0f ? acc : acc + beta * *o;
    }
}

template <gpublasDataType T>
gpublasStatus_t launch_gemm(gpuStream_t s, int n, int m, int k, const void * x, const void * w,
                            float * out, float beta) {
    dim3 grid(unsigned((m + kTile - 1) / kTile), unsigned((n + kTile - 1) / kTile));
    gpuError_t e = gpu_launch_pdl(gemm_xwt_kernel<T>, grid, dim3(kTile, kTile), 0, s, false, n, m,
                                  k, x, w, out, beta);
    if (e == gpuSuccess) return gpublasSuccess;
    (void)gpuGetLastError();
    return gpublasStatus_t::launch_failed;
}

}  // namespace

gpublasStatus_t gpublasCreate(gpublasHandle_t * h) {
    if (!h) return gpublasStatus_t::invalid_value;
    *h = new (std::nothrow) GemmaGemmHandle();
    return *h ? gpublasSuccess : gpublasStatus_t::alloc_failed;
}

gpublasStatus_t gpublasDestroy(gpublasHandle_t h) {
    delete h;
    return gpublasSuccess;
}

gpublasStatus_t gpublasSetStream(gpublasHandle_t h, gpuStream_t s) {
    if (!h) return gpublasStatus_t::invalid_value;
    h->stream = s;
    return gpublasSuccess;
}

gpublasStatus_t gpublasSetWorkspace(gpublasHandle_t h, void *, size_t) {
    return h ? gpublasSuccess : gpublasStatus_t::invalid_value;
}

const char * gpublasGetStatusString(gpublasStatus_t st) {
    switch (st) {
        case gpublasStatus_t::success:
            return "success";
        case gpublasStatus_t::alloc_failed:
            return "fallback GEMM: out of host memory for the handle";
        case gpublasStatus_t::invalid_value:
            return "fallback GEMM: invalid argument (null handle or pointer, negative size or "
                   "unknown data type)";
        case gpublasStatus_t::launch_failed:
            return "fallback GEMM: kernel launch failed";
    }
    return "fallback GEMM: unknown status";
}

gpublasStatus_t gpublas_gemm_xwt(gpublasHandle_t h, int n, int m, int k, const void * x,
                                 const void * w, gpublasDataType ab, float * out, float beta,
                                 bool) {
    if (!h || n < 0 || m < 0 || k < 0) return gpublasStatus_t::invalid_value;
    if (n == 0 || m == 0) return gpublasSuccess;
    if (!out || (k > 0 && (!x || !w))) return gpublasStatus_t::invalid_value;
    switch (ab) {
        case gpublasDataType::f32:
            return launch_gemm<gpublasDataType::f32>(h->stream, n, m, k, x, w, out, beta);
        case gpublasDataType::f16:
            return launch_gemm<gpublasDataType::f16>(h->stream, n, m, k, x, w, out, beta);
        case gpublasDataType::bf16:
            return launch_gemm<gpublasDataType::bf16>(h->stream, n, m, k, x, w, out, beta);
    }
    return gpublasStatus_t::invalid_value;
}
