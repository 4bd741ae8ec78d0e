// dtype conversions: bf16/f16 round trips and rounding against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.h"
#include "core/tensor.h"

using namespace gemma;

TEST(DType, Bf16RoundsToNearestEven) {
    EXPECT_EQ(round_bf16(std::sqrt(2560.0f)), 50.5f);  // spec: embed scale bf16(sqrt(2560)) = 50.5
    EXPECT_EQ(round_bf16(std::sqrt(8.0f)), 2.828125f);  // fixture PLE scale
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
}

TEST(DType, F16RoundTrip) {
    for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
        EXPECT_EQ(f16_to_f32(f32_to_f16(v)), v) << v;
    }
    EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
}

TEST(Tensor, HostAllocAndConvert) {
    Tensor t = tensor_host(DType::bf16, {2, 3});
    EXPECT_EQ(t.nbytes(), 12u);
    t.ptr<uint16_t>()[4] = f32_to_bf16(3.0f);
    Tensor f = tensor_to_f32(t);
    EXPECT_EQ(f.ptr<float>()[4], 3.0f);
    EXPECT_EQ(shape_str(t.shape), "[2, 3]");
}
