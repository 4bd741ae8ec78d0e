// Element-wise ops (add/mul with broadcast, scale, softcap, gelu_tanh_mul), get_rows, copy and
// transpose01. Large tensors (prefill) are split across the pool in 16K-element chunks; decode-
// sized rows stay on the calling thread, where a pool handoff would cost more than the work.
#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"

namespace gemma::cpu::fast {
namespace {

constexpr int64_t kChunk = 16384;

// fn(begin, end) over [0, n) elements, chunked across the pool.
template <class Fn>
void for_chunks(ThreadPool & pool, int64_t n, Fn fn) {
    pool.parallel_for(n, kChunk, [&](int64_t b, int64_t e) { fn(b, e); });
}

// a op b with b full, one row of a, or a scalar (Op::add); b widened to f32 first when needed.
template <class VecFn, class ScalarFn>
void broadcast_op(ThreadPool & pool, const Tensor & a, const Tensor & b, const Tensor & out,
                  VecFn vfn, ScalarFn sfn) {
    int64_t n = a.numel(), d = a.dim(-1), nb = b.numel();
    const float * ap = static_cast<const float *>(a.data);
    float * y = f32_data(out);
    std::vector<float> bf;
    const float * bp = static_cast<const float *>(b.data);
    if (b.dtype != DType::f32) {
        bf.resize(size_t(nb));
        load_row_f32(tensor_view(b.dtype, {1, nb}, b.data), 0, bf.data());
        bp = bf.data();
    }
    if (nb == 1 && n != 1) {
        float s = bp[0];
        for_chunks(pool, n, [&](int64_t i0, int64_t i1) { sfn(ap + i0, s, y + i0, i1 - i0); });
    } else if (nb == n) {
        for_chunks(pool, n,
                   [&](int64_t i0, int64_t i1) { vfn(ap + i0, bp + i0, y + i0, i1 - i0); });
    } else {  // one row of width d broadcast over n / d rows
        int64_t rows = n / d, grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, d));
        pool.parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) vfn(ap + r * d, bp, y + r * d, d);
        });
    }
}

void store_converted(const float * src, int64_t n, const Tensor & dst, int64_t offset) {
    switch (dst.dtype) {
        case DType::f32:
            std::memcpy(f32_data(dst) + offset, src, size_t(n) * 4);
            break;
        case DType::bf16: {
            uint16_t * p = static_cast<uint16_t *>(dst.data) + offset;
            for (int64_t j = 0; j < n; ++j) p[j] = f32_to_bf16(src[j]);
            break;
        }
        default: {
            uint16_t * p = static_cast<uint16_t *>(dst.data) + offset;
            for (int64_t j = 0; j < n; ++j) p[j] = f32_to_f16(src[j]);
        }
    }
}

}  // namespace

void add(ThreadPool & pool, const Tensor & a, const Tensor & b, const Tensor & out) {
    broadcast_op(pool, a, b, out, simd::add, simd::add_scalar);
}

void mul(ThreadPool & pool, const Tensor & a, const Tensor & b, const Tensor & out) {
    broadcast_op(pool, a, b, out, simd::mul, simd::mul_scalar);
}

void scale(ThreadPool & pool, const Tensor & x, float s, const Tensor & out) {
    const float * xp = static_cast<const float *>(x.data);
    for_chunks(pool, x.numel(), [&](int64_t i0, int64_t i1) {
        simd::mul_scalar(xp + i0, s, f32_data(out) + i0, i1 - i0);
    });
}

void softcap(ThreadPool & pool, const Tensor & x, float cap, const Tensor & out) {
    const float * xp = static_cast<const float *>(x.data);
    for_chunks(pool, x.numel(), [&](int64_t i0, int64_t i1) {
        simd::softcap(xp + i0, cap, f32_data(out) + i0, i1 - i0);
    });
}

void clamp(ThreadPool & pool, const Tensor & x, float lo, float hi, const Tensor & out) {
    const float * xp = static_cast<const float *>(x.data);
    for_chunks(pool, x.numel(), [&](int64_t i0, int64_t i1) {
        float * y = f32_data(out);
        for (int64_t i = i0; i < i1; ++i) y[i] = std::min(std::max(xp[i], lo), hi);
    });
}

void gelu_tanh_mul(ThreadPool & pool, const Tensor & gate, const Tensor & up, const Tensor & out) {
    const float * g = static_cast<const float *>(gate.data);
    const float * u = static_cast<const float *>(up.data);
    for_chunks(pool, gate.numel(), [&](int64_t i0, int64_t i1) {
        simd::gelu_tanh_mul(g + i0, u + i0, f32_data(out) + i0, i1 - i0);
    });
}

// table: [V, d] -> out [n, d]; an id outside [0, V) gives a zero row.
void get_rows(ThreadPool & pool, const Tensor & table, const Tensor & ids, float s,
              const Tensor & out) {
    int64_t n = ids.dim(0), d = table.dim(1), v = table.dim(0);
    pool.parallel_for(n, std::max<int64_t>(1, kChunk / std::max<int64_t>(1, d)),
                      [&](int64_t i0, int64_t i1) {
                          for (int64_t i = i0; i < i1; ++i) {
                              int64_t id = ids.ptr<int32_t>()[i];
                              float * row = f32_data(out) + i * d;
                              if (id < 0 || id >= v) {
                                  std::fill_n(row, d, 0.0f);
                                  continue;
                              }
                              if (table.dtype == DType::bf16) {
                                  simd::bf16_to_f32(table.ptr<uint16_t>() + id * d, d, s, row);
                              } else {
                                  load_row_f32(table, id, row);
                                  simd::mul_scalar(row, s, row, d);
                              }
                          }
                      });
}

// Element-wise dtype conversion through an f32 staging chunk (f32 -> f32 is a plain memcpy).
void copy(ThreadPool & pool, const Tensor & src, const Tensor & dst) {
    int64_t n = src.numel();
    if (src.dtype == DType::q8_0) {  // q8_0 -> q8_0 only (op_check): whole blocks, as bytes
        std::memmove(dst.data, src.data, src.nbytes());
        return;
    }
    if (src.dtype == DType::f32 && dst.dtype == DType::f32) {
        for_chunks(pool, n, [&](int64_t i0, int64_t i1) {
            std::memmove(f32_data(dst) + i0, f32_data(src) + i0, size_t(i1 - i0) * 4);
        });
        return;
    }
    size_t esize = src.dtype == DType::f32 ? 4 : 2;
    for_chunks(pool, n, [&](int64_t i0, int64_t i1) {
        thread_local std::vector<float> buf;
        buf.resize(size_t(i1 - i0));
        void * part = static_cast<char *>(src.data) + size_t(i0) * esize;
        load_row_f32(tensor_view(src.dtype, {1, i1 - i0}, part), 0, buf.data());
        store_converted(buf.data(), i1 - i0, dst, i0);
    });
}

// x [a, b, c] -> out [b, a, c]: row copies of c floats.
void transpose01(const Tensor & x, const Tensor & out) {
    int64_t a = x.dim(0), b = x.dim(1), c = x.dim(2);
    for (int64_t i = 0; i < a; ++i)
        for (int64_t j = 0; j < b; ++j)
            std::memcpy(f32_data(out) + (j * a + i) * c, f32_data(x) + (i * b + j) * c,
                        size_t(c) * 4);
}

}  // namespace gemma::cpu::fast
