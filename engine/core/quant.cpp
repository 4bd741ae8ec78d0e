// q8_0 / q4_0 row quantization (GGUF reference rules), dequantization, whole-tensor quantization
// on worker threads, and the planar repacking for GPU uploads. Plain scalar loops: quantizing
// runs once at load time, and these functions are the reference the kernels are tested against.
#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

namespace gemma {
namespace {

// Row r of a 2-D f32/f16/bf16 host tensor as f32.
void row_to_f32(const Tensor & t, int64_t r, float * dst) {
    int64_t d = t.dim(1);
    if (t.dtype == DType::f32) {
        std::memcpy(dst, t.ptr<float>() + r * d, size_t(d) * 4);
        return;
    }
    const uint16_t * p = t.ptr<uint16_t>() + r * d;
    if (t.dtype == DType::bf16)
        for (int64_t j = 0; j < d; ++j) dst[j] = bf16_to_f32(p[j]);
    else
        for (int64_t j = 0; j < d; ++j) dst[j] = f16_to_f32(p[j]);
}

// fn(r0, r1) over [0, rows) split into n_threads contiguous ranges.
template <class Fn>
void parallel_rows(int64_t rows, int n_threads, Fn fn) {
    int64_t n = std::min<int64_t>(n_threads, std::max<int64_t>(1, rows / 64));
    if (n <= 1) {
        fn(int64_t(0), rows);
        return;
    }
    std::vector<std::thread> workers;
    int64_t per = (rows + n - 1) / n;
    for (int64_t t = 1; t < n; ++t) {
        int64_t r0 = t * per, r1 = std::min(rows, r0 + per);
        if (r0 < r1) workers.emplace_back([=] { fn(r0, r1); });
    }
    fn(int64_t(0), std::min(rows, per));
    for (std::thread & w : workers) w.join();
}

}  // namespace

Status quant_check_row(DType type, int64_t row_len, const std::string & what) {
    if (row_len > 0 && row_len % kQuantBlock == 0) return Status::success();
    return make_error(
        ErrorCode::invalid_argument,
        format("%s: rows of %lld values cannot be stored as %s, which needs a "
               "multiple of %lld per row; keep this tensor unquantized",
               what.c_str(), (long long)row_len, dtype_name(type), (long long)kQuantBlock));
}

void quantize_row_q8_0(const float * x, int64_t n, void * dst) {
    BlockQ8_0 * b = static_cast<BlockQ8_0 *>(dst);
    for (int64_t i = 0; i < n / kQuantBlock; ++i, x += kQuantBlock) {
        float amax = 0.0f;
        for (int j = 0; j < kQuantBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < kQuantBlock; ++j) b[i].qs[j] = int8_t(std::lround(x[j] * id));
    }
}

void quantize_row_q4_0(const float * x, int64_t n, void * dst) {
    BlockQ4_0 * b = static_cast<BlockQ4_0 *>(dst);
    for (int64_t i = 0; i < n / kQuantBlock; ++i, x += kQuantBlock) {
        float amax = 0.0f, m = 0.0f;  // largest magnitude and the signed value that has it
        for (int j = 0; j < kQuantBlock; ++j) {
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                m = x[j];
            }
        }
        const float d = m / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = f32_to_f16(d);
        for (int j = 0; j < 16; ++j) {
            // x·id lies in [−8, 8]; +8.5 then floor rounds to the nearest level (halves up).
            int lo = std::min(15, int(std::floor(x[j] * id + 8.5f)));
            int hi = std::min(15, int(std::floor(x[j + 16] * id + 8.5f)));
            b[i].qs[j] = uint8_t(std::max(lo, 0) | (std::max(hi, 0) << 4));
        }
    }
}

void dequantize_row_q8_0(const void * src, int64_t n, float * y) {
    const BlockQ8_0 * b = static_cast<const BlockQ8_0 *>(src);
    for (int64_t i = 0; i < n / kQuantBlock; ++i, y += kQuantBlock) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < kQuantBlock; ++j) y[j] = float(b[i].qs[j]) * d;
    }
}

void dequantize_row_q4_0(const void * src, int64_t n, float * y) {
    const BlockQ4_0 * b = static_cast<const BlockQ4_0 *>(src);
    for (int64_t i = 0; i < n / kQuantBlock; ++i, y += kQuantBlock) {
        const float d = f16_to_f32(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = float(int(b[i].qs[j] & 0x0f) - 8) * d;
            y[j + 16] = float(int(b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quantize_row(DType type, const float * x, int64_t n, void * dst) {
    GEMMA_ASSERT(dtype_is_quant(type), "quantize_row: %s is not a quantized type",
                 dtype_name(type));
    if (type == DType::q8_0)
        quantize_row_q8_0(x, n, dst);
    else
        quantize_row_q4_0(x, n, dst);
}

void dequantize_row(DType type, const void * src, int64_t n, float * y) {
    GEMMA_ASSERT(dtype_is_quant(type), "dequantize_row: %s is not a quantized type",
                 dtype_name(type));
    if (type == DType::q8_0)
        dequantize_row_q8_0(src, n, y);
    else
        dequantize_row_q4_0(src, n, y);
}

Result<Tensor> quantize_tensor(const Tensor & src, DType type, const std::string & name,
                               int n_threads) {
    if (!dtype_is_quant(type))
        return make_error(ErrorCode::unsupported, format("%s: cannot quantize to %s (q8_0 or q4_0)",
                                                         name.c_str(), dtype_name(type)));
    bool is_float = src.dtype == DType::f32 || src.dtype == DType::f16 || src.dtype == DType::bf16;
    if (src.ndim() != 2 || !is_float || src.where != Where::host || src.empty())
        return make_error(
            ErrorCode::invalid_argument,
            format("%s: only 2-D f32/f16/bf16 host tensors can be quantized (got "
                   "%s %s)",
                   name.c_str(), dtype_name(src.dtype), shape_str(src.shape).c_str()));
    GEMMA_TRY(quant_check_row(type, src.dim(1), name));
    const int64_t rows = src.dim(0), cols = src.dim(1);
    const size_t row_bytes = dtype_row_bytes(type, size_t(cols));
    Tensor out = tensor_host(type, src.shape);
    if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
    parallel_rows(rows, n_threads, [&](int64_t r0, int64_t r1) {
        std::vector<float> row(static_cast<size_t>(cols));
        for (int64_t r = r0; r < r1; ++r) {
            row_to_f32(src, r, row.data());
            quantize_row(type, row.data(), cols, out.ptr<uint8_t>() + size_t(r) * row_bytes);
        }
    });
    return out;
}

Tensor dequantize_tensor(const Tensor & q) {
    GEMMA_ASSERT(dtype_is_quant(q.dtype) && q.where == Where::host && q.ndim() >= 1,
                 "dequantize_tensor: needs a quantized host tensor");
    Tensor out = tensor_host(DType::f32, q.shape);
    const int64_t cols = q.dim(-1), rows = q.numel() / std::max<int64_t>(1, cols);
    const size_t row_bytes = dtype_row_bytes(q.dtype, size_t(cols));
    for (int64_t r = 0; r < rows; ++r)
        dequantize_row(q.dtype, q.ptr<uint8_t>() + size_t(r) * row_bytes, cols,
                       out.ptr<float>() + r * cols);
    return out;
}

void quant_to_planar(DType type, const void * blocks, int64_t rows, int64_t cols, void * planar) {
    GEMMA_ASSERT(dtype_is_quant(type) && cols % kQuantBlock == 0, "quant_to_planar: %s cols %lld",
                 dtype_name(type), (long long)cols);
    const int64_t nb = cols / kQuantBlock, qbytes = quant_row_qbytes(type, cols);
    const size_t block_bytes = dtype_block_bytes(type), qpb = block_bytes - 2;
    const uint8_t * src = static_cast<const uint8_t *>(blocks);
    uint8_t * quants = static_cast<uint8_t *>(planar);
    uint8_t * scales = quants + rows * qbytes;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t * blk = src + size_t(r * nb + b) * block_bytes;
            std::memcpy(scales + size_t(r * nb + b) * 2, blk, 2);
            std::memcpy(quants + size_t(r) * size_t(qbytes) + size_t(b) * qpb, blk + 2, qpb);
        }
    }
}

}  // namespace gemma
