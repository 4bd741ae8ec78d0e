// The prefill GEMMs' cuBLAS calls (ops/matmul.cu, ops/matmul_quant.cu: out = x · wᵀ, f32 out;
// bf16 out for the MLP's gate and up in "cuda-bf16", fusion.h (ffn16))
// through cuBLASLt with the fastest of its heuristic's candidate algorithms per shape, measured
// once on the GPU the first time a shape runs outside graph capture, for row counts that are
// multiples of 128 (full prefill chunks); CUDA only (HIP and GEMMA_CUDA_BLAS_TUNE=0 keep plain
// gpublas_gemm_xwt).
#pragma once

#include "backends/cuda/ops/launch.h"

namespace gemma::cuda {

// Null (tuning off) on HIP builds, when disabled, or when cuBLASLt cannot start.
BlasTuner * blas_tuner_create(gpuStream_t stream, void * workspace, size_t workspace_bytes);
void blas_tuner_destroy(BlasTuner * t);

// gpublas_gemm_xwt (compat/) on env.blas, or with env.blas_tuner's algorithm for this shape.
// Several algorithms may be tried on `out` first (only for beta == 0: out is overwritten anyway).
gpublasStatus_t blas_gemm_xwt(const LaunchEnv & env, int n, int m, int k, const void * x,
                              const void * w, gpublasDataType ab, float * out, float beta,
                              bool pedantic);
// The same product (beta 0, x and w bf16) rounded to bf16: out [n, m] bf16 (fusion.h (ffn16)),
// tuned like blas_gemm_xwt, the plan keyed on the output type too. Null on success, else the
// failure; HIP builds have no such call (blas_bf16_out_available() false: never asked).
LaunchResult blas_gemm_xwt_bf16(const LaunchEnv & env, int n, int m, int k, const void * x,
                                const void * w, void * out);
bool blas_bf16_out_available();

}  // namespace gemma::cuda
