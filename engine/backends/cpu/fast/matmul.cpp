// matmul: x [n, k] f32 · w [m, k]ᵀ -> out [n, m] f32 (weights f32/bf16/f16), one Highway kernel for
// decode and prefill: bf16 widened in registers, 4x4 register tiles, x taken 32 rows at a time so
// the weights stream once per block; the pool splits output rows. It measured 5x faster than
// widening bf16 tiles for OpenBLAS sgemm (16-core Xeon, n = 128: 941 vs 181 GFLOPS), so OpenBLAS
// is not used. f16 weights (rare) are widened per block of rows first. q8_0/q4_0 weights:
// matmul_quant.cpp.
#include <algorithm>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"
#include "core/quant.h"

namespace gemma::cpu::fast {
namespace {

// Output rows per task: enough tasks to balance the threads, whole 4-row tiles, at least 16.
int64_t rows_grain(int64_t m, int n_threads) {
    int64_t g = m / (int64_t(n_threads) * 8);
    return (std::max<int64_t>(16, g) + 3) / 4 * 4;
}

void matmul_rows(const Tensor & x, const Tensor & w, const Tensor & out, int64_t r0, int64_t r1) {
    int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out) + r0;
    if (w.dtype == DType::bf16) {
        simd::gemv_bf16(w.ptr<uint16_t>() + r0 * k, k, r1 - r0, xp, k, n, k, y, m);
    } else if (w.dtype == DType::f32) {
        simd::gemv_f32(w.ptr<float>() + r0 * k, k, r1 - r0, xp, k, n, k, y, m);
    } else {  // f16: widen this task's rows once, then the f32 kernel
        thread_local std::vector<float> block;
        block.resize(size_t((r1 - r0) * k));
        for (int64_t r = r0; r < r1; ++r) load_row_f32(w, r, block.data() + (r - r0) * k);
        simd::gemv_f32(block.data(), k, r1 - r0, xp, k, n, k, y, m);
    }
}

}  // namespace

void load_row_f32(const Tensor & t, int64_t r, float * dst) {
    int64_t d = t.dim(-1);
    switch (t.dtype) {
        case DType::f32:
            std::copy_n(t.ptr<float>() + r * d, d, dst);
            break;
        case DType::bf16:
            simd::bf16_to_f32(t.ptr<uint16_t>() + r * d, d, 1.0f, dst);
            break;
        case DType::q8_0:
        case DType::q4_0:
            simd::dequantize_row(t.ptr<uint8_t>() + size_t(r) * dtype_row_bytes(t.dtype, size_t(d)),
                                 t.dtype == DType::q8_0, d, dst);
            break;
        default: {
            const uint16_t * p = t.ptr<uint16_t>() + r * d;
            for (int64_t j = 0; j < d; ++j) dst[j] = f16_to_f32(p[j]);
        }
    }
}

void matmul(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out) {
    int64_t n = x.dim(0), m = w.dim(0);
    if (n == 0 || m == 0) return;
    if (dtype_is_quant(w.dtype)) return matmul_quant(pool, x, w, out);
    pool.parallel_for(m, rows_grain(m, pool.size()),
                      [&](int64_t r0, int64_t r1) { matmul_rows(x, w, out, r0, r1); });
}

}  // namespace gemma::cpu::fast
