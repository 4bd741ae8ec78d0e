// Bad calls of the audio conformer's ops are error values naming the op and what is wrong, on
// both CPU backends, before any memory is touched (core/op_check.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "core/registry.h"

namespace gemma {
namespace {

void expect_invalid(const Status & s, const char * op, const char * what) {
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument) << what;
    EXPECT_NE(s.error().message.find(op), std::string::npos) << what << ": " << s.error().message;
}

TEST(AudioOpsErrors, BadShapesAndParametersAreErrors) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        SCOPED_TRACE(name);
        auto made = backend_create(name);
        ASSERT_TRUE(made.ok()) << made.error().message;
        Backend & b = **made;
        Tensor x = tensor_host(DType::f32, {4, 6}), odd = tensor_host(DType::f32, {4, 5});
        Tensor half = tensor_host(DType::f32, {4, 3});
        expect_invalid(b.glu(odd, half), "glu", "odd gate width");
        expect_invalid(b.glu(x, x), "glu", "out must be half the width");
        expect_invalid(b.activation(x, Activation(7), x), "activation", "unknown function");
        expect_invalid(b.conv1d_dw(x, tensor_host(DType::f32, {5, 3}), half), "conv1d_dw",
                       "w rows must be the channels");
        expect_invalid(b.conv1d_dw(x, tensor_host(DType::f32, {6, 3}), x), "conv1d_dw",
                       "in place is not allowed");
        expect_invalid(b.layer_norm(x, tensor_host(DType::f32, {5}), 1e-6f, x), "layer_norm",
                       "w must have d elements");
        Tensor img = tensor_host(DType::f32, {5, 5, 2});
        expect_invalid(b.im2col(img, {7, 3, 1, 0}, tensor_host(DType::f32, {1, 42})), "im2col",
                       "kernel taller than the padded image");
        expect_invalid(b.im2col(img, {3, 3, 0, 1}, tensor_host(DType::f32, {1, 18})), "im2col",
                       "stride 0");
        expect_invalid(b.im2col(img, {3, 3, 2, 1}, tensor_host(DType::f32, {8, 18})), "im2col",
                       "wrong patch count (3x3 = 9 expected)");
        Tensor q = tensor_host(DType::f32, {5, 2, 4}), o = tensor_host(DType::f32, {5, 2, 4});
        ChunkAttentionDesc d{4, 3, 50.0f, -1e9f, ChunkMask::sliding};
        expect_invalid(b.chunk_attention(q, q, q, tensor_host(DType::f32, {3, 2, 4}), d, o),
                       "chunk_attention", "rel must have past + 1 rows");
        expect_invalid(b.chunk_attention(q, q, q, tensor_host(DType::f32, {4, 2, 4}), d, q),
                       "chunk_attention", "out aliases q");
        ChunkAttentionDesc no_cap = d;
        no_cap.cap = 0.0f;
        expect_invalid(b.chunk_attention(q, q, q, tensor_host(DType::f32, {4, 2, 4}), no_cap, o),
                       "chunk_attention", "cap 0");
        ChunkAttentionDesc nan_invalid = d;
        nan_invalid.invalid = NAN;
        expect_invalid(
            b.chunk_attention(q, q, q, tensor_host(DType::f32, {4, 2, 4}), nan_invalid, o),
            "chunk_attention", "NaN invalid logit");
    }
}

}  // namespace
}  // namespace gemma
