// The audio conformer's ops on the fast backend (activation, glu, conv1d_dw, layer_norm, im2col,
// chunk_attention): the reference loops of backends/cpu/ref run over disjoint row ranges on the
// pool, so every value is computed exactly as cpu-ref computes it (correctness first; these ops
// are a small part of the tower's time next to its matmuls).
#include <algorithm>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/ref/ref_ops.h"
#include "core/backend.h"

namespace gemma::cpu::fast {
namespace {

// Rows per task so that a task touches at least ~16K floats (smaller ops stay on one thread).
int64_t grain_for(int64_t row_width) {
    return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_width));
}

// Rows [r0, r1) of a row-major tensor (any rank: the outermost dimension).
Tensor rows(const Tensor & t, int64_t r0, int64_t r1) { return tensor_rows(t, r0, r1 - r0); }

}  // namespace

void activation(ThreadPool & pool, const Tensor & x, Activation act, const Tensor & out) {
    const Tensor xf = tensor_reshape(x, {x.numel()}), of = tensor_reshape(out, {out.numel()});
    pool.parallel_for(x.numel(), 16384, [&](int64_t i0, int64_t i1) {
        ref::activation(rows(xf, i0, i1), act, rows(of, i0, i1));
    });
}

void glu(ThreadPool & pool, const Tensor & x, const Tensor & out) {
    pool.parallel_for(out.dim(0), grain_for(x.dim(1)), [&](int64_t r0, int64_t r1) {
        ref::glu(rows(x, r0, r1), rows(out, r0, r1));
    });
}

void conv1d_dw(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out) {
    pool.parallel_for(x.dim(0), grain_for(x.dim(1) * w.dim(1)),
                      [&](int64_t t0, int64_t t1) { ref::conv1d_dw(x, w, out, t0, t1); });
}

void layer_norm(ThreadPool & pool, const Tensor & x, const Tensor & w, float eps,
                const Tensor & out) {
    pool.parallel_for(x.dim(0), grain_for(x.dim(1)), [&](int64_t r0, int64_t r1) {
        ref::layer_norm(rows(x, r0, r1), w, eps, rows(out, r0, r1));
    });
}

void im2col(ThreadPool & pool, const Tensor & x, const Im2colDesc & desc, const Tensor & out) {
    const int64_t ho = (x.dim(0) + 2 * desc.pad - desc.kh) / desc.stride + 1;
    const int64_t row_floats = out.dim(0) / std::max<int64_t>(1, ho) * out.dim(1);
    pool.parallel_for(ho, grain_for(row_floats),
                      [&](int64_t y0, int64_t y1) { ref::im2col(x, desc, out, y0, y1); });
}

void chunk_attention(ThreadPool & pool, const Tensor & q, const Tensor & k, const Tensor & v,
                     const Tensor & rel, const ChunkAttentionDesc & desc, const Tensor & out) {
    // A query costs (C + P)·h·D multiply-adds twice over: a few queries per task suffice.
    pool.parallel_for(q.dim(0), 4, [&](int64_t t0, int64_t t1) {
        ref::chunk_attention(q, k, v, rel, desc, out, t0, t1);
    });
}

}  // namespace gemma::cpu::fast
