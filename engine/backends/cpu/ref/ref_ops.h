// CPU reference kernels: plain scalar loops, f32 accumulation, readable before fast. They are the
// truth that optimized backends are compared against (tests/backend_ops), and the fallback a fast
// CPU backend may call for ops it does not specialise. Inputs are host tensors already validated
// by core op_check; math and shapes are those of core/ops.h.
#pragma once

#include "core/ops.h"
#include "core/tensor.h"

namespace gemma::cpu::ref {

// Mutable f32 element pointer of a (const) tensor view: a const view still owns writable data.
inline float * f32_data(const Tensor & t) { return static_cast<float *>(t.data); }

// Element i of a float tensor (f32/f16/bf16) as f32.
float load_f32(const Tensor & t, int64_t i);
// Row r (of width d) of a 2-D float or q8_0/q4_0 tensor into dst[0..d).
void load_row_f32(const Tensor & t, int64_t r, float * dst);

void get_rows(const Tensor & table, const Tensor & ids, float scale, const Tensor & out);
void matmul(const Tensor & x, const Tensor & w, const Tensor & out);
void rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out);
void rope(const Tensor & x, const Tensor & positions, const Tensor & freqs, const Tensor & out);
void kv_store(const Tensor & k, const Tensor & v, const Tensor & positions, const Tensor & k_cache,
              const Tensor & v_cache);
void attention(const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
               const Tensor & positions, const Tensor & block_ids, const AttentionDesc & desc,
               const Tensor & out);
void attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                     const Tensor & positions, const Tensor & row_seq, const Tensor & pages,
                     int page_size, const AttentionDesc & desc, const Tensor & out);
void gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out);
void add(const Tensor & a, const Tensor & b, const Tensor & out);
void mul(const Tensor & a, const Tensor & b, const Tensor & out);
void scale(const Tensor & x, float s, const Tensor & out);
void softcap(const Tensor & x, float cap, const Tensor & out);
void clamp(const Tensor & x, float lo, float hi, const Tensor & out);
void activation(const Tensor & x, Activation act, const Tensor & out);
void glu(const Tensor & x, const Tensor & out);
void conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out);
void layer_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out);
void im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out);
void chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                     const ChunkAttentionDesc & desc, const Tensor & out);
// Whether chunk_attention's query t keeps key position s (s may lie outside [0, n)).
bool chunk_slot_kept(ChunkMask mask, int64_t t, int64_t s, int64_t n, int past);
// Row ranges of the audio ops with dependencies between rows (the fast backend splits them
// across threads): output rows [r0, r1) of conv1d_dw (time steps), im2col (output image rows y)
// and chunk_attention (queries), computed exactly as the whole-tensor calls do.
void conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out, int64_t t0, int64_t t1);
void im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out, int64_t y0, int64_t y1);
void chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                     const ChunkAttentionDesc & desc, const Tensor & out, int64_t t0, int64_t t1);
void copy(const Tensor & src, const Tensor & dst);
void transpose01(const Tensor & x, const Tensor & out);
void top_k(const Tensor & logits, const Tensor & ids, const Tensor & values, const Tensor & lse);
// log Σ exp(x[j]) accumulated in double (Op::top_k's lse rule for ±inf).
float row_logsumexp(const float * x, int64_t n);

}  // namespace gemma::cpu::ref
