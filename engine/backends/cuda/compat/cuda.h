// CUDA names behind the gpu* / gemma_* vocabulary of compat/gpu.h. compat/hip.h maps the same
// names to HIP; kernels and cuda_backend.cpp use only these names.
#pragma once

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

// ---- runtime ----
// For messages: the API's name and the tool that shows whether the driver sees a device.
constexpr const char * kGpuApiName = "CUDA";
constexpr const char * kGpuDriverTool = "nvidia-smi";
using gpuError_t = cudaError_t;
using gpuStream_t = cudaStream_t;
using gpuGraph_t = cudaGraph_t;
using gpuGraphExec_t = cudaGraphExec_t;
using gpuMemPool_t = cudaMemPool_t;
using gpuDeviceProp = cudaDeviceProp;
constexpr gpuError_t gpuSuccess = cudaSuccess;
#define gpuGetErrorString cudaGetErrorString
#define gpuGetLastError cudaGetLastError
#define gpuGetDeviceCount cudaGetDeviceCount
#define gpuGetDeviceProperties cudaGetDeviceProperties
#define gpuSetDevice cudaSetDevice
#define gpuStreamCreateWithFlags cudaStreamCreateWithFlags
#define gpuStreamNonBlocking cudaStreamNonBlocking
#define gpuStreamDestroy cudaStreamDestroy
#define gpuStreamSynchronize cudaStreamSynchronize
#define gpuProfilerStart cudaProfilerStart
#define gpuOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define gpuProfilerStop cudaProfilerStop
#define gpuMalloc cudaMalloc
#define gpuFree cudaFree
#define gpuMallocAsync cudaMallocAsync
#define gpuFreeAsync cudaFreeAsync
#define gpuMallocHost cudaMallocHost
#define gpuFreeHost cudaFreeHost
#define gpuMemsetAsync cudaMemsetAsync
#define gpuMemcpyAsync cudaMemcpyAsync
#define gpuMemcpyHostToDevice cudaMemcpyHostToDevice
#define gpuMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define gpuMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define gpuMemGetInfo cudaMemGetInfo
#define gpuDeviceGetDefaultMemPool cudaDeviceGetDefaultMemPool
#define gpuMemPoolSetAttribute cudaMemPoolSetAttribute
#define gpuMemPoolAttrReleaseThreshold cudaMemPoolAttrReleaseThreshold
#define gpuHostRegister cudaHostRegister
#define gpuHostUnregister cudaHostUnregister
#define gpuHostRegisterMapped cudaHostRegisterMapped
#define gpuHostRegisterReadOnly cudaHostRegisterReadOnly
#define gpuHostGetDevicePointer cudaHostGetDevicePointer
#define gpuStreamBeginCapture cudaStreamBeginCapture
#define gpuStreamEndCapture cudaStreamEndCapture
#define gpuStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define gpuGraphLaunch cudaGraphLaunch
#define gpuGraphDestroy cudaGraphDestroy
#define gpuGraphExecDestroy cudaGraphExecDestroy
using gpuEvent_t = cudaEvent_t;
#define gpuEventCreate cudaEventCreate
#define gpuEventDestroy cudaEventDestroy
#define gpuEventRecord cudaEventRecord
#define gpuEventSynchronize cudaEventSynchronize
#define gpuEventElapsedTime cudaEventElapsedTime
inline gpuError_t gpu_graph_instantiate(gpuGraphExec_t * exec, gpuGraph_t graph) {
    return cudaGraphInstantiate(exec, graph, 0);
}
// Opt a kernel into more than 48 KiB of dynamic shared memory.
template <class... KArgs>
inline gpuError_t gpu_set_max_dynamic_smem(void (*kernel)(KArgs...), int bytes) {
    return cudaFuncSetAttribute(reinterpret_cast<const void *>(kernel),
                                cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

// kernel<<<grid, block, smem, s>>>(args...); with `pdl` the launch may begin while the previous
// kernel in the stream finishes (programmatic dependent launch, sm_90+; kept in graph capture).
// Such a kernel must call gemma_pdl_wait() before it reads anything an earlier kernel wrote.
template <class... KArgs, class... Args>
inline gpuError_t gpu_launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                                 gpuStream_t s, bool pdl, Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    cudaLaunchAttribute attr = {};
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = pdl ? &attr : nullptr;
    cfg.numAttrs = pdl ? 1 : 0;
    return cudaLaunchKernelEx(&cfg, kernel, args...);
}

// Thread-block clusters (sm_90+): gpu_max_active_clusters / gpu_launch_cluster here and the
// gemma_cluster_* device functions below (ops/matmul_quant_mmq.cu, ops/attention_fa.cu); 0 in
// compat/hip.h, whose builds keep the paths without clusters. Clusters of up to
// kGpuMaxPortableCluster blocks need no opt-in (the portable size).
#define GEMMA_HAS_CLUSTERS 1
constexpr int kGpuMaxPortableCluster = 8;

// How many clusters of `cluster` blocks of `kernel` (`block` threads, `smem` bytes of dynamic
// shared memory each, opted in already) can be resident at once: 0 when they cannot run here
// (the kernel's binary for this device is older than sm_90, the device has no clusters, or the
// query fails; the error is cleared).
template <class... KArgs>
inline int gpu_max_active_clusters(void (*kernel)(KArgs...), dim3 block, size_t smem,
                                   dim3 cluster) {
    const void * f = reinterpret_cast<const void *>(kernel);
    cudaFuncAttributes fa = {};
    if (cudaFuncGetAttributes(&fa, f) != cudaSuccess || fa.binaryVersion < 90) {
        (void)cudaGetLastError();
        return 0;
    }
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = cluster;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute attr = {};
    attr.id = cudaLaunchAttributeClusterDimension;
    attr.val.clusterDim.x = cluster.x;
    attr.val.clusterDim.y = cluster.y;
    attr.val.clusterDim.z = cluster.z;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
    int clusters = 0;
    if (cudaOccupancyMaxActiveClusters(&clusters, f, &cfg) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return clusters;
}

// gpu_launch_pdl with the grid's blocks grouped into clusters of `cluster` blocks (the grid a
// multiple of it; gpu_max_active_clusters() > 0 for this shape): the blocks of a cluster run at
// once and reach each other's shared memory (gemma_cluster_*). PDL as gpu_launch_pdl.
template <class... KArgs, class... Args>
inline gpuError_t gpu_launch_cluster(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                                     gpuStream_t s, bool pdl, dim3 cluster, Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    cudaLaunchAttribute attrs[2] = {};
    attrs[0].id = cudaLaunchAttributeClusterDimension;
    attrs[0].val.clusterDim.x = cluster.x;
    attrs[0].val.clusterDim.y = cluster.y;
    attrs[0].val.clusterDim.z = cluster.z;
    attrs[1].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attrs[1].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attrs;
    cfg.numAttrs = pdl ? 2 : 1;
    return cudaLaunchKernelEx(&cfg, kernel, args...);
}

// ---- BLAS (cuBLAS) ----
using gpublasHandle_t = cublasHandle_t;
using gpublasStatus_t = cublasStatus_t;
using gpublasDataType = cudaDataType_t;
constexpr gpublasStatus_t gpublasSuccess = CUBLAS_STATUS_SUCCESS;
constexpr gpublasDataType kGpuBlasF32 = CUDA_R_32F;
constexpr gpublasDataType kGpuBlasF16 = CUDA_R_16F;
constexpr gpublasDataType kGpuBlasBf16 = CUDA_R_16BF;
#define gpublasCreate cublasCreate
#define gpublasDestroy cublasDestroy
#define gpublasSetStream cublasSetStream
#define gpublasSetWorkspace cublasSetWorkspace
#define gpublasGetStatusString cublasGetStatusString
// out[n, m] (row-major, f32) = x[n, k] · w[m, k]ᵀ + beta · out, x and w of type `ab`, f32
// accumulation. `pedantic`: no reduced-precision shortcuts (TF32) for f32 inputs.
inline gpublasStatus_t gpublas_gemm_xwt(gpublasHandle_t h, int n, int m, int k, const void * x,
                                        const void * w, gpublasDataType ab, float * out, float beta,
                                        bool pedantic) {
    const float one = 1.0f;
    return cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, w, ab, k, x, ab, k, &beta, out,
                        CUDA_R_32F, m, pedantic ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT);
}

// ---- device side ----
#define GEMMA_WARP 32
#define GEMMA_HAS_WMMA 1  // gemma_wmma below (ops/attention_tc.cu); compat/hip.h may lack it
// gemma_mma_m16n8k16_f16 / _bf16, gemma_ldmatrix_x4*, gemma_cp_async* below (ops/attention_fa.cu,
// ops/matmul_mma.cu): sm_80+ warp MMA with the documented fragment layout (PTX ISA "Matrix
// fragments for mma.m16n8k16") and async copies; 0 in compat/hip.h.
#define GEMMA_HAS_MMA_M16N8K16 1
// gemma_mma_m16n8k32_s8 / gemma_mma_m16n8k16_s8 / gemma_cp_async16 below (ops/matmul_quant_mmq.cu):
// sm_80+ int8 warp MMA (PTX ISA "Matrix fragments for mma.m16n8k32 / m16n8k16 with integer
// type") and asynchronous global -> shared copies; 0 in compat/hip.h.
#define GEMMA_HAS_MMA_INT8 1
#if defined(__CUDACC__)
#include <mma.h>
// Warp-level matrix multiply-accumulate (tensor cores): 16×16×16 f16 fragments with f32
// accumulators. HIP maps the same names to rocWMMA (compat/hip.h).
namespace gemma_wmma = nvcuda::wmma;
using gemma_half = __half;
#define gemma_syncwarp() __syncwarp()
#define gemma_shfl_xor(v, m) __shfl_xor_sync(0xffffffffu, (v), (m))
__device__ __forceinline__ float gemma_f16_to_f32(uint16_t h) {
    return __half2float(__ushort_as_half(h));
}
__device__ __forceinline__ uint16_t gemma_f32_to_f16(float f) {
    return __half_as_ushort(__float2half_rn(f));
}
// d += a · b on tensor cores: A 16×16 f16 (row), B 16×8 f16 (col), D 16×8 f32. With
// g = lane / 4, t = lane % 4, the registers hold (PTX ISA, mma.m16n8k16 fragments):
//   a[0] A[g][2t, 2t+1]  a[1] A[g+8][2t, 2t+1]  a[2] A[g][2t+8, 2t+9]  a[3] A[g+8][2t+8, 2t+9]
//   b[0] B[2t, 2t+1][g]  b[1] B[2t+8, 2t+9][g]
//   d[0], d[1] D[g][2t, 2t+1]  d[2], d[3] D[g+8][2t, 2t+1]
// each f16x2 register with the lower index in its low half. sm_80+ (the host checks).
__device__ __forceinline__ void gemma_mma_m16n8k16_f16(float (&d)[4], const unsigned (&a)[4],
                                                       unsigned b0, unsigned b1) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();
#endif
}
// The same with bf16 A and B (identical fragment layout, PTX ISA: ".f16 / .bf16"); sm_80+.
__device__ __forceinline__ void gemma_mma_m16n8k16_bf16(float (&d)[4], const unsigned (&a)[4],
                                                        unsigned b0, unsigned b1) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();
#endif
}
// Four 8×8 16-bit matrices from shared memory: lanes 8m .. 8m+7 pass the addresses of matrix m's
// eight rows (16 bytes each, 16-byte aligned); r[m] gets matrix m's M[g][2t, 2t+1]
// (ldmatrix.x4), or with _trans its M[2t, 2t+1][g] (the B fragment of a row-major K×N tile).
// volatile + "memory": the shared contents change between calls with the same address.
__device__ __forceinline__ void gemma_ldmatrix_x4(unsigned (&r)[4], const void * smem_row) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 750
    unsigned addr = unsigned(__cvta_generic_to_shared(smem_row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void gemma_ldmatrix_x4_trans(unsigned (&r)[4], const void * smem_row) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 750
    unsigned addr = unsigned(__cvta_generic_to_shared(smem_row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
#else
    __trap();
#endif
}
// d += a · b on int8 tensor cores: A 16×32 s8 (row), B 32×8 s8 (col), D 16×8 s32 (exact integer
// sums, no saturation). Each register holds four bytes, the lowest index in the low byte. With
// g = lane / 4, t = lane % 4 (PTX ISA, mma.m16n8k32 integer fragments):
//   a[0] A[g][4t .. 4t+3]   a[1] A[g+8][4t .. 4t+3]   a[2] A[g][16+4t .. 16+4t+3]
//   a[3] A[g+8][16+4t .. 16+4t+3]
//   b0 B[4t .. 4t+3][g]     b1 B[16+4t .. 16+4t+3][g]
//   d[0], d[1] D[g][2t, 2t+1]   d[2], d[3] D[g+8][2t, 2t+1]
// sm_80+ (the host checks).
__device__ __forceinline__ void gemma_mma_m16n8k32_s8(int (&d)[4], const unsigned (&a)[4],
                                                      unsigned b0, unsigned b1) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();
#endif
}
// The same with K = 16 (mma.m16n8k16 integer fragments): a0 A[g][4t .. 4t+3],
// a1 A[g+8][4t .. 4t+3], b0 B[4t .. 4t+3][g]; d as above. sm_80+.
__device__ __forceinline__ void gemma_mma_m16n8k16_s8(int (&d)[4], unsigned a0, unsigned a1,
                                                      unsigned b0) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, "
        "{%0, %1, %2, %3};"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a0), "r"(a1), "r"(b0));
#else
    __trap();
#endif
}
// d = c + a · b for the two above, with every sum starting at the same c (given apart from d,
// so a constant start needs no copies into d before each mma). sm_80+.
__device__ __forceinline__ void gemma_mma_m16n8k32_s8_from(int (&d)[4], const unsigned (&a)[4],
                                                           unsigned b0, unsigned b1, int c) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%10, %10, %10, %10};"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(c));
#else
    __trap();
#endif
}
__device__ __forceinline__ void gemma_mma_m16n8k16_s8_from(int (&d)[4], unsigned a0, unsigned a1,
                                                           unsigned b0, int c) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5}, {%6}, "
        "{%7, %7, %7, %7};"
        : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
        : "r"(a0), "r"(a1), "r"(b0), "r"(c));
#else
    __trap();
#endif
}
// 16 bytes from global to shared memory without registers (cp.async, sm_80+): the first
// src_bytes (0-16) are read, the rest of the 16 are zero-filled; both addresses 16-byte aligned.
// Copies issued since the last gemma_cp_async_commit() form a group; gemma_cp_async_wait<n>()
// returns once at most n of this thread's groups are still pending (then a block barrier makes
// every thread's copies visible).
__device__ __forceinline__ void gemma_cp_async16(void * smem, const void * gmem, int src_bytes) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    unsigned addr = unsigned(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(addr), "l"(gmem),
                 "r"(src_bytes)
                 : "memory");
#else
    __trap();
#endif
}
__device__ __forceinline__ void gemma_cp_async_commit() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void gemma_cp_async_wait() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
#endif
}
// c + the dot product of a's and b's four signed bytes.
__device__ __forceinline__ int gemma_dp4a(int a, int b, int c) { return __dp4a(a, b, c); }
// Bytes of {b, a} (a: 0-3, b: 4-7) picked by the selector's nibbles (CUDA's __byte_perm).
__device__ __forceinline__ int gemma_byte_perm(int a, int b, unsigned s) {
    return int(__byte_perm(unsigned(a), unsigned(b), s));
}
// Programmatic dependent launch: wait until the previous kernel has finished and its writes are
// visible / let the next kernel start launching (its blocks then wait in gemma_pdl_wait()).
// Both are no-ops before sm_90 and when the kernel was launched without PDL.
__device__ __forceinline__ void gemma_pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void gemma_pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// A hint: bring the cache line holding p into L2 (no register written, never faults on an
// address the kernel may read). Used before gemma_pdl_wait() for weights, which no kernel writes.
__device__ __forceinline__ void gemma_prefetch_l2(const void * p) {
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}
// Thread-block clusters (launched by gpu_launch_cluster; sm_90+, the host checks with
// gpu_max_active_clusters). gemma_cluster_sync: every thread of every block of the cluster
// arrives (release) and waits (acquire), so shared-memory writes of any block before it are
// seen by every block after it; it is also a barrier of the block itself. Every thread must
// call it the same number of times. gemma_cluster_map_shared: the address of this block's
// shared-memory object p in the block of cluster rank `rank` (distributed shared memory, read
// with ordinary loads until that block passes its last gemma_cluster_sync).
__device__ __forceinline__ void gemma_cluster_sync() {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
    __cluster_barrier_arrive();
    __cluster_barrier_wait();
#else
    __trap();
#endif
}
template <class T>
__device__ __forceinline__ const T * gemma_cluster_map_shared(const T * p, unsigned rank) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
    return static_cast<const T *>(__cluster_map_shared_rank(p, rank));
#else
    __trap();
    return p;
#endif
}
#endif
