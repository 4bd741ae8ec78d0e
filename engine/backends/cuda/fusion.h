// Decode fusions of the CUDA backend: an op about to be recorded is folded into the op recorded
// just before it (or, for the q/k/v joins, into the two records before it) when together they
// form a known pattern of the decoder layer, so the model code stays op by op (core/ops.h) while
// a step launches about half the kernels:
//   rms_norm(a) → add(h, a) [→ mul(h, scalar)] [→ rms_norm(h) → x]     one row_fuse kernel
//   rms_norm(q) → rope(q)                                              one norm_rope kernel
//   rms_norm(k) → rms_norm(v) → rope(k) → kv_store(k, v)               one norm_rope kernel
//     (caches f32, bf16 or q8_0; q8_0 only when head_dim % 32 == 0, else kv_store stays apart)
//   norm_rope(q) → norm_rope(k, v) [+ kv_store]                        one norm_rope kernel (qkv)
//   matmul(x, w1) → matmul(x, w2)                                      one dual gemv
//   matmul(x, wq) → matmul(x, wk) → matmul(x, wv)                      one triple gemv (qkv)
//     (q's m may differ from k's and v's; made when v joins k into a dual and q's gemv of the
//     same x was recorded just before)
//   matmul(x, wg) → matmul(x, wu) → gelu_tanh_mul(g, u)                one gemv (dual_gelu)
//   matmul(x, w) → gelu_tanh_mul(g, b)                                 one gemv (gelu_mul)
//   (the gemv patterns also for q8_0 / q4_0 weights: one quant gemv)
//   row_fuse(→ x) → matmul(x, w) [→ any gemv pattern above]            one gemv (row)
//     (or row_fuse without x → matmul(h_out, w); 1-2 rows, d within row_fold_fits, launch.h)
// The two (qkv) joins follow the attention block's order (model/gemma4/attention.cpp: q, k, v
// projections, then q's norm + rope, then k's and v's); CudaOptions::fuse_qkv (env
// GEMMA_CUDA_FUSE_QKV=0) turns just them off.
// The (row) fold makes the row_fuse the GEMV's prologue: every GEMV block forms the row_fuse's
// rows in shared memory with its exact operations (ops/row_fuse.cuh) and reads that x; the last
// block to have read a and h_in writes a, h_out and x (h_out may alias h_in). In the decoder
// layer (batch-1 and 2 decode) it joins: the post-attention tail (norm_add_norm) to the gate/up
// dual_gelu GEMV, the post-FFN tail (norm_add) to the PLE gate GEMV (gelu_mul, reading h), the
// PLE tail (norm_add_scale_norm) to the next layer's q/k/v triple GEMV, and the last layer's to
// the final norm's GEMV when one reads it. CudaOptions::fuse_row (env GEMMA_CUDA_FUSE_ROW=0)
// turns just it off.
// (round), prefill only: a blas_lowp / blas_split matmul (ops/matmul.cu: x rounded to w's 16-bit
// type, hi [+ lo], into its scratch, then cuBLAS) skips its rounding kernel when the record just
// before it already leaves those bytes in the same scratch:
//   matmul(x, w1) → matmul(x, w2)    same x, n, k, w type, path and scratch, w1's out apart
//                                    from x (k and v after q, up after gate)
//   row_fuse(→ x) → matmul(x, w)     the row_fuse writes hi [+ lo] of its x (or of h_out without
//   gelu_tanh_mul(→ x) → matmul(x, w)  x), all rows, as well: the q and gate projections, the
//                                    PLE gate (reading h), down and the PLE projection
//   attention_fa(→ x) → matmul(x, w)  the attention writes hi [+ lo] of its whole out (x =
//                                    [n, hq · d]) as well: the o projection
// Only the very last record counts: nothing else can have written x or the scratch (slot 0,
// handed out per matmul; the same size gives the same block) in between, and a segment launch
// or flush in between (empty queue) ends the chain. Producers round with the matmul's own code
// (ops/x16.cuh), so cuBLAS reads bitwise the same bytes. The same reuse for the batched-decode
// int8 matmuls (MMQ, ops/matmul_quant_mmq.cu, x rounded by mmq_round_x into scratch slot 3):
//   mmq(x, w1) → mmq(x, w2)          same x, n, k, weight type and scratch, w1's out apart from x
// CudaOptions::fuse_round (env GEMMA_CUDA_FUSE_ROUND=0) turns both off.
// (discard): Backend::discard(t), the model's word that it will not read t again, lets the
// producer of t skip its f32 store when, pointer by pointer, no record after it read those bytes:
//   row_fuse [(round)] → [matmuls] → discard(a)    the normalized a is not written back
//   row_fuse (round, → x) → matmul(x) … → discard(x)   x's f32 values are not stored
//   gelu_tanh_mul (round) → matmul(out) → discard(out)   the f32 out is not stored
// where every record in between is a blas matmul that found its x's 16-bit terms ready (it reads
// those, its weights and, with split, its out; never x's f32): x may be t itself (the q/k/v or
// gate/up projections, down), its scratch, weights and out lie apart from t. The 16-bit terms
// and every other output are still stored, with the same values. The producer's output must lie
// whole inside t and apart from the producer's other operands; anything else (another record in
// between, a segment launch or flush since the producer) leaves the record as it is. A row_fuse
// later folded into a decode GEMV writes a regardless. CudaOptions::fuse_discard (env
// GEMMA_CUDA_FUSE_DISCARD=0) turns it off.
// (ffn16), "cuda-bf16" with bf16 weights (blas_lowp), CUDA builds: when, after
//   matmul(x, wg) → gate, matmul(x, wu) → up, gelu_tanh_mul(gate, up) → gate (round, its f32 out
//   already skipped: gate discarded), matmul(gate, wd) (reading the terms),
// the model discards up as well, the gate and up GEMMs write their products rounded to bf16
// into the first half of their own buffers and the gelu reads those: half the bytes written and
// read. Not bitwise: gelu's inputs are rounded to bf16 once more (within the mode's 1e-2 class).
// The model discards gate first, then up (text.cpp mlp_block). Off by default (no gain measured);
// CudaOptions::ffn_bf16 (env GEMMA_CUDA_FFN_BF16=1) turns it on.
// Every intermediate buffer the ops wrote is still written, with the same values (the same f32
// operations as the unfused kernels; a fused GEMV is shaped by all its rows, so the k split of
// its rows, and with it their summation order, may differ from the unfused GEMVs'; the (row)
// fold changes nothing of a GEMV's shape: its results are bitwise those without it), so fusion
// is invisible to the model, except the stores (discard) drops, of buffers the model declared
// dead, and (ffn16)'s rounding in "cuda-bf16". Patterns match on exact buffer identity; anything
// else is recorded unfused.
#pragma once

#include "backends/cuda/op_queue.h"

namespace gemma::cuda {

// Each returns true when the op was folded into the last pending record (nothing to push).
// qkv: also make the (qkv) joins above; row: also the (row) fold.
bool fuse_matmul(OpQueue & q, const MatmulParams & p, bool qkv, bool row);
bool fuse_matmul_quant(OpQueue & q, const QuantMatmulParams & p, bool qkv, bool row);
bool fuse_gelu_mul(OpQueue & q, const EltParams & p);
bool fuse_add(OpQueue & q, const EltParams & p);
bool fuse_mul(OpQueue & q, const EltParams & p);
bool fuse_rms_norm(OpQueue & q, const RmsNormParams & p);
bool fuse_rope(OpQueue & q, const RopeParams & p, bool qkv);
bool fuse_kv_store(OpQueue & q, const KvStoreParams & p);
// (round): true when blas matmul p may skip rounding x (set p.x16_ready; p is then pushed as
// usual): the record before it wrote x's 16-bit terms, or now does (it was extended).
bool fuse_round_x(OpQueue & q, const MatmulParams & p);
// (round), batched decode: true when mmq matmul p may skip mmq_round_x (set p.x_ready): the
// record before it is an mmq matmul that rounded (or found rounded) the same x, n, k and weight
// type into the same scratch and wrote nothing x is made of (q, then k and v; gate, then up).
bool fuse_mmq_x(OpQueue & q, const QuantMatmulParams & p, const LaunchEnv & env);
// (discard): the model will not read bytes [t, t + bytes) again. Marks the pending producer of
// an output lying in them to skip its f32 store where the pattern above proves it unread;
// returns how many stores were dropped (0: records unchanged).
size_t discard_unread(OpQueue & q, const void * t, size_t bytes);
// (ffn16): with t holding up, makes the four last records the bf16 variant above; true if so.
// The caller checks the precision and that the build has the bf16-out GEMM.
bool ffn_bf16_out(OpQueue & q, const void * t, size_t bytes);

}  // namespace gemma::cuda
