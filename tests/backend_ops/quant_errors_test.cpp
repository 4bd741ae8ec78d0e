// Bad calls with q8_0 / q4_0 operands are error values naming what is wrong: a quantized weight
// whose rows are not a multiple of 32, quantized operands where only float ones are allowed.
#include <gtest/gtest.h>

#include "core/quant.h"
#include "core/registry.h"

namespace gemma {
namespace {

TEST(QuantErrors, RowsNotAMultipleOf32) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        auto b = backend_create(name);
        ASSERT_TRUE(b.ok()) << b.error().message;
        // A hand-built q8_0 view claiming 40 values per row (a corrupt or mis-shaped weight).
        Tensor w = tensor_host(DType::q8_0, {4, 64});
        w.shape = {4, 40};
        Tensor x = tensor_host(DType::f32, {1, 40}), out = tensor_host(DType::f32, {1, 4});
        Status s = (*b)->matmul(x, w, out);
        ASSERT_FALSE(s.ok()) << name;
        EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(s.error().message.find("q8_0"), std::string::npos) << s.error().message;
        EXPECT_NE(s.error().message.find("[4, 40]"), std::string::npos) << s.error().message;
        Tensor ids = tensor_host(DType::i32, {1}), rows = tensor_host(DType::f32, {1, 40});
        EXPECT_FALSE((*b)->get_rows(w, ids, 1.0f, rows).ok()) << name;
    }
}

TEST(QuantErrors, QuantizedOperandOfAFloatOp) {
    auto b = backend_create("cpu");
    ASSERT_TRUE(b.ok());
    EXPECT_FALSE((*b)->supports({Op::rms_norm, DType::f32, DType::q4_0}));
    EXPECT_TRUE((*b)->supports({Op::matmul, DType::f32, DType::q4_0}));
    Tensor x = tensor_host(DType::f32, {2, 64}), w = tensor_host(DType::q4_0, {1, 64});
    w.shape = {64};
    Status s = (*b)->rms_norm(x, w, 1e-6f, x);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::unsupported);
    EXPECT_NE(s.error().message.find("q4_0"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace gemma
