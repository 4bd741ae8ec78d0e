// KV cache types (f32, bf16, q8_0; core/kv_quant.h) on the CPU backends: the q8_0 codec against
// hand-computed blocks, option names and op_check errors, kv_store into bf16 / q8_0 caches, the
// fast backend against cpu-ref (byte-identical caches, attention NMSE), and attention over a
// quantized cache equal to f32 attention over its dequantized values (the quantization is the
// only difference).
#include <cmath>
#include <cstring>

#include "core/registry.h"
#include "kv_types_util.h"

namespace gemma::kv_test {
namespace {

std::unique_ptr<Backend> make(const char * name) {
    auto b = backend_create(name);
    EXPECT_TRUE(b.ok()) << name << ": " << (b.ok() ? "" : b.error().message);
    return b.ok() ? std::move(*b) : nullptr;
}

uint16_t block_scale_bits(const uint8_t * block) {
    uint16_t h;
    std::memcpy(&h, block, 2);
    return h;
}

// Hand-made block: max |x| = 127 gives d = 1 (f16 0x3C00), so q = x rounded half away from zero.
TEST(KvQuantCodec, KnownBlock) {
    float x[32] = {127.0f, -63.5f, 0.5f, -0.49f, 2.5f, -127.0f, 10.2f};
    for (int j = 7; j < 32; ++j) x[j] = float(j) - 20.0f;
    uint8_t block[34];
    q8_0_quantize_block(x, block);
    EXPECT_EQ(block_scale_bits(block), 0x3C00);  // f16 1.0
    const int8_t expect[7] = {127, -64, 1, 0, 3, -127, 10};
    for (int j = 0; j < 7; ++j) EXPECT_EQ(int8_t(block[2 + j]), expect[j]) << "value " << j;
    for (int j = 7; j < 32; ++j) EXPECT_EQ(int8_t(block[2 + j]), j - 20) << "value " << j;
    float y[32];
    q8_0_dequantize_block(block, y);
    EXPECT_EQ(y[1], -64.0f);
    EXPECT_EQ(y[5], -127.0f);
}

// max |x| = 0.5: d = 0.5 / 127, stored as the nearest f16; the largest value maps to ±127.
TEST(KvQuantCodec, ScaleIsMaxOver127) {
    float x[32] = {};
    x[3] = -0.5f;
    x[9] = 0.25f;
    uint8_t block[34];
    q8_0_quantize_block(x, block);
    EXPECT_EQ(block_scale_bits(block), f32_to_f16(0.5f / 127.0f));
    EXPECT_EQ(int8_t(block[2 + 3]), -127);
    EXPECT_EQ(int8_t(block[2 + 9]), 64);  // 0.25 · 254 = 63.5 -> 64 (half away from zero)
    EXPECT_EQ(int8_t(block[2 + 0]), 0);
}

TEST(KvQuantCodec, ZeroBlockStaysZero) {
    float x[32] = {}, y[32];
    uint8_t block[34];
    std::memset(block, 0xff, sizeof block);
    q8_0_quantize_block(x, block);
    for (uint8_t byte : block) EXPECT_EQ(byte, 0);
    q8_0_dequantize_block(block, y);
    for (float v : y) EXPECT_EQ(v, 0.0f);
}

// |x − q·d_h| <= d/2 (rounding) + 127·|d − d_h| (the f16 scale, relative error <= 2^-11).
TEST(KvQuantCodec, RoundTripWithinHalfAStep) {
    Tensor t = host_f32({64, 32}, 3, -3.0f, 3.0f);
    for (int64_t b = 0; b < 64; ++b) {
        const float * x = t.ptr<float>() + b * 32;
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        uint8_t block[34];
        float y[32];
        q8_0_quantize_block(x, block);
        q8_0_dequantize_block(block, y);
        double d = amax / 127.0, bound = d / 2 + 127.0 * d * std::ldexp(1.0, -11) + 1e-7;
        for (int j = 0; j < 32; ++j) EXPECT_LE(std::fabs(x[j] - y[j]), bound) << b << ":" << j;
    }
}

TEST(KvQuantNames, ParseAndReject) {
    EXPECT_EQ(kv_cache_dtype_parse("f32").value(), DType::f32);
    EXPECT_EQ(kv_cache_dtype_parse("bf16").value(), DType::bf16);
    EXPECT_EQ(kv_cache_dtype_parse("q8_0").value(), DType::q8_0);
    auto bad = kv_cache_dtype_parse("q4_0");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(bad.error().message.find("'q4_0'"), std::string::npos) << bad.error().message;
    EXPECT_NE(bad.error().message.find("f32, bf16 or q8_0"), std::string::npos);
    EXPECT_FALSE(kv_cache_dtype_check(DType::q8_0, 1, 48).empty());
    EXPECT_TRUE(kv_cache_dtype_check(DType::q8_0, 2, 16).empty());  // blocks span the 2 heads
    EXPECT_TRUE(kv_cache_dtype_check(DType::q8_0, 2, 256).empty());
    EXPECT_FALSE(kv_cache_dtype_check(DType::f16, 2, 256).empty());
}

TEST(KvTypesOpCheck, BadCachesAreErrors) {
    auto b = make("cpu");
    ASSERT_TRUE(b);
    Tensor k = tensor_host(DType::f32, {1, 2, 64}), v = k, pos = host_i32({0});
    Tensor kq = tensor_host(DType::q8_0, {4, 2, 64}), vb = tensor_host(DType::bf16, {4, 2, 64});
    Status mixed = b->kv_store(k, v, pos, kq, vb);
    ASSERT_FALSE(mixed.ok());
    EXPECT_EQ(mixed.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(mixed.error().message.find("same type"), std::string::npos) << mixed.error().message;

    Tensor k48 = tensor_host(DType::f32, {1, 1, 48}), q48 = tensor_host(DType::q8_0, {4, 1, 64});
    q48.shape = {4, 1, 48};  // a q8_0 slot row of 1 x 48 values cannot split into 32-value blocks
    Status odd = b->kv_store(k48, k48, pos, q48, q48);
    ASSERT_FALSE(odd.ok());
    EXPECT_EQ(odd.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(odd.error().message.find("divisible by 32"), std::string::npos)
        << odd.error().message;

    Tensor f16c = tensor_host(DType::f16, {4, 2, 64});
    Status f16 = b->attention(k, f16c, f16c, pos, Tensor{}, AttentionDesc{}, k);
    ASSERT_FALSE(f16.ok());
    EXPECT_EQ(f16.error().code, ErrorCode::unsupported);
    EXPECT_NE(f16.error().message.find("f16"), std::string::npos) << f16.error().message;

    Status to_f32 = b->copy(kq, tensor_host(DType::f32, {4, 2, 64}));
    ASSERT_FALSE(to_f32.ok());
    EXPECT_EQ(to_f32.error().code, ErrorCode::unsupported);
}

TEST(KvTypesSupports, CpuBackendsSayWhatTheyRun) {
    for (const char * name : {"cpu", "cpu-ref"}) {
        auto b = make(name);
        ASSERT_TRUE(b);
        for (DType t : {DType::f32, DType::bf16, DType::q8_0}) {
            EXPECT_TRUE(b->supports({Op::kv_store, DType::f32, t})) << name << dtype_name(t);
            EXPECT_TRUE(b->supports({Op::attention, DType::f32, t})) << name << dtype_name(t);
        }
        EXPECT_FALSE(b->supports({Op::attention, DType::f32, DType::f16})) << name;
        EXPECT_FALSE(b->supports({Op::kv_store, DType::f32, DType::q4_0})) << name;
        EXPECT_TRUE(b->supports({Op::copy, DType::q8_0, DType::q8_0})) << name;
        EXPECT_FALSE(b->supports({Op::copy, DType::q8_0, DType::f32})) << name;
    }
}

// Positions 6, 7, 8 into a 5-slot ring land in slots 1, 2, 3; slots 0 and 4 stay zero. bf16
// stores the nearest bf16; q8_0 values stay within half a quantization step.
TEST(KvTypesKvStore, RingSlotsHoldTheRoundedRows) {
    auto b = make("cpu-ref");
    ASSERT_TRUE(b);
    Tensor k = host_f32({3, 2, 32}, 30, -2.0f, 2.0f), v = host_f32({3, 2, 32}, 31, -1.0f, 1.0f);
    const int64_t row = 64;
    for (DType type : {DType::bf16, DType::q8_0}) {
        Tensor kc = tensor_host(type, {5, 2, 32}), vc = tensor_host(type, {5, 2, 32});
        ASSERT_TRUE(b->kv_store(k, v, host_i32({6, 7, 8}), kc, vc).ok());
        std::vector<uint8_t> kb(kc.ptr<uint8_t>(), kc.ptr<uint8_t>() + kc.nbytes());
        std::vector<float> got = dequantize(type, kb, kc.numel());
        for (int64_t slot : {0, 4})
            for (int64_t j = 0; j < row; ++j) EXPECT_EQ(got[size_t(slot * row + j)], 0.0f);
        for (int64_t t = 0; t < 3; ++t) {
            const float * x = k.ptr<float>() + t * row;
            const float * y = got.data() + (t + 1) * row;
            for (int64_t blk = 0; blk < 2; ++blk) {
                float amax = 0.0f;
                for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
                for (int64_t j = blk * 32; j < blk * 32 + 32; ++j) {
                    if (type == DType::bf16)
                        EXPECT_EQ(y[j], round_bf16(x[j]));
                    else  // half a step, plus the f16 scale's rounding (see RoundTrip above)
                        EXPECT_LE(std::fabs(x[j] - y[j]), amax / 127.0f * 0.5625f) << t << ":" << j;
                }
            }
        }
    }
}

// Same-type copies of cache rows (copy-on-write, gathers) are byte copies on both backends.
TEST(KvTypesCopy, Q8RowsCopyExactly) {
    Tensor src = tensor_host(DType::q8_0, {6, 2, 32});
    Tensor vals = host_f32({6, 2, 32}, 40, -1.0f, 1.0f);
    kv_row_store(DType::q8_0, vals.ptr<float>(), src.data, vals.numel());
    for (const char * name : {"cpu", "cpu-ref"}) {
        auto b = make(name);
        ASSERT_TRUE(b);
        Tensor dst = tensor_host(DType::q8_0, {6, 2, 32});
        ASSERT_TRUE(b->copy(tensor_rows(src, 1, 3), tensor_rows(dst, 2, 3)).ok()) << name;
        size_t rb = src.nbytes() / 6;
        EXPECT_EQ(std::memcmp(dst.ptr<uint8_t>() + 2 * rb, src.ptr<uint8_t>() + rb, 3 * rb), 0);
        for (size_t i = 0; i < 2 * rb; ++i) EXPECT_EQ(dst.ptr<uint8_t>()[i], 0) << name;
    }
}

class KvTypes : public testing::TestWithParam<DType> {};

// cpu (SIMD) against cpu-ref: the same quantizer (byte-identical caches) and f32 attention that
// differs in summation order only.
TEST_P(KvTypes, FastMatchesReference) {
    auto ref = make("cpu-ref"), fast = make("cpu");
    ASSERT_TRUE(ref && fast);
    for (const Scenario & s : scenarios()) {
        KvRun r = run_scenario(*ref, s, GetParam()), f = run_scenario(*fast, s, GetParam());
        EXPECT_TRUE(r.guards_ok && f.guards_ok) << s.name << ": write outside an output";
        EXPECT_TRUE(r.k_bytes == f.k_bytes && r.v_bytes == f.v_bytes) << s.name;
        EXPECT_LE(nmse(r.out, f.out), 1e-7) << s.name;  // f32, summation order only
    }
}

// Attention over a bf16 / q8_0 cache is f32 attention over the dequantized cache, exactly: the
// kernels widen each stored value to f32 and then run the f32 code.
TEST_P(KvTypes, EqualsF32AttentionOnDequantizedCache) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        auto b = make(name);
        ASSERT_TRUE(b);
        for (const Scenario & s : scenarios()) {
            KvRun q = run_scenario(*b, s, GetParam());
            int64_t numel = s.slots * s.hkv * s.d;
            std::vector<float> f = attend_f32(*b, s, dequantize(GetParam(), q.k_bytes, numel),
                                              dequantize(GetParam(), q.v_bytes, numel));
            EXPECT_EQ(q.out, f) << name << ": " << s.name;
        }
    }
}

// The quantization itself, measured against f32 caches of the unrounded values. Per value the
// rounding error is uniform within ±d/2 (q8_0, d = max/127) or ±2^-9 relative (bf16); over
// uniform data that is an NMSE of about (1/127)²/4 = 1.6e-5 (q8_0) and 2^-18/3 = 1.3e-6 (bf16),
// and attention keeps it there. Measured on these scenarios: q8_0 1.1e-5..1.8e-5, bf16
// 1.9e-6..2.8e-6; the bounds leave 5x / 3.5x room.
TEST_P(KvTypes, QuantizationErrorIsSmall) {
    auto b = make("cpu-ref");
    ASSERT_TRUE(b);
    const double bound = GetParam() == DType::q8_0 ? 1e-4 : 1e-5;
    for (const Scenario & s : scenarios()) {
        KvRun q = run_scenario(*b, s, GetParam()), f = run_scenario(*b, s, DType::f32);
        double e = nmse(f.out, q.out);
        EXPECT_LE(e, bound) << s.name;
        EXPECT_GT(e, 0.0) << s.name << ": a quantized cache should differ from f32";
    }
}

INSTANTIATE_TEST_SUITE_P(Cache, KvTypes, testing::Values(DType::bf16, DType::q8_0),
                         [](const auto & info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace gemma::kv_test
