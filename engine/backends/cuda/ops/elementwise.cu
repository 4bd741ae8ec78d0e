// Element-wise ops on f32 activations (core/ops.h): add and mul with b broadcast (b full, one row
// of width d, or one value; f32/f16/bf16), gelu_tanh_mul (gate, up f32), scale, softcap and clamp.
// out may alias a (each element is read before it is written by the same thread).
// gelu_tanh(z) = 0.5 z (1 + tanh(√(2/π)(z + 0.044715 z³))) with the accurate tanhf, as cpu-ref.
// The (round) variant also writes out as the 16-bit terms of the prefill GEMM that reads it
// (fusion.h), and may leave out the f32 store of an out the model discarded (EltRoundParams
// skip_out, fusion.h (discard)); its gelu_tanh_mul may read a and b as bf16 (in_bf16, fusion.h
// (ffn16)).
#include "backends/cuda/ops/x16.cuh"

namespace gemma::cuda {
namespace {

__device__ __forceinline__ float elt_b(const EltParams & p, int64_t i) {
    int64_t j = p.nb == p.n ? i : p.nb == 1 ? 0 : i % p.d;
    return load_elem(p.b, j, p.btype);
}

// With kRound, each out[i] is also stored as r's 16-bit terms at index i. store_out false (a
// runtime argument: one instance computes v either way) drops only the f32 store. in_bf16: a
// (and gelu_tanh_mul's b) are bf16, widened exactly (the launch allows it for that op only).
template <bool kRound>
__global__ void elementwise_kernel(EltParams p, Round16Out r, bool store_out, bool in_bf16) {
    pdl_enter();
    uint16_t * hi = kRound ? static_cast<uint16_t *>(r.hi) : nullptr;
    uint16_t * lo = kRound ? x16_lo(r, p.n) : nullptr;
    const ElemType in_type = in_bf16 ? ElemType::bf16 : ElemType::f32;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n;
         i += int64_t(gridDim.x) * blockDim.x) {
        float a = in_bf16 ? load_elem(p.a, i, ElemType::bf16) : p.a[i], v = 0.0f;
        switch (p.op) {
            case EltOp::add:
                v = a + elt_b(p, i);
                break;
            case EltOp::mul:
                v = a * elt_b(p, i);
                break;
            case EltOp::gelu_tanh_mul:
                v = gelu_tanh_f32(a) * load_elem(p.b, i, in_type);
                break;
            case EltOp::scale:
                v = a * p.s;
                break;
            case EltOp::softcap:
                v = p.s * tanhf(a / p.s);
                break;
            case EltOp::clamp:
                v = fminf(fmaxf(a, p.s), p.s2);
                break;
        }
        if (store_out) p.out[i] = v;
        if (kRound) x16_store(hi, lo, i, v, r.type);
    }
}

}  // namespace

LaunchResult launch_elementwise(const EltParams & p, gpuStream_t s, const LaunchEnv & env) {
    if (p.n == 0) return nullptr;
    return launch_kernel(elementwise_kernel<false>, grid_blocks(p.n, 256, env), 256, 0, s, env, p,
                         Round16Out{}, true, false);
}

LaunchResult launch_elementwise_round(const EltRoundParams & p, gpuStream_t s,
                                      const LaunchEnv & env) {
    if (p.e.n == 0) return nullptr;
    if (!p.r.hi || (p.r.type != ElemType::bf16 && p.r.type != ElemType::f16))
        return "elementwise: the 16-bit output needs a buffer and a bf16 / f16 type";
    if (p.in_bf16 && (p.e.op != EltOp::gelu_tanh_mul || !p.skip_out))
        return "elementwise: bf16 inputs only for gelu_tanh_mul with its f32 out skipped";
    return launch_kernel(elementwise_kernel<true>, grid_blocks(p.e.n, 256, env), 256, 0, s, env,
                         p.e, p.r, p.skip_out == 0, p.in_bf16 != 0);
}

}  // namespace gemma::cuda
