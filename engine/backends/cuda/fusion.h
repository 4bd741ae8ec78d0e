// Decode fusions of the CUDA backend: an op about to be recorded is folded into the op recorded
// just before it when together they form a known pattern of the decoder layer, so the model
// code stays op by op (core/ops.h) while a step launches about half the kernels:
//   rms_norm(a) → add(h, a) [→ mul(h, scalar)] [→ rms_norm(h) → x]     one row_fuse kernel
//   rms_norm(q) → rope(q)                                              one norm_rope kernel
//   rms_norm(k) → rms_norm(v) → rope(k) → kv_store(k, v)               one norm_rope kernel
//     (caches f32, bf16 or q8_0; q8_0 only when head_dim % 32 == 0, else kv_store stays apart)
//   matmul(x, w1) → matmul(x, w2)                                      one dual gemv
//   matmul(x, wg) → matmul(x, wu) → gelu_tanh_mul(g, u)                one gemv (dual_gelu)
//   matmul(x, w) → gelu_tanh_mul(g, b)                                 one gemv (gelu_mul)
//   (the three above also for q8_0 / q4_0 weights: one quant gemv)
// Every intermediate buffer the ops wrote is still written, with the same values (same f32
// operations and reduction orders as the unfused kernels), so fusion is invisible to the model.
// Patterns match on exact buffer identity; anything else is recorded unfused.
#pragma once

#include "backends/cuda/op_queue.h"

namespace gemma::cuda {

// Each returns true when the op was folded into the last pending record (nothing to push).
bool fuse_matmul(OpQueue & q, const MatmulParams & p);
bool fuse_matmul_quant(OpQueue & q, const QuantMatmulParams & p);
bool fuse_gelu_mul(OpQueue & q, const EltParams & p);
bool fuse_add(OpQueue & q, const EltParams & p);
bool fuse_mul(OpQueue & q, const EltParams & p);
bool fuse_rms_norm(OpQueue & q, const RmsNormParams & p);
bool fuse_rope(OpQueue & q, const RopeParams & p);
bool fuse_kv_store(OpQueue & q, const KvStoreParams & p);

}  // namespace gemma::cuda
