// Shape and dtype checks shared by all backends, so every backend rejects the same bad calls
// with the same messages (op name, argument, shapes) before touching memory.
#include <cmath>

#include "core/backend.h"
#include "core/kv_quant.h"
#include "core/quant.h"

namespace gemma::op_check {
namespace {

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

Error bad(Op op, const std::string & what) {
    return make_error(ErrorCode::invalid_argument, format("%s: %s", op_name(op), what.c_str()));
}

Status need(bool ok, Op op, const char * what, const Tensor & a, const Tensor & b) {
    if (ok) return Status::success();
    return bad(op,
               format("%s (got %s %s and %s %s)", what, dtype_name(a.dtype),
                      shape_str(a.shape).c_str(), dtype_name(b.dtype), shape_str(b.shape).c_str()));
}

Status need_f32(Op op, const char * arg, const Tensor & t) {
    if (t.dtype == DType::f32 && !t.empty()) return Status::success();
    return bad(op, format("%s must be a non-empty f32 tensor (got %s %s)", arg, dtype_name(t.dtype),
                          shape_str(t.shape).c_str()));
}

Status need_i32(Op op, const char * arg, const Tensor & t, int64_t n) {
    if (t.dtype == DType::i32 && t.ndim() == 1 && t.dim(0) == n) return Status::success();
    return bad(op, format("%s must be i32 [%lld] (got %s %s)", arg, (long long)n,
                          dtype_name(t.dtype), shape_str(t.shape).c_str()));
}

// KV caches: both of one KV cache type (f32, bf16, q8_0), non-empty, [S, h_kv, D] with h_kv·D a
// multiple of 32 for q8_0 (its blocks run along each slot's row).
Status need_caches(Op op, const Tensor & k_cache, const Tensor & v_cache) {
    if (k_cache.dtype != v_cache.dtype)
        return bad(op, format("k_cache and v_cache must have the same type (got %s and %s)",
                              dtype_name(k_cache.dtype), dtype_name(v_cache.dtype)));
    if (k_cache.empty() || v_cache.empty()) return bad(op, "k_cache and v_cache must be non-empty");
    bool three = k_cache.ndim() == 3;
    std::string why =
        kv_cache_dtype_check(k_cache.dtype, three ? k_cache.dim(1) : 0, three ? k_cache.dim(2) : 0);
    if (why.empty()) return Status::success();
    ErrorCode code =
        kv_cache_dtype_ok(k_cache.dtype) ? ErrorCode::invalid_argument : ErrorCode::unsupported;
    return make_error(code, format("%s: %s", op_name(op), why.c_str()));
}

Status need_weight(Op op, const Tensor & w) {
    if (is_float(w.dtype)) return Status::success();
    return make_error(ErrorCode::unsupported, format("%s: weight dtype %s is not supported here",
                                                     op_name(op), dtype_name(w.dtype)));
}

// matmul weights and get_rows tables may also be block-quantized (rows a multiple of 32).
Status need_matrix(Op op, const Tensor & w) {
    if (!dtype_is_quant(w.dtype)) return need_weight(op, w);
    if (w.ndim() == 2 && w.dim(1) % kQuantBlock == 0) return Status::success();
    return bad(op, format("a %s weight must be 2-D with rows a multiple of %lld values (got %s)",
                          dtype_name(w.dtype), (long long)kQuantBlock, shape_str(w.shape).c_str()));
}

}  // namespace

Status get_rows(const Tensor & table, const Tensor & ids, const Tensor & out) {
    GEMMA_TRY(need_matrix(Op::get_rows, table));
    GEMMA_TRY(need(table.ndim() == 2 && ids.ndim() == 1, Op::get_rows, "table must be 2-D, ids 1-D",
                   table, ids));
    GEMMA_TRY(need_i32(Op::get_rows, "ids", ids, ids.dim(0)));
    GEMMA_TRY(need_f32(Op::get_rows, "out", out));
    return need(out.ndim() == 2 && out.dim(0) == ids.dim(0) && out.dim(1) == table.dim(1),
                Op::get_rows, "out must be [n_ids, row width]", table, out);
}

Status matmul(const Tensor & x, const Tensor & w, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::matmul, "x", x));
    GEMMA_TRY(need_matrix(Op::matmul, w));
    GEMMA_TRY(need_f32(Op::matmul, "out", out));
    GEMMA_TRY(need(x.ndim() == 2 && w.ndim() == 2 && x.dim(1) == w.dim(1), Op::matmul,
                   "x [n, k] and w [m, k] must agree on k", x, w));
    return need(out.ndim() == 2 && out.dim(0) == x.dim(0) && out.dim(1) == w.dim(0), Op::matmul,
                "out must be [n, m]", x, out);
}

Status rms_norm(const Tensor & x, const Tensor & w, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::rms_norm, "x", x));
    GEMMA_TRY(need_f32(Op::rms_norm, "out", out));
    GEMMA_TRY(need(x.ndim() == 2 && out.shape == x.shape, Op::rms_norm,
                   "x must be [r, d], out like x", x, out));
    if (w.empty()) return Status::success();
    GEMMA_TRY(need_weight(Op::rms_norm, w));
    return need(w.numel() == x.dim(1), Op::rms_norm, "w must have d elements", x, w);
}

Status rope(const Tensor & x, const Tensor & positions, const Tensor & freqs, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::rope, "x", x));
    GEMMA_TRY(need_f32(Op::rope, "freqs", freqs));
    GEMMA_TRY(need(x.ndim() == 3 && x.dim(2) % 2 == 0 && out.shape == x.shape, Op::rope,
                   "x must be [n, heads, D] with even D, out like x", x, out));
    GEMMA_TRY(need_i32(Op::rope, "positions", positions, x.dim(0)));
    return need(freqs.numel() == x.dim(2) / 2, Op::rope, "freqs must have D/2 elements", x, freqs);
}

Status kv_store(const Tensor & k, const Tensor & v, const Tensor & positions,
                const Tensor & k_cache, const Tensor & v_cache) {
    for (const Tensor * t : {&k, &v}) GEMMA_TRY(need_f32(Op::kv_store, "k/v", *t));
    GEMMA_TRY(need_caches(Op::kv_store, k_cache, v_cache));
    GEMMA_TRY(need(k.ndim() == 3 && v.shape == k.shape, Op::kv_store,
                   "k and v must be [n, h_kv, D]", k, v));
    GEMMA_TRY(need(k_cache.ndim() == 3 && v_cache.shape == k_cache.shape &&
                       k_cache.dim(1) == k.dim(1) && k_cache.dim(2) == k.dim(2) &&
                       k_cache.dim(0) > 0,
                   Op::kv_store, "caches must be [S, h_kv, D] matching k", k, k_cache));
    return need_i32(Op::kv_store, "positions", positions, k.dim(0));
}

Status attention(const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
                 const Tensor & positions, const Tensor & block_ids, const Tensor & out) {
    for (const Tensor * t : {&q, &out}) GEMMA_TRY(need_f32(Op::attention, "q/out", *t));
    GEMMA_TRY(need_caches(Op::attention, k_cache, v_cache));
    GEMMA_TRY(need(q.ndim() == 3 && out.shape == q.shape, Op::attention,
                   "q must be [n, h_q, D], out like q", q, out));
    GEMMA_TRY(
        need(k_cache.ndim() == 3 && v_cache.shape == k_cache.shape && k_cache.dim(2) == q.dim(2) &&
                 k_cache.dim(1) > 0 && q.dim(1) % k_cache.dim(1) == 0 && k_cache.dim(0) > 0,
             Op::attention, "caches must be [S, h_kv, D] with h_q a multiple of h_kv", q, k_cache));
    GEMMA_TRY(need_i32(Op::attention, "positions", positions, q.dim(0)));
    if (!block_ids.empty()) GEMMA_TRY(need_i32(Op::attention, "block_ids", block_ids, q.dim(0)));
    return Status::success();
}

Status attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                       const Tensor & positions, const Tensor & row_seq, const Tensor & pages,
                       int page_size, const Tensor & out) {
    const Op op = Op::attention_paged;
    for (const Tensor * t : {&q, &out}) GEMMA_TRY(need_f32(op, "q/out", *t));
    GEMMA_TRY(need_caches(op, k_pool, v_pool));  // f32, bf16 or q8_0, both alike
    GEMMA_TRY(need(q.ndim() == 3 && out.shape == q.shape, op, "q must be [n, h_q, D], out like q",
                   q, out));
    GEMMA_TRY(need(k_pool.ndim() == 3 && v_pool.shape == k_pool.shape &&
                       k_pool.dim(2) == q.dim(2) && k_pool.dim(1) > 0 &&
                       q.dim(1) % k_pool.dim(1) == 0 && k_pool.dim(0) > 0,
                   op, "pools must be [S, h_kv, D] with h_q a multiple of h_kv", q, k_pool));
    GEMMA_TRY(need_i32(op, "positions", positions, q.dim(0)));
    GEMMA_TRY(need_i32(op, "row_seq", row_seq, q.dim(0)));
    GEMMA_TRY(
        need(pages.dtype == DType::i32 && pages.ndim() == 2 && pages.dim(0) > 0 && pages.dim(1) > 0,
             op, "pages must be i32 [n_seq, n_pages]", q, pages));
    if (page_size <= 0 || k_pool.dim(0) % page_size != 0)
        return bad(op, format("page_size %d must be positive and divide the pool's %lld rows",
                              page_size, (long long)k_pool.dim(0)));
    return Status::success();
}

Status binary(Op op, const Tensor & a, const Tensor & b, const Tensor & out) {
    GEMMA_TRY(need_f32(op, "a", a));
    GEMMA_TRY(need_f32(op, "out", out));
    GEMMA_TRY(need(out.numel() == a.numel() && a.ndim() >= 1, op, "out must match a", a, out));
    if (op == Op::gelu_tanh_mul)
        return need(b.dtype == DType::f32 && b.shape == a.shape, op, "up must match gate", a, b);
    GEMMA_TRY(need_weight(op, b));
    int64_t d = a.dim(-1);
    bool ok = b.numel() == a.numel() || b.numel() == d || b.numel() == 1;
    return need(ok && !b.empty(), op, "b must match a, one row of a, or be a scalar", a, b);
}

Status unary(Op op, const Tensor & x, const Tensor & out) {
    GEMMA_TRY(need_f32(op, "x", x));
    GEMMA_TRY(need_f32(op, "out", out));
    return need(out.numel() == x.numel(), op, "out must have x's element count", x, out);
}

Status clamp(const Tensor & x, float lo, float hi, const Tensor & out) {
    GEMMA_TRY(unary(Op::clamp, x, out));
    if (!(lo <= hi))  // NaN bounds too
        return make_error(ErrorCode::invalid_argument,
                          format("clamp: bounds [%g, %g] are not an interval (lo must be <= hi)",
                                 double(lo), double(hi)));
    return Status::success();
}

Status activation(const Tensor & x, Activation act, const Tensor & out) {
    GEMMA_TRY(unary(Op::activation, x, out));
    if (act == Activation::silu || act == Activation::relu) return Status::success();
    return make_error(ErrorCode::invalid_argument,
                      format("activation: unknown function %d (silu or relu)", int(act)));
}

Status glu(const Tensor & x, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::glu, "x", x));
    GEMMA_TRY(need_f32(Op::glu, "out", out));
    return need(x.ndim() == 2 && x.dim(1) % 2 == 0 && out.ndim() == 2 && out.dim(0) == x.dim(0) &&
                    out.dim(1) * 2 == x.dim(1) && out.data != x.data,
                Op::glu, "x must be [r, 2d] and out [r, d], not aliased", x, out);
}

Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::conv1d_dw, "x", x));
    GEMMA_TRY(need_f32(Op::conv1d_dw, "out", out));
    GEMMA_TRY(need_weight(Op::conv1d_dw, w));
    GEMMA_TRY(need(x.ndim() == 2 && out.shape == x.shape && out.data != x.data, Op::conv1d_dw,
                   "x must be [n, c] and out like x, not aliased", x, out));
    return need(w.ndim() == 2 && w.dim(0) == x.dim(1) && w.dim(1) > 0, Op::conv1d_dw,
                "w must be [c, K] with K > 0 (a [c, 1, K] Conv1d weight reshaped)", x, w);
}

Status layer_norm(const Tensor & x, const Tensor & w, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::layer_norm, "x", x));
    GEMMA_TRY(need_f32(Op::layer_norm, "out", out));
    GEMMA_TRY(need(x.ndim() == 2 && out.shape == x.shape, Op::layer_norm,
                   "x must be [r, d], out like x", x, out));
    if (w.empty()) return Status::success();
    GEMMA_TRY(need_weight(Op::layer_norm, w));
    return need(w.numel() == x.dim(1), Op::layer_norm, "w must have d elements", x, w);
}

Status im2col(const Tensor & x, const Im2colDesc & d, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::im2col, "x", x));
    GEMMA_TRY(need_f32(Op::im2col, "out", out));
    if (d.kh < 1 || d.kw < 1 || d.stride < 1 || d.pad < 0)
        return bad(Op::im2col, format("kernel %dx%d, stride %d, pad %d: the kernel and stride must "
                                      "be positive and the padding not negative",
                                      d.kh, d.kw, d.stride, d.pad));
    GEMMA_TRY(need(x.ndim() == 3, Op::im2col, "x must be [h, w, c]", x, out));
    const int64_t ho = (x.dim(0) + 2 * d.pad - d.kh) / d.stride + 1;
    const int64_t wo = (x.dim(1) + 2 * d.pad - d.kw) / d.stride + 1;
    if (x.dim(0) + 2 * d.pad < d.kh || x.dim(1) + 2 * d.pad < d.kw)
        return bad(Op::im2col, format("a %dx%d kernel does not fit x %s padded by %d", d.kh, d.kw,
                                      shape_str(x.shape).c_str(), d.pad));
    return need(out.ndim() == 2 && out.dim(0) == ho * wo && out.dim(1) == x.dim(2) * d.kh * d.kw &&
                    out.data != x.data,
                Op::im2col, "out must be [ho·wo, c·kh·kw], not aliased", x, out);
}

Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                       const ChunkAttentionDesc & d, const Tensor & out) {
    const Op op = Op::chunk_attention;
    for (const Tensor * t : {&q, &k, &v, &rel, &out}) GEMMA_TRY(need_f32(op, "q/k/v/rel/out", *t));
    GEMMA_TRY(need(q.ndim() == 3 && k.shape == q.shape && v.shape == q.shape, op,
                   "q, k and v must be [n, h, D] alike", q, k));
    GEMMA_TRY(
        need(out.shape == q.shape && out.data != q.data && out.data != k.data && out.data != v.data,
             op, "out must be like q and not alias q, k or v", q, out));
    if (d.chunk < 1 || d.past < 0 || !(d.cap > 0.0f) || !std::isfinite(d.cap) ||
        !std::isfinite(d.invalid) ||
        (d.mask != ChunkMask::sliding && d.mask != ChunkMask::complement))
        return bad(op, format("chunk %d, past %d, cap %g, invalid %g: chunk must be >= 1, past "
                              ">= 0, cap positive and finite, invalid finite, mask known",
                              d.chunk, d.past, double(d.cap), double(d.invalid)));
    return need(rel.ndim() == 3 && rel.dim(0) == int64_t(d.past) + 1 && rel.dim(1) == q.dim(1) &&
                    rel.dim(2) == q.dim(2),
                op, "rel must be [past + 1, h, D]", q, rel);
}

Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values, const Tensor & lse) {
    const Op op = Op::top_k;
    GEMMA_TRY(need_f32(op, "logits", logits));
    if (logits.ndim() != 2 || logits.dim(1) < 1)
        return bad(
            op, format("logits must be [rows, vocab] (got %s)", shape_str(logits.shape).c_str()));
    const int64_t r = logits.dim(0), v = logits.dim(1);
    if (ids.dtype != DType::i32 || ids.empty() || ids.ndim() != 2 || ids.dim(0) != r)
        return bad(op, format("ids must be i32 [%lld, k] (got %s %s)", (long long)r,
                              dtype_name(ids.dtype), shape_str(ids.shape).c_str()));
    const int64_t k = ids.dim(1);
    if (k < 1 || k > v || k > kTopKMax)
        return bad(op, format("k = %lld must be in [1, min(vocab %lld, %d)]; ask for fewer "
                              "candidates or read the logits",
                              (long long)k, (long long)v, kTopKMax));
    GEMMA_TRY(need_f32(op, "values", values));
    GEMMA_TRY(
        need(values.shape == ids.shape, op, "values must be [rows, k] like ids", ids, values));
    GEMMA_TRY(need_f32(op, "lse", lse));
    return need(lse.ndim() == 1 && lse.dim(0) == r, op, "lse must be [rows]", logits, lse);
}

// Float types convert into each other; q8_0 (KV cache rows) copies only into q8_0, whole
// blocks.
Status copy(const Tensor & src, const Tensor & dst) {
    if (src.dtype == DType::q8_0 && dst.dtype == DType::q8_0) {
        bool blocks = !src.empty() && !dst.empty() && src.numel() % kQ8Block == 0;
        return need(blocks && src.numel() == dst.numel(), Op::copy,
                    "q8_0 src and dst must have the same element count, whole 32-value blocks", src,
                    dst);
    }
    if (!is_float(src.dtype) || !is_float(dst.dtype))
        return make_error(ErrorCode::unsupported,
                          format("copy: %s -> %s is not supported", dtype_name(src.dtype),
                                 dtype_name(dst.dtype)));
    return need(src.numel() == dst.numel() && !src.empty() && !dst.empty(), Op::copy,
                "src and dst must have the same element count", src, dst);
}

Status transpose01(const Tensor & x, const Tensor & out) {
    GEMMA_TRY(need_f32(Op::transpose01, "x", x));
    GEMMA_TRY(need_f32(Op::transpose01, "out", out));
    return need(x.ndim() == 3 && out.ndim() == 3 && out.dim(0) == x.dim(1) &&
                    out.dim(1) == x.dim(0) && out.dim(2) == x.dim(2) && out.data != x.data,
                Op::transpose01, "out must be [b, a, c] for x [a, b, c], not aliased", x, out);
}

}  // namespace gemma::op_check
