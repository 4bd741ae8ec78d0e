// Tensor views used by backends (rows, reshape, prefix, part) and the shared op shape checks.
#include <gtest/gtest.h>

#include <cstring>

#include "core/backend.h"

using namespace gemma;

TEST(Views, RowsReshapePrefixShareData) {
    Tensor t = tensor_host(DType::f32, {4, 3});
    for (int i = 0; i < 12; ++i) t.ptr<float>()[i] = float(i);
    Tensor r = tensor_rows(t, 2, 2);
    EXPECT_EQ(r.shape, (Shape{2, 3}));
    EXPECT_EQ(r.ptr<float>()[0], 6.0f);
    EXPECT_EQ(r.owner, t.owner);
    Tensor s = tensor_reshape(t, {12});
    EXPECT_EQ(s.data, t.data);
    Tensor p = tensor_prefix(t, {2, 2});
    EXPECT_EQ(p.numel(), 4);
    EXPECT_EQ(p.ptr<float>()[3], 3.0f);
    Tensor b = tensor_host(DType::bf16, {3, 8});
    EXPECT_EQ(static_cast<char *>(tensor_rows(b, 1, 1).data) - static_cast<char *>(b.data), 16);
}

TEST(Views, PartsOfOneBufferTakeTheirOwnTypes) {
    Tensor all = tensor_host(DType::f32, {2 * 3 + 2});  // ids [2, 3] (i32), then lse [2]
    Tensor ids = tensor_part(all, 0, DType::i32, {2, 3});
    Tensor lse = tensor_part(all, 6 * sizeof(float), DType::f32, {2});
    ids.ptr<int32_t>()[5] = -7;
    lse.ptr<float>()[1] = 2.5f;
    EXPECT_EQ(ids.dtype, DType::i32);
    EXPECT_EQ(ids.owner, all.owner);
    EXPECT_EQ(lse.shape, (Shape{2}));
    int32_t back = 0;
    std::memcpy(&back, all.ptr<float>() + 5, sizeof(back));
    EXPECT_EQ(back, -7);
    EXPECT_EQ(all.ptr<float>()[7], 2.5f);
}

TEST(OpCheck, NamesOpAndShapes) {
    Tensor x = tensor_host(DType::f32, {2, 3}), w = tensor_host(DType::bf16, {4, 5});
    Tensor out = tensor_host(DType::f32, {2, 4});
    Status s = op_check::matmul(x, w, out);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("matmul"), std::string::npos);
    EXPECT_NE(s.error().message.find("[4, 5]"), std::string::npos) << s.error().message;
    Tensor w_ok = tensor_host(DType::bf16, {4, 3});
    EXPECT_TRUE(op_check::matmul(x, w_ok, out).ok());
    Tensor pos = tensor_host(DType::i64, {2});
    Tensor q = tensor_host(DType::f32, {2, 1, 4}), f = tensor_host(DType::f32, {2});
    EXPECT_FALSE(op_check::rope(q, pos, f, q).ok());  // positions must be i32
    Tensor pos32 = tensor_host(DType::i32, {2});
    EXPECT_TRUE(op_check::rope(q, pos32, f, q).ok());
    Tensor a = tensor_host(DType::f32, {3, 4});
    EXPECT_FALSE(
        op_check::transpose01(tensor_reshape(a, {1, 3, 4}), tensor_reshape(a, {3, 1, 4})).ok());
}
