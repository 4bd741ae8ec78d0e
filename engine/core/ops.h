// The op list every backend implements: names, shape rules and the math, once. Backends
// (cpu-ref, cpu, cuda, ...) implement these as Backend methods (core/backend.h); the model is
// written once against them. Shape checks shared by all backends live in ops.cpp.
//
// Conventions for every op:
// - Activations are f32 row-major tensors of the backend's Where; `out` is preallocated by the
//   caller (Backend::alloc or a view of it) and may alias an input only where noted.
// - Integer inputs (token ids, positions, block ids) are i32 tensors on the backend, so a decode
//   step reads nothing back to the host (a CUDA graph can capture it).
// - Weights may be f32, f16 or bf16; matmul weights and get_rows tables may also be q8_0 / q4_0
//   (core/quant.h; rows a multiple of 32) where supports() says so. Every product accumulates
//   in f32.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace gemma {

enum class Op : uint8_t {
    // table: [V, d] (f32/f16/bf16/q8_0/q4_0 weight or f32 activation), ids: [n] i32 -> out [n, d]
    // f32
    // out[i, :] = table[ids[i], :] * scale. An id outside [0, V) -> zero row (checked on host
    // where ids are host-visible; device kernels clamp) - callers validate ids before upload.
    get_rows,
    // x: [n, k] f32, w: [m, k] (PyTorch Linear layout; float or q8_0/q4_0) -> out [n, m] f32;
    // out = x · wᵀ with quantized weights dequantized exactly (value = q · d in f32).
    matmul,
    // x: [r, d] f32, w: [d] (any float dtype) or empty -> out like x (may alias x).
    // out[i, :] = x[i, :] / sqrt(mean(x[i, :]²) + eps) ⊙ w   (w used as stored: no 1 + w).
    // Per-head norm = the same op on the view [n·heads, head_dim].
    rms_norm,
    // x: [n, h, D] f32, positions: [n] i32, freqs: [D/2] f32 -> out like x (may alias x).
    // NeoX pairing: θ = pos·freqs[i]; y[i] = x[i]cosθ − x[i+D/2]sinθ, y[i+D/2] = x[i+D/2]cosθ +
    // x[i]sinθ.
    // freqs carry the RoPE variant: default (base^(−2i/D)), proportional (zeros past the rotated
    // pairs) and any factor; see rope_freqs() in model code.
    rope,
    // k, v: [n, h_kv, D] f32, positions: [n] i32, k_cache, v_cache: [S, h_kv, D] of one KV cache
    // type: f32, bf16 (rounded to nearest even) or q8_0 (h_kv·D % 32 == 0; blocks of 32 along each
    // slot's row, i.e. along D when D % 32 == 0; the rule of core/kv_quant.h). Writes row i into
    // slot positions[i] mod S (a ring buffer when S < context). supports({kv_store, f32, type}).
    kv_store,
    // q: [n, h_q, D], k_cache, v_cache: [S, h_kv, D], positions: [n] i32 (consecutive: one chunk
    // of one sequence, already stored) -> out [n, h_q, D] f32. Query head h uses KV head
    // h / (h_q / h_kv). For the query at position p, key position t is allowed when
    //   t ≤ p and (window == 0 or p − t < window),
    // or, with block_ids [n] i32 given (bidirectional vision overlay), when t lies in this chunk
    // and block_ids[q] == block_ids[t − positions[0]] ≥ 0 (and the window term holds for t < p).
    // Key t is read from slot t mod S; the caller sizes S ≥ window + n − 1 for sliding layers.
    // s = scale · q·k (f32), softmax in f32 over allowed keys, out = Σ softmax · v.
    // Caches are f32, bf16 or q8_0 (both the same type, as kv_store): keys and values are widened
    // to f32 exactly as stored (q·d for q8_0), so the result equals f32 attention over the
    // dequantized caches. supports({attention, f32, cache type}).
    attention,
    // gate, up: [n, f] f32 -> out [n, f] f32 (may alias either):
    // out = gelu_tanh(gate) ⊙ up, gelu_tanh(z) = 0.5 z (1 + tanh(√(2/π)(z + 0.044715 z³))).
    gelu_tanh_mul,
    // a: [r, d] f32; b: [r, d], [d] or [1] (any float dtype, broadcast) -> out like a (may alias
    // a).
    add,
    mul,
    // x -> out = x · s (s a host float; may alias x).
    scale,
    // x -> out = cap · tanh(x / cap) (may alias x).
    softcap,
    // x -> out = min(max(x, lo), hi) (lo ≤ hi host floats; may alias x). The clipped linears of
    // the vision tower and the audio conformer's gradient clipping.
    clamp,
    // logits: [r, V] f32 (no NaN) -> ids [r, k] i32, values [r, k] f32, lse [r] f32, with
    // 1 ≤ k ≤ min(V, kTopKMax). Row i's k largest logits in descending order, equal values by the
    // lower id first (the order runtime::Sampler uses; −0 equals +0), values[i, j] = logits[i,
    // ids[i, j]] bit for bit; lse[i] = log Σ_j exp(logits[i, j]) over the whole row, within 1e-4
    // absolute for |lse| ≤ 100 (f32 partial sums; the runtime's exactness bounds assume it): −inf
    // when the row is all −inf, +inf when it holds +inf.
    // The sampling candidates of a decode step: r·(8k + 4) bytes to read instead of r·4V.
    // Optional: supports({top_k}) says whether a backend has it (the default is unsupported).
    top_k,
    // src -> dst, same numel; converts between f32/f16/bf16 (dst may be a view of a larger tensor).
    // q8_0 -> q8_0 (whole KV cache slot rows) is a byte copy of whole blocks.
    // supports({copy, src, dst}).
    copy,
    // x: [a, b, c] -> out [b, a, c] (swap the two outer dims; out must not alias x).
    transpose01,
    // Attention for the rows of many sequences in one call, reading K/V through page tables (a
    // batched decode step of the scheduler). q: [n, h_q, D]; k_pool, v_pool: [S, h_kv, D] f32
    // (every sequence's rows); positions, row_seq: [n] i32; pages: [n_seq, n_pages] i32 ->
    // out [n, h_q, D] f32. Row r (position p = positions[r]) sees key t when t ≤ p and
    // (window == 0 or p − t < window); key t is read from pool row
    //   pages[row_seq[r]][(t / page_size) mod n_pages] · page_size + t mod page_size
    // (full layers: page = a block of page_size positions; a sliding ring of R slots: one page of
    // size R). The caller stored every visible key first and keeps page ids in range. No
    // bidirectional blocks (chunks with them use Op::attention). Math as Op::attention.
    attention_paged,
};

const char * op_name(Op op);

// What supports() is asked: the op and the dtypes of its main and secondary (weight) inputs.
struct OpDesc {
    Op op = Op::matmul;
    DType a = DType::f32;  // main input
    DType b = DType::f32;  // weight / second operand
};

// Most candidates Op::top_k returns per row (bounds its scratch and shared memory).
constexpr int kTopKMax = 256;

// Attention parameters (see Op::attention).
struct AttentionDesc {
    float scale = 1.0f;  // Gemma 4: 1.0 (q and k are RMS-normalized instead)
    int window = 0;      // sliding window counting the query itself; 0 = full causal
};

}  // namespace gemma
