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
    // and block_ids[q] == block_ids[t − positions[0]] ≥ 0 (and the window term holds for t < p);
    // each block id ≥ 0 is one contiguous run of rows (one image's tokens). Key t is read from slot t mod S; the caller sizes S ≥ window + n − 1 for sliding layers.
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
    // x -> out = act(x) (may alias x): silu(x) = x / (1 + e^−x), relu(x) = max(x, 0). The audio
    // conformer's FFN and light-conv activations, and its subsampling convs' ReLU.
    activation,
    // x: [r, 2d] f32 -> out [r, d] f32 (must not alias x): out[i, c] = x[i, c] · σ(x[i, d + c]),
    // σ(z) = 1 / (1 + e^−z): a GLU, first half the value, second half the gate (audio light conv).
    glu,
    // x: [n, c] f32, w: [c, K] (any float dtype) -> out [n, c] f32 (must not alias x): causal
    // depthwise conv over time, no bias, summed in j order in f32:
    //   out[t, ch] = Σ_{j=0..K−1} w[ch, j] · x[t − (K − 1) + j, ch], x[< 0] = 0.
    conv1d_dw,
    // x: [r, d] f32, w: [d] (any float dtype) or empty -> out like x (may alias x):
    // out[i, :] = (x[i, :] − μ) / sqrt(σ² + eps) ⊙ w, μ and σ² (biased) the row's mean and variance
    // in f32. The audio subsampling's LayerNorm over channels (rows = positions, d = channels).
    layer_norm,
    // x: [h, w, c] f32 (channel last) -> out [ho·wo, c·kh·kw] f32 (must not alias x): the
    // patches of a kh×kw kernel at stride s with zero padding p (Im2colDesc), ho = (h + 2p − kh)
    // / s + 1, wo likewise: out[y·wo + x, (ci·kh + ky)·kw + kx] = x[y·s − p + ky, x·s − p + kx,
    // ci], 0 outside the image.
    // A PyTorch Conv2d (weight [cout, c, kh, kw] viewed as [cout, c·kh·kw]) is then matmul(out, w)
    // -> [ho·wo, cout], i.e. [ho, wo, cout] channel last again (the audio subsampling convs).
    im2col,
    // Chunked local attention with relative positions and a logit cap (the Gemma 4 audio
    // conformer's attention core, HF's blocked form). q, k, v: [n, h, D] f32 (q and k already
    // scaled), rel: [P + 1, h, D] f32 (the relative key of distances 0..P) -> out [n, h, D] f32
    // (must not alias q, k, v). With C = desc.chunk, P = desc.past, query t (block u = t / C)
    // scores the C + P slots at key positions s = C·u − P + j, j in [0, C + P):
    //   logit = cap · tanh((q_t·k_s [s in [0, n)] + q_t·rel[t − s] [0 ≤ t − s ≤ P]) / cap),
    // then a slot that is not kept gets desc.invalid (set after the cap, not added). Kept keys:
    // sliding: s in [0, n) and 0 ≤ t − s < P; complement: s in [0, n) and not sliding-kept.
    // Softmax over all C + P slots in f32; out_t = Σ_{s in [0, n)} softmax · v_s (dots and sums
    // in f32, in index order).
    chunk_attention,
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

// Op::activation's functions.
enum class Activation : uint8_t { silu, relu };

// Op::im2col's kernel: kh×kw taps, the same stride and zero padding on both axes.
struct Im2colDesc {
    int kh = 3, kw = 3;
    int stride = 1;
    int pad = 0;
};

// Which slots Op::chunk_attention keeps (see there).
enum class ChunkMask : uint8_t {
    sliding,     // the model as trained: the key itself and the P − 1 before it
    complement,  // in-range slots that sliding drops (transformers' eager audio mask, inverted)
};

// Op::chunk_attention parameters (Gemma 4 audio: chunk 12, past 12, cap 50, invalid −1e9).
struct ChunkAttentionDesc {
    int chunk = 12;         // C: queries per block
    int past = 12;          // P: context slots before each block; also the relative table's reach
    float cap = 50.0f;      // soft cap on the logits (> 0)
    float invalid = -1e9f;  // the logit of a dropped slot
    ChunkMask mask = ChunkMask::sliding;
};

// Most candidates Op::top_k returns per row (bounds its scratch and shared memory).
constexpr int kTopKMax = 256;

// Attention parameters (see Op::attention).
struct AttentionDesc {
    float scale = 1.0f;  // Gemma 4: 1.0 (q and k are RMS-normalized instead)
    int window = 0;      // sliding window counting the query itself; 0 = full causal
};

}  // namespace gemma
