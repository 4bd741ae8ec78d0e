// matmul: x [n, k] f32 · w [m, k]ᵀ -> out [n, m] f32 (weights f32/bf16/f16).
// bf16 weights (every checkpoint) and decode-sized x use our Highway kernel: weights widened in
// registers, 4x4 register tiles, the pool splitting output rows; it streams the weights once per
// 32 x rows and measured faster than OpenBLAS sgemm on widened tiles (16-core Xeon, n = 128).
// f32/f16 weights with n > kGemvMaxRows go to single-threaded OpenBLAS sgemm per row block
// (f16 widened first; OpenBLAS's own threads stay off so the two pools never oversubscribe).
#include <cblas.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"

namespace gemma::cpu::fast {
namespace {

// Rows of w widened per sgemm call: 128 rows of k=10240 are 5 MB of f32 per thread, amortised
// over n prompt rows.
constexpr int64_t kSgemmBlockRows = 128;

void openblas_single_threaded() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Output rows per task: enough tasks to balance the threads, at least 16 rows each.
int64_t gemv_grain(int64_t m, int n_threads) {
    int64_t g = m / (int64_t(n_threads) * 8);
    return (std::max<int64_t>(16, g) + 3) / 4 * 4;  // whole 4-row tiles
}

void gemv_rows(const Tensor & x, const Tensor & w, const Tensor & out, int64_t r0, int64_t r1) {
    int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
    const float * xp = static_cast<const float *>(x.data);
    float * y = f32_data(out) + r0;
    if (w.dtype == DType::bf16) {
        simd::gemv_bf16(w.ptr<uint16_t>() + r0 * k, k, r1 - r0, xp, k, n, k, y, m);
    } else if (w.dtype == DType::f32) {
        simd::gemv_f32(w.ptr<float>() + r0 * k, k, r1 - r0, xp, k, n, k, y, m);
    } else {  // f16: widen each row (rare: checkpoints ship bf16)
        thread_local std::vector<float> row;
        row.resize(size_t(k));
        for (int64_t r = r0; r < r1; ++r) {
            load_row_f32(w, r, row.data());
            simd::gemv_f32(row.data(), k, 1, xp, k, n, k, f32_data(out) + r, m);
        }
    }
}

void sgemm_rows(const Tensor & x, const Tensor & w, const Tensor & out, int64_t r0, int64_t r1) {
    int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0), rows = r1 - r0;
    const float * wf = nullptr;
    thread_local std::vector<float> block;
    if (w.dtype == DType::f32) {
        wf = w.ptr<float>() + r0 * k;
    } else {
        block.resize(size_t(rows * k));
        for (int64_t r = 0; r < rows; ++r) load_row_f32(w, r0 + r, block.data() + r * k);
        wf = block.data();
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(rows), int(k), 1.0f,
                static_cast<const float *>(x.data), int(k), wf, int(k), 0.0f, f32_data(out) + r0,
                int(m));
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
        default: {
            const uint16_t * p = t.ptr<uint16_t>() + r * d;
            for (int64_t j = 0; j < d; ++j) dst[j] = f16_to_f32(p[j]);
        }
    }
}

void matmul(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out) {
    int64_t n = x.dim(0), m = w.dim(0);
    if (n == 0 || m == 0) return;
    if (x.dim(1) == 0) {  // empty sums
        std::fill_n(f32_data(out), n * m, 0.0f);
        return;
    }
    if (n <= kGemvMaxRows || w.dtype == DType::bf16) {
        pool.parallel_for(m, gemv_grain(m, pool.size()),
                          [&](int64_t r0, int64_t r1) { gemv_rows(x, w, out, r0, r1); });
        return;
    }
    openblas_single_threaded();
    pool.parallel_for(m, kSgemmBlockRows,
                      [&](int64_t r0, int64_t r1) { sgemm_rows(x, w, out, r0, r1); });
}

}  // namespace gemma::cpu::fast
