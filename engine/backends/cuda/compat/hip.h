// HIP (ROCm) names behind the gpu* / gemma_* vocabulary of compat/gpu.h, so backends/hip builds
// the CUDA sources unchanged. Differences between the two APIs live here, never in kernels.
#pragma once

#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

// ---- runtime ----
constexpr const char * kGpuApiName = "HIP";  // for messages, as compat/cuda.h
constexpr const char * kGpuDriverTool = "rocminfo";
using gpuError_t = hipError_t;
using gpuStream_t = hipStream_t;
using gpuGraph_t = hipGraph_t;
using gpuGraphExec_t = hipGraphExec_t;
using gpuMemPool_t = hipMemPool_t;
using gpuDeviceProp = hipDeviceProp_t;
constexpr gpuError_t gpuSuccess = hipSuccess;
#define gpuGetErrorString hipGetErrorString
#define gpuGetLastError hipGetLastError
#define gpuGetDeviceCount hipGetDeviceCount
#define gpuGetDeviceProperties hipGetDeviceProperties
#define gpuSetDevice hipSetDevice
#define gpuStreamCreateWithFlags hipStreamCreateWithFlags
#define gpuStreamNonBlocking hipStreamNonBlocking
#define gpuStreamDestroy hipStreamDestroy
#define gpuStreamSynchronize hipStreamSynchronize
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor hipOccupancyMaxActiveBlocksPerMultiprocessor
#define gpuMalloc hipMalloc
#define gpuFree hipFree
#define gpuMallocAsync hipMallocAsync
#define gpuFreeAsync hipFreeAsync
#define gpuMallocHost hipHostMalloc
#define gpuFreeHost hipHostFree
#define gpuMemsetAsync hipMemsetAsync
#define gpuMemcpyAsync hipMemcpyAsync
#define gpuMemcpyHostToDevice hipMemcpyHostToDevice
#define gpuMemcpyDeviceToHost hipMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define gpuMemGetInfo hipMemGetInfo
#define gpuDeviceGetDefaultMemPool hipDeviceGetDefaultMemPool
#define gpuMemPoolSetAttribute hipMemPoolSetAttribute
#define gpuMemPoolAttrReleaseThreshold hipMemPoolAttrReleaseThreshold
#define gpuHostRegister hipHostRegister
#define gpuHostUnregister hipHostUnregister
#define gpuHostRegisterMapped hipHostRegisterMapped
#ifdef hipHostRegisterReadOnly
#define gpuHostRegisterReadOnly hipHostRegisterReadOnly
#else  // HIP before 5.4 has no read-only flag: mapping a read-only file then fails (an Error)
#define gpuHostRegisterReadOnly 0u
#endif
#define gpuHostGetDevicePointer hipHostGetDevicePointer
#define gpuStreamBeginCapture hipStreamBeginCapture
#define gpuStreamEndCapture hipStreamEndCapture
#define gpuStreamCaptureModeThreadLocal hipStreamCaptureModeThreadLocal
#define gpuGraphLaunch hipGraphLaunch
#define gpuGraphDestroy hipGraphDestroy
#define gpuGraphExecDestroy hipGraphExecDestroy
using gpuEvent_t = hipEvent_t;
#define gpuEventCreate hipEventCreate
#define gpuEventDestroy hipEventDestroy
#define gpuEventRecord hipEventRecord
#define gpuEventSynchronize hipEventSynchronize
#define gpuEventElapsedTime hipEventElapsedTime
// Profiler range markers: HIP deprecates them (rocprof has its own ranges) but still has them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
inline gpuError_t gpuProfilerStart() { return hipProfilerStart(); }
inline gpuError_t gpuProfilerStop() { return hipProfilerStop(); }
#pragma GCC diagnostic pop
inline gpuError_t gpu_graph_instantiate(gpuGraphExec_t * exec, gpuGraph_t graph) {
    return hipGraphInstantiate(exec, graph, nullptr, nullptr, 0);
}
template <class... KArgs>
inline gpuError_t gpu_set_max_dynamic_smem(void (*kernel)(KArgs...), int bytes) {
    return hipFuncSetAttribute(reinterpret_cast<const void *>(kernel),
                               hipFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

// ---- BLAS: hipBLAS when backends/hip found it (GEMMA_HIP_BLAS), else the portable fallback ----
#if defined(GEMMA_HIP_BLAS)
#ifndef HIPBLAS_V2
#define HIPBLAS_V2  // hipDataType / hipblasComputeType_t signatures (ROCm 6+)
#endif
#include <hipblas/hipblas.h>

using gpublasHandle_t = hipblasHandle_t;
using gpublasStatus_t = hipblasStatus_t;
using gpublasDataType = hipDataType;
constexpr gpublasStatus_t gpublasSuccess = HIPBLAS_STATUS_SUCCESS;
constexpr gpublasDataType kGpuBlasF32 = HIP_R_32F;
constexpr gpublasDataType kGpuBlasF16 = HIP_R_16F;
constexpr gpublasDataType kGpuBlasBf16 = HIP_R_16BF;
#define gpublasCreate hipblasCreate
#define gpublasDestroy hipblasDestroy
#define gpublasSetStream hipblasSetStream
#define gpublasSetWorkspace hipblasSetWorkspace
#define gpublasGetStatusString hipblasStatusToString
// out[n, m] (row-major, f32) = x[n, k] · w[m, k]ᵀ + beta · out; see compat/cuda.h.
inline gpublasStatus_t gpublas_gemm_xwt(gpublasHandle_t h, int n, int m, int k, const void * x,
                                        const void * w, gpublasDataType ab, float * out, float beta,
                                        bool) {
    const float one = 1.0f;
    return hipblasGemmEx(h, HIPBLAS_OP_T, HIPBLAS_OP_N, m, n, k, &one, w, ab, k, x, ab, k, &beta,
                         out, HIP_R_32F, m, HIPBLAS_COMPUTE_32F, HIPBLAS_GEMM_DEFAULT);
}
#else
#include "backends/cuda/compat/gemm_fallback.h"
#endif

// No programmatic dependent launch on HIP: a plain launch (see compat/cuda.h).
template <class... KArgs, class... Args>
inline gpuError_t gpu_launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                                 gpuStream_t s, bool, Args... args) {
    hipLaunchKernelGGL(kernel, grid, block, smem, s, args...);
    return hipGetLastError();
}
// No thread-block clusters mapped here (gpu_launch_cluster, gemma_cluster_* in compat/cuda.h):
// MMQ keeps its k splits summed by a kernel of their own.
#define GEMMA_HAS_CLUSTERS 0

// ---- device side ----
// One wavefront width per build, the same in the host and device passes (launch shapes depend on
// it): 64 for CDNA (gfx9*), 32 for RDNA (gfx10*/gfx11*, where HIP refuses wave64).
// backends/hip/CMakeLists.txt sets GEMMA_HIP_WARP from the target list.
#ifndef GEMMA_HIP_WARP
#define GEMMA_HIP_WARP 64
#endif
#define GEMMA_WARP GEMMA_HIP_WARP
#if defined(__HIP_DEVICE_COMPILE__) && __AMDGCN_WAVEFRONT_SIZE != GEMMA_WARP
#error "GEMMA_HIP_WARP is not this target's wavefront size (CDNA: 64, RDNA: 32)"
#endif
// Warp matrix multiply (gemma_wmma, ops/attention_tc.cu) needs rocWMMA, which Debian 12 lacks:
// without it GEMMA_HAS_WMMA is 0, attention_tc_ok() says no and attention runs the SIMT kernel.
#if __has_include(<rocwmma/rocwmma.hpp>)
#define GEMMA_HAS_WMMA 1
#else
#define GEMMA_HAS_WMMA 0
#endif
// No mma.sync / ldmatrix equivalents mapped here: ops/attention_fa.cu and ops/matmul_mma.cu
// compile to "not built", attention_fa_ok() / matmul_mma_ok() say no (the prefill then takes
// attention_tc or the SIMT kernel, small-batch matmuls the BLAS paths).
#define GEMMA_HAS_MMA_M16N8K16 0
// Nor int8 mma.sync / cp.async: ops/matmul_quant_mmq.cu compiles to "not built" and the backend
// keeps the dequantized-tile path for quantized matmuls of 9+ x rows.
#define GEMMA_HAS_MMA_INT8 0
#if defined(__HIPCC__)
#if GEMMA_HAS_WMMA
#include <rocwmma/rocwmma.hpp>
namespace gemma_wmma = rocwmma;  // the nvcuda::wmma names (compat/cuda.h)
using gemma_half = rocwmma::float16_t;
#endif
#define gemma_syncwarp() __builtin_amdgcn_wave_barrier()
#define gemma_shfl_xor(v, m) __shfl_xor((v), (m))
__device__ __forceinline__ float gemma_f16_to_f32(uint16_t h) {
    return __half2float(__ushort_as_half(h));
}
__device__ __forceinline__ uint16_t gemma_f32_to_f16(float f) {
    return __half_as_ushort(__float2half_rn(f));
}
// See compat/cuda.h. Portable byte arithmetic (targets without a dot4 instruction).
__device__ __forceinline__ int gemma_dp4a(int a, int b, int c) {
    for (int i = 0; i < 32; i += 8) c += int(int8_t(a >> i)) * int(int8_t(b >> i));
    return c;
}
__device__ __forceinline__ int gemma_byte_perm(int a, int b, unsigned s) {
    return int(__byte_perm(unsigned(a), unsigned(b), s));
}
__device__ __forceinline__ void gemma_pdl_wait() {}
__device__ __forceinline__ void gemma_pdl_trigger() {}
__device__ __forceinline__ void gemma_prefetch_l2(const void *) {}
#endif
