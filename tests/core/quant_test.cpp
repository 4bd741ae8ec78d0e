// q8_0 / q4_0 formats (core/quant.h) against bytes worked out by hand from the GGUF block
// definitions, the rounding bounds the formats promise on random rows, the planar repacking,
// threaded whole-tensor quantization and the errors for rows that are not a multiple of 32.
#include "core/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace gemma;

namespace {

std::vector<uint8_t> bytes_of(const void * p, size_t n) {
    const uint8_t * b = static_cast<const uint8_t *>(p);
    return std::vector<uint8_t>(b, b + n);
}

std::vector<float> random_row(int64_t n, uint32_t seed, float scale) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> x(static_cast<size_t>(n));
    for (float & v : x) v = dist(rng);
    return x;
}

}  // namespace

TEST(Quant, BlockSizes) {
    EXPECT_EQ(dtype_block_size(DType::q8_0), 32u);
    EXPECT_EQ(dtype_block_bytes(DType::q8_0), 34u);
    EXPECT_EQ(dtype_block_bytes(DType::q4_0), 18u);
    EXPECT_EQ(tensor_host(DType::q4_0, {3, 64}).nbytes(), 3u * 2u * 18u);
}

// max|x| = 31.75 -> d = 31.75 / 127 = 0.25 (f16 0x3400, exact); q = round(x / 0.25), halves away
// from zero: 31.75 -> 127, -0.25 -> -1, 1.0 -> 4, 0.375 -> 1.5 -> 2, -0.375 -> -2, 0.1 -> 0.
TEST(Quant, Q8_0HandBlock) {
    float x[32] = {31.75f, -0.25f, 1.0f, 0.375f, -0.375f, 0.1f};
    BlockQ8_0 b;
    quantize_row_q8_0(x, 32, &b);
    std::vector<uint8_t> want(34, 0);
    want[0] = 0x00;  // d = 0x3400, little endian
    want[1] = 0x34;
    want[2] = 127;
    want[3] = 0xff;  // -1
    want[4] = 4;
    want[5] = 2;
    want[6] = 0xfe;  // -2
    EXPECT_EQ(bytes_of(&b, 34), want);
    float y[32];
    dequantize_row_q8_0(&b, 32, y);
    EXPECT_EQ(y[0], 31.75f);
    EXPECT_EQ(y[1], -0.25f);
    EXPECT_EQ(y[3], 0.5f);
    EXPECT_EQ(y[4], -0.5f);
    EXPECT_EQ(y[5], 0.0f);
}

// Largest magnitude 8 (positive) -> d = 8 / -8 = -1 (f16 0xbc00); nibble = min(15, ⌊x·(−1) + 8.5⌋):
// 8 -> 0, -7 -> 15, 0 -> 8, 2.4 -> ⌊6.1⌋ = 6; x[16] = -8 (same magnitude, not larger, so the
// scale stays) -> 16 -> clamped 15; 1 -> 7; 0.5 -> ⌊8.0⌋ = 8. Byte j = x[j] | x[j + 16] << 4.
TEST(Quant, Q4_0HandBlock) {
    float x[32] = {8.0f, -7.0f, 0.0f, 2.4f};
    x[16] = -8.0f;
    x[17] = 1.0f;
    x[18] = 0.5f;
    BlockQ4_0 b;
    quantize_row_q4_0(x, 32, &b);
    std::vector<uint8_t> want(18, 0x88);  // zeros: nibble 8 in both halves
    want[0] = 0x00;
    want[1] = 0xbc;
    want[2] = 0xf0;  // x0 -> 0, x16 -> 15
    want[3] = 0x7f;  // x1 -> 15, x17 -> 7
    want[4] = 0x88;  // x2 -> 8, x18 -> 8
    want[5] = 0x86;  // x3 -> 6, x19 -> 8
    EXPECT_EQ(bytes_of(&b, 18), want);
    float y[32];
    dequantize_row_q4_0(&b, 32, y);
    EXPECT_EQ(y[0], 8.0f);    // (0 − 8) · −1
    EXPECT_EQ(y[1], -7.0f);   // (15 − 8) · −1
    EXPECT_EQ(y[3], 2.0f);    // (6 − 8) · −1
    EXPECT_EQ(y[16], -7.0f);  // the clamped end of the range
    EXPECT_EQ(y[17], 1.0f);
}

// Bytes written by hand, read back: q8_0 d = 0.5 (0x3800), q = -128, 3; q4_0 d = 0.25 (0x3400),
// byte 0 = 0x1f: value 0 = (15 − 8)·0.25, value 16 = (1 − 8)·0.25.
TEST(Quant, DequantizeHandBytes) {
    uint8_t q8[34] = {0x00, 0x38, 0x80, 0x03};
    float y[32];
    dequantize_row_q8_0(q8, 32, y);
    EXPECT_EQ(y[0], -64.0f);
    EXPECT_EQ(y[1], 1.5f);
    EXPECT_EQ(y[2], 0.0f);
    uint8_t q4[18] = {0x00, 0x34, 0x1f};
    dequantize_row_q4_0(q4, 32, y);
    EXPECT_EQ(y[0], 1.75f);
    EXPECT_EQ(y[16], -1.75f);
    EXPECT_EQ(y[1], -2.0f);  // byte 0x00: (0 − 8)·0.25
}

TEST(Quant, ZeroBlockIsExact) {
    float x[32] = {};
    BlockQ8_0 b8;
    BlockQ4_0 b4;
    quantize_row_q8_0(x, 32, &b8);
    quantize_row_q4_0(x, 32, &b4);
    float y[32];
    dequantize_row_q8_0(&b8, 32, y);
    for (float v : y) EXPECT_EQ(v, 0.0f);
    dequantize_row_q4_0(&b4, 32, y);
    for (float v : y) EXPECT_EQ(v, 0.0f);
}

// Round to nearest: every value is within half a step of its level, plus the f16 rounding of d
// (relative 2^-11, times at most 127 resp. 8 steps); q4_0's clamped top level is one step off.
TEST(Quant, RoundTripWithinHalfAStep) {
    const int64_t n = 32 * 64;
    std::vector<float> x = random_row(n, 7, 0.05f), y(static_cast<size_t>(n));
    for (DType t : {DType::q8_0, DType::q4_0}) {
        std::vector<uint8_t> q(dtype_row_bytes(t, size_t(n)));
        quantize_row(t, x.data(), n, q.data());
        dequantize_row(t, q.data(), n, y.data());
        for (int64_t b = 0; b < n / 32; ++b) {
            float amax = 0.0f;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[size_t(b * 32 + j)]));
            float step = t == DType::q8_0 ? amax / 127.0f : amax / 8.0f;
            float levels = t == DType::q8_0 ? 127.0f : 8.0f;
            float slack = step * levels * 1.0e-3f;  // f16 d: 2^-11 relative per level
            for (int j = 0; j < 32; ++j) {
                size_t i = size_t(b * 32 + j);
                float err = std::fabs(x[i] - y[i]);
                float bound = (t == DType::q4_0 && err > 0.5f * step + slack) ? step : 0.5f * step;
                EXPECT_LE(err, bound + slack) << dtype_name(t) << " value " << i;
            }
        }
    }
}

TEST(Quant, PlanarKeepsEveryByte) {
    const int64_t rows = 3, cols = 64;
    for (DType t : {DType::q8_0, DType::q4_0}) {
        std::vector<float> x = random_row(rows * cols, 3, 1.0f);
        const size_t rb = dtype_row_bytes(t, size_t(cols));
        std::vector<uint8_t> blocks(rb * rows), planar(rb * rows);
        for (int64_t r = 0; r < rows; ++r)
            quantize_row(t, x.data() + r * cols, cols, blocks.data() + size_t(r) * rb);
        quant_to_planar(t, blocks.data(), rows, cols, planar.data());
        const size_t qpb = dtype_block_bytes(t) - 2, qrow = size_t(quant_row_qbytes(t, cols));
        const uint8_t * scales = planar.data() + rows * qrow;
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t b = 0; b < cols / 32; ++b) {
                const uint8_t * blk = blocks.data() + size_t(r) * rb + size_t(b) * (qpb + 2);
                EXPECT_EQ(std::memcmp(scales + size_t(r * 2 + b) * 2, blk, 2), 0);
                EXPECT_EQ(
                    std::memcmp(planar.data() + size_t(r) * qrow + size_t(b) * qpb, blk + 2, qpb),
                    0);
            }
        }
    }
}

TEST(Quant, TensorOnThreadsMatchesRows) {
    const int64_t rows = 300, cols = 96;
    Tensor src = tensor_host(DType::bf16, {rows, cols});
    std::vector<float> x = random_row(rows * cols, 5, 0.1f);
    for (int64_t i = 0; i < rows * cols; ++i) src.ptr<uint16_t>()[i] = f32_to_bf16(x[size_t(i)]);
    for (DType t : {DType::q8_0, DType::q4_0}) {
        auto q = quantize_tensor(src, t, "w", 3);
        ASSERT_TRUE(q.ok()) << q.error().message;
        EXPECT_EQ(q->dtype, t);
        EXPECT_EQ(q->shape, src.shape);
        const size_t rb = dtype_row_bytes(t, size_t(cols));
        std::vector<float> row(static_cast<size_t>(cols));
        std::vector<uint8_t> want(rb);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < cols; ++j)
                row[size_t(j)] = bf16_to_f32(src.ptr<uint16_t>()[r * cols + j]);
            quantize_row(t, row.data(), cols, want.data());
            ASSERT_EQ(std::memcmp(q->ptr<uint8_t>() + size_t(r) * rb, want.data(), rb), 0)
                << dtype_name(t) << " row " << r;
        }
        Tensor back = dequantize_tensor(*q);
        EXPECT_NEAR(back.ptr<float>()[5], x[5], 0.1f * 4.0f / 8.0f);
    }
}

TEST(Quant, RowLengthNotMultipleOf32IsAnError) {
    Tensor src = tensor_host(DType::f32, {4, 33});
    auto q = quantize_tensor(src, DType::q4_0, "model.layers.0.mlp.up_proj.weight");
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(q.error().message.find("model.layers.0.mlp.up_proj.weight"), std::string::npos)
        << q.error().message;
    EXPECT_NE(q.error().message.find("33"), std::string::npos) << q.error().message;
    auto bad_type = quantize_tensor(tensor_host(DType::f32, {2, 32}), DType::bf16, "w");
    ASSERT_FALSE(bad_type.ok());
    EXPECT_EQ(bad_type.error().code, ErrorCode::unsupported);
    auto one_d = quantize_tensor(tensor_host(DType::f32, {64}), DType::q8_0, "norm");
    ASSERT_FALSE(one_d.ok());
    EXPECT_EQ(one_d.error().code, ErrorCode::invalid_argument);
}
