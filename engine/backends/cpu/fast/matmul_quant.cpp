// matmul with q8_0 / q4_0 weights: x [n, k] f32 · w [m, k]ᵀ -> out [n, m] f32 (k % 32 == 0).
// Decode (n < 4 rows): x is quantized once per call to int16 blocks
// (simd::quantize_acts_i16: ~2^-16 relative error), then the pool splits the weight rows and each
// task runs integer block dots (simd_quant.cpp): the weights are read once, as 4.5 / 8.5 bits.
// More rows (batched decode, prefill): a task dequantizes kTileRows weight rows at a time to f32
// (exact) and runs the f32 GEMM with its 4x4 register tiles; the dequantization is amortized over
// the x rows, where the int16 dots (one x row at a time) fall behind. Measured in docs/perf.md.
#include <algorithm>
#include <vector>

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"

namespace gemma::cpu::fast {
namespace {

// x rows from which dequantized f32 tiles win (1 thread, 10240 x 2560 weights, AVX3: n = 2
// int16 dots 1.7 ms vs tiles 3.1-4.6 ms; n = 4 tiles 3.3 (q4_0) / 4.8 (q8_0) ms vs 4.8 / 4.9;
// n = 8 tiles 4.1 / 5.5 ms vs 10.1 / 11.3 ms).
constexpr int64_t kTileMinRows = 4;
constexpr int64_t kTileRows = 16;  // weight rows dequantized at a time (16·k f32 in cache)

// Prefill: rows [r0, r1) of w dequantized kTileRows at a time, then the f32 GEMM.
void matmul_tiles(const Tensor & x, const Tensor & w, const Tensor & out, int64_t r0, int64_t r1) {
    const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0);
    thread_local std::vector<float> tile;
    tile.resize(size_t(kTileRows * k));
    for (int64_t t0 = r0; t0 < r1; t0 += kTileRows) {
        const int64_t rows = std::min(kTileRows, r1 - t0);
        for (int64_t r = 0; r < rows; ++r) load_row_f32(w, t0 + r, tile.data() + r * k);
        simd::gemv_f32(tile.data(), k, rows, static_cast<const float *>(x.data), k, n, k,
                       f32_data(out) + t0, m);
    }
}

int64_t rows_grain(int64_t m, int n_threads) {
    return std::max<int64_t>(16, m / (int64_t(n_threads) * 8));
}

}  // namespace

void matmul_quant(ThreadPool & pool, const Tensor & x, const Tensor & w, const Tensor & out) {
    const int64_t n = x.dim(0), k = x.dim(1), m = w.dim(0), nb = k / 32;
    if (n == 0 || m == 0) return;
    if (n >= kTileMinRows) {
        pool.parallel_for(m, rows_grain(m, pool.size()),
                          [&](int64_t r0, int64_t r1) { matmul_tiles(x, w, out, r0, r1); });
        return;
    }
    // Owned by the calling thread; the pool's workers only read them during this call.
    thread_local std::vector<int16_t> xq;
    thread_local std::vector<float> xd;
    xq.resize(size_t(n * k));
    xd.resize(size_t(n * nb));
    const float * xp = static_cast<const float *>(x.data);
    int16_t * q = xq.data();
    float * d = xd.data();
    auto quantize = [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            simd::quantize_acts_i16(xp + i * k, k, q + i * k, d + i * nb);
    };
    quantize(0, n);
    const size_t row_bytes = dtype_row_bytes(w.dtype, size_t(k));
    const uint8_t * wp = w.ptr<uint8_t>();
    float * y = f32_data(out);
    const bool q8 = w.dtype == DType::q8_0;
    pool.parallel_for(m, rows_grain(m, pool.size()), [&](int64_t r0, int64_t r1) {
        const uint8_t * wr = wp + size_t(r0) * row_bytes;
        if (q8)
            simd::gemv_q8_0(wr, r1 - r0, q, d, n, k, y + r0, m);
        else
            simd::gemv_q4_0(wr, r1 - r0, q, d, n, k, y + r0, m);
    });
}

}  // namespace gemma::cpu::fast
