// Element-wise ops on f32 activations (core/ops.h): add and mul with b broadcast (b full, one row
// of width d, or one value; f32/f16/bf16), gelu_tanh_mul (gate, up f32), scale, softcap and clamp.
// out may alias a (each element is read before it is written by the same thread).
// gelu_tanh(z) = 0.5 z (1 + tanh(√(2/π)(z + 0.044715 z³))) with the accurate tanhf, as cpu-ref.
#include "backends/cuda/ops/common.cuh"

namespace gemma::cuda {
namespace {

__device__ __forceinline__ float elt_b(const EltParams & p, int64_t i) {
    int64_t j = p.nb == p.n ? i : p.nb == 1 ? 0 : i % p.d;
    return load_elem(p.b, j, p.btype);
}

__global__ void elementwise_kernel(EltParams p) {
    pdl_enter();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n;
         i += int64_t(gridDim.x) * blockDim.x) {
        float a = p.a[i], r = 0.0f;
        switch (p.op) {
            case EltOp::add:
                r = a + elt_b(p, i);
                break;
            case EltOp::mul:
                r = a * elt_b(p, i);
                break;
            case EltOp::gelu_tanh_mul:
                r = gelu_tanh_f32(a) * static_cast<const float *>(p.b)[i];
                break;
            case EltOp::scale:
                r = a * p.s;
                break;
            case EltOp::softcap:
                r = p.s * tanhf(a / p.s);
                break;
            case EltOp::clamp:
                r = fminf(fmaxf(a, p.s), p.s2);
                break;
        }
        p.out[i] = r;
    }
}

}  // namespace

LaunchResult launch_elementwise(const EltParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    return launch_kernel(elementwise_kernel, grid_blocks(p.n, 256, env), 256, 0, s, env, p);
}

}  // namespace gemma::cuda
