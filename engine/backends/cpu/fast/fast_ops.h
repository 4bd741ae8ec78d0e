// The fast CPU backend's op kernels: Highway SIMD inside, the thread pool across rows/heads.
// Inputs are host tensors already validated by core op_check; math and shapes are core/ops.h.
// Each returns when its output is written (eager, in-order).
#pragma once

#include "backends/cpu/fast/thread_pool.h"
#include "core/ops.h"
#include "core/tensor.h"

namespace gemma::cpu::fast {

// Mutable f32 element pointer of a (const) tensor view: a const view still owns writable data.
inline float * f32_data(const Tensor & t) { return static_cast<float *>(t.data); }

void matmul(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out);
// matmul with q8_0 / q4_0 weights (matmul_quant.cpp); matmul() dispatches to it.
void matmul_quant(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out);
void rms_norm(ThreadPool & pool, const Tensor & x, const Tensor & w, float eps, const Tensor & out);
void rope(ThreadPool & pool, const Tensor & x, const Tensor & positions, const Tensor & freqs,
          const Tensor & out);
void kv_store(const Tensor & k, const Tensor & v, const Tensor & positions, const Tensor & k_cache,
              const Tensor & v_cache);
void attention(ThreadPool & pool, const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
               const Tensor & positions, const Tensor & block_ids, const AttentionDesc & desc,
               const Tensor & out);
void attention_paged(ThreadPool & pool, const Tensor & q, const Tensor & k_pool,
                     const Tensor & v_pool, const Tensor & positions, const Tensor & row_seq,
                     const Tensor & pages, int page_size, const AttentionDesc & desc,
                     const Tensor & out);
void get_rows(ThreadPool & pool, const Tensor & table, const Tensor & ids, float scale,
              const Tensor & out);
void gelu_tanh_mul(ThreadPool & pool, const Tensor & gate, const Tensor & up, const Tensor & out);
void add(ThreadPool & pool, const Tensor & a, const Tensor & b, const Tensor & out);
void mul(ThreadPool & pool, const Tensor & a, const Tensor & b, const Tensor & out);
void scale(ThreadPool & pool, const Tensor & x, float s, const Tensor & out);
void softcap(ThreadPool & pool, const Tensor & x, float cap, const Tensor & out);
void clamp(ThreadPool & pool, const Tensor & x, float lo, float hi, const Tensor & out);
// The audio conformer's ops (audio_ops.cpp): the ref/ loops over row ranges on the pool.
void activation(ThreadPool & pool, const Tensor & x, Activation act, const Tensor & out);
void glu(ThreadPool & pool, const Tensor & x, const Tensor & out);
void conv1d_dw(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out);
void layer_norm(ThreadPool & pool, const Tensor & x, const Tensor & w, float eps,
                const Tensor & out);
void im2col(ThreadPool & pool, const Tensor & x, const Im2colDesc & desc, const Tensor & out);
void chunk_attention(ThreadPool & pool, const Tensor & q, const Tensor & k, const Tensor & v,
                     const Tensor & rel, const ChunkAttentionDesc & desc, const Tensor & out);
void copy(ThreadPool & pool, const Tensor & src, const Tensor & dst);
void transpose01(const Tensor & x, const Tensor & out);
// Rows across the pool (top_k.cpp).
void top_k(ThreadPool & pool, const Tensor & logits, const Tensor & ids, const Tensor & values,
           const Tensor & lse);

// Row r (width d) of a float (f32/f16/bf16) or q8_0/q4_0 tensor as f32 into dst.
void load_row_f32(const Tensor & t, int64_t r, float * dst);

}  // namespace gemma::cpu::fast
