// The gpublas* GEMM vocabulary of compat/cuda.h for a build without a vendor BLAS (HIP without
// hipBLAS, as on Debian 12): the same names and call pattern, served by one portable tiled kernel
// (compat/gemm_fallback.cu). Correct, f32 accumulation, not fast; never used by the CUDA build.
#pragma once

#include <cstddef>

// One handle per context: it remembers the stream the GEMMs run on (the workspace is unused).
struct GemmaGemmHandle;
using gpublasHandle_t = GemmaGemmHandle *;

enum class gpublasStatus_t : int {
    success = 0,
    alloc_failed = 1,   // gpublasCreate could not allocate the handle
    invalid_value = 2,  // null handle or pointer, negative size, unknown data type
    launch_failed = 3,  // the kernel launch returned an error
};
constexpr gpublasStatus_t gpublasSuccess = gpublasStatus_t::success;

enum class gpublasDataType : int { f32 = 0, f16 = 1, bf16 = 2 };
constexpr gpublasDataType kGpuBlasF32 = gpublasDataType::f32;
constexpr gpublasDataType kGpuBlasF16 = gpublasDataType::f16;
constexpr gpublasDataType kGpuBlasBf16 = gpublasDataType::bf16;

gpublasStatus_t gpublasCreate(gpublasHandle_t * h);
gpublasStatus_t gpublasDestroy(gpublasHandle_t h);
gpublasStatus_t gpublasSetStream(gpublasHandle_t h, gpuStream_t s);
gpublasStatus_t gpublasSetWorkspace(gpublasHandle_t h, void * workspace, size_t bytes);
const char * gpublasGetStatusString(gpublasStatus_t st);

// out[n, m] (row-major, f32) = x[n, k] · w[m, k]ᵀ + beta · out, x and w of type `ab`, f32
// accumulation in k order (so `pedantic` changes nothing). As with cuBLAS, out is not read
// when beta == 0. Enqueued on the handle's stream; returns launch_failed if the launch fails.
gpublasStatus_t gpublas_gemm_xwt(gpublasHandle_t h, int n, int m, int k, const void * x,
                                 const void * w, gpublasDataType ab, float * out, float beta,
                                 bool pedantic);
