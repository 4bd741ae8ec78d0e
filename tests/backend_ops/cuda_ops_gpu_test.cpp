// CUDA backend vs cpu-ref, op by op (tests/backend_ops): seeded random inputs, round and odd
// shapes, NMSE against cpu-ref (1e-7 unless a case says why), guard bytes around every output.
// Runs for "cuda" and "cuda-f32"; skipped (reported by CTest as skipped) without a GPU.
#include <algorithm>
#include <cmath>

#include "cuda_harness.h"

namespace gemma::cuda_test {
namespace {

constexpr double kTol = 1e-7;  // f32 arithmetic, different summation order

class CudaOps : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why = open_backends(GetParam(), b_);
        if (!why.empty()) GTEST_SKIP() << why;
    }
    bool single_bf16() const { return GetParam() == "cuda-bf16"; }
    Backends b_;
};

TEST(CudaRegistry, ListsCudaBackends) {
#if !GEMMA_HAS_CUDA
    GTEST_SKIP() << "built without the CUDA backend (GEMMA_CUDA=OFF)";
#endif
    auto names = backend_names();
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda-f32"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "cuda-bf16"), names.end());
}

TEST_P(CudaOps, InfoNamesTheDevice) {
    BackendInfo info = b_.gpu->info();
    EXPECT_EQ(info.name, GetParam());
    EXPECT_EQ(info.where, Where::device);
    EXPECT_GT(info.memory_bytes, size_t(0));
}

TEST_P(CudaOps, GetRows) {
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
        Tensor table = random_host(dt, {37, 13}, 1);
        Tensor ids = i32_host({0, 36, 5, -1, 37, 5, 12});  // -1 and 37: zero rows
        expect_match(
            b_, DType::f32, {7, 13}, kTol,
            [&](Backend & be, const Tensor & out) {
                return be.get_rows(put(be, table), put(be, ids), 1.5f, out);
            },
            std::string("get_rows ") + dtype_name(dt));
    }
}

TEST_P(CudaOps, GetRowsFromHostTable) {  // a table left in host memory (the PLE table)
    Tensor table = random_host(DType::bf16, {300, 80}, 2);
    Tensor ids = i32_host({7, 299, 0, 150});
    expect_match(
        b_, DType::f32, {4, 80}, kTol,
        [&](Backend & be, const Tensor & out) {
            return be.get_rows(table, put(be, ids), 16.0f, out);
        },
        "get_rows host table");
}

struct MatmulCase {
    int64_t n, k, m;
};

TEST_P(CudaOps, Matmul) {
    const MatmulCase cases[] = {{1, 64, 96},   {3, 256, 257}, {8, 128, 5},   {1, 2560, 40},
                                {2, 1024, 33}, {9, 64, 96},   {40, 136, 70}, {64, 64, 128},
                                {5, 13, 11},   {1, 12, 7}};
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
        for (const MatmulCase & c : cases) {
            Tensor x = random_host(DType::f32, {c.n, c.k}, 3);
            Tensor w = random_host(dt, {c.m, c.k}, 4);
            // "cuda-bf16" rounds x once to w's 16-bit type for tensor-core GEMMs (n > 8): relative
            // error per product 2^-9 (bf16) / 2^-12 (f16), NMSE about that squared over 3.
            // "cuda" splits x into two 16-bit terms: f32 class.
            double tol = kTol;
            if (single_bf16() && c.n > 8 && dt == DType::bf16) tol = 1e-5;
            if (single_bf16() && c.n > 8 && dt == DType::f16) tol = 1e-6;
            expect_match(
                b_, DType::f32, {c.n, c.m}, tol,
                [&](Backend & be, const Tensor & out) {
                    return be.matmul(put(be, x), put(be, w), out);
                },
                format("matmul %s n=%lld k=%lld m=%lld", dtype_name(dt), (long long)c.n,
                       (long long)c.k, (long long)c.m));
        }
    }
}

TEST_P(CudaOps, MatmulUnalignedViews) {  // rows of a bigger tensor: not 16-byte aligned
    Tensor x = random_host(DType::f32, {4, 20}, 5);
    Tensor w = random_host(DType::bf16, {9, 20}, 6);
    expect_match(
        b_, DType::f32, {3, 8}, kTol,
        [&](Backend & be, const Tensor & out) {
            Tensor xv = tensor_rows(put(be, x), 1, 3), wv = tensor_rows(put(be, w), 1, 8);
            return be.matmul(xv, wv, out);
        },
        "matmul unaligned");
}

TEST_P(CudaOps, RmsNorm) {
    struct Case {
        int64_t r, d;
        DType w;
        bool has_w;
    };
    const Case cases[] = {{5, 13, DType::bf16, true},
                          {4, 2560, DType::f32, true},
                          {16, 256, DType::f32, false},
                          {3, 7, DType::f16, true},
                          {1, 512, DType::bf16, true}};
    for (const Case & c : cases) {
        Tensor x = random_host(DType::f32, {c.r, c.d}, 7, -3.0f, 3.0f);
        Tensor w = random_host(c.w, {c.d}, 8, 0.8f, 1.2f);
        expect_match(
            b_, DType::f32, {c.r, c.d}, kTol,
            [&](Backend & be, const Tensor & out) {
                return be.rms_norm(put(be, x), c.has_w ? put(be, w) : Tensor{}, 1e-6f, out);
            },
            format("rms_norm %lldx%lld", (long long)c.r, (long long)c.d));
    }
}

TEST_P(CudaOps, RmsNormInPlace) {
    Tensor x = random_host(DType::f32, {6, 100}, 9);
    Tensor w = random_host(DType::bf16, {100}, 10);
    std::vector<float> res[2];
    Backend * bs[2] = {b_.ref.get(), b_.gpu.get()};
    for (int i = 0; i < 2; ++i) {
        Tensor xi = copy_in(*bs[i], x);
        ASSERT_TRUE(bs[i]->rms_norm(xi, put(*bs[i], w), 1e-6f, xi).ok());
        res[i] = read_f32(*bs[i], xi);
    }
    EXPECT_LE(nmse(res[0], res[1]), kTol);
}

Tensor rope_freqs(int64_t d, float base, int64_t rotated_pairs) {
    Tensor f = tensor_host(DType::f32, {d / 2});
    for (int64_t i = 0; i < d / 2; ++i)
        f.ptr<float>()[i] = i < rotated_pairs ? std::pow(base, -2.0f * float(i) / float(d)) : 0.0f;
    return f;
}

TEST_P(CudaOps, Rope) {
    struct Case {
        int64_t n, h, d, rotated;
        float base;
    };
    const Case cases[] = {{5, 3, 16, 8, 10000.0f},
                          {2, 8, 256, 128, 10000.0f},
                          {3, 8, 512, 64, 1e6f},
                          {7, 1, 6, 3, 10000.0f}};
    for (const Case & c : cases) {
        Tensor x = random_host(DType::f32, {c.n, c.h, c.d}, 11);
        std::vector<int32_t> pos;
        for (int64_t i = 0; i < c.n; ++i) pos.push_back(int32_t(i * 40001 % 131072));  // up to 10^5
        Tensor p = i32_host(pos), f = rope_freqs(c.d, c.base, c.rotated);
        expect_match(
            b_, DType::f32, {c.n, c.h, c.d}, kTol,
            [&](Backend & be, const Tensor & out) {
                return be.rope(put(be, x), put(be, p), put(be, f), out);
            },
            format("rope d=%lld", (long long)c.d));
    }
}

TEST_P(CudaOps, AddMulBroadcast) {
    Shape a_shape = {5, 7, 11, 13};
    Tensor a = random_host(DType::f32, a_shape, 12);
    for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
        for (Shape bs : {a_shape, Shape{13}, Shape{1}}) {
            Tensor b = random_host(dt, bs, 13);
            for (bool is_add : {true, false}) {
                expect_match(
                    b_, DType::f32, a_shape, kTol,
                    [&](Backend & be, const Tensor & out) {
                        return is_add ? be.add(put(be, a), put(be, b), out)
                                      : be.mul(put(be, a), put(be, b), out);
                    },
                    format("%s %s b=%s", is_add ? "add" : "mul", dtype_name(dt),
                           shape_str(bs).c_str()));
            }
        }
    }
}

TEST_P(CudaOps, UnaryAndGating) {
    Tensor g = random_host(DType::f32, {4, 1000}, 14, -6.0f, 6.0f);
    Tensor u = random_host(DType::f32, {4, 1000}, 15);
    Tensor big = random_host(DType::f32, {3, 333}, 16, -200.0f, 200.0f);  // softcap saturates
    expect_match(
        b_, DType::f32, {4, 1000}, kTol,
        [&](Backend & be, const Tensor & out) {
            return be.gelu_tanh_mul(put(be, g), put(be, u), out);
        },
        "gelu_tanh_mul");
    expect_match(
        b_, DType::f32, {3, 333}, kTol,
        [&](Backend & be, const Tensor & out) { return be.scale(put(be, big), 0.70710678f, out); },
        "scale");
    expect_match(
        b_, DType::f32, {3, 333}, kTol,
        [&](Backend & be, const Tensor & out) { return be.softcap(put(be, big), 30.0f, out); },
        "softcap");
}

TEST_P(CudaOps, CopyConvertsAndTransposes) {
    for (DType from : {DType::f32, DType::bf16, DType::f16}) {
        for (DType to : {DType::f32, DType::bf16, DType::f16}) {
            Tensor src = random_host(from, {3, 7, 5}, 17, -100.0f, 100.0f);
            expect_match(
                b_, to, {105}, 0.0,
                [&](Backend & be, const Tensor & out) { return be.copy(put(be, src), out); },
                format("copy %s -> %s", dtype_name(from), dtype_name(to)));  // exact: same rounding
        }
    }
    Tensor x = random_host(DType::f32, {5, 7, 11}, 18);
    expect_match(
        b_, DType::f32, {7, 5, 11}, 0.0,
        [&](Backend & be, const Tensor & out) { return be.transpose01(put(be, x), out); },
        "transpose01");
}

TEST_P(CudaOps, ErrorsAreValues) {
    Backend & g = *b_.gpu;
    Tensor hx = random_host(DType::f32, {2, 8}, 19);
    Tensor w = put(g, random_host(DType::bf16, {4, 8}, 20));
    auto out = g.alloc(DType::f32, {2, 4});
    ASSERT_TRUE(out.ok());
    Status s = g.matmul(hx, w, *out);  // x left in host memory
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find("host memory"), std::string::npos) << s.error().message;

    auto q4 = g.alloc(DType::q4_0, {4, 64});  // viewed as rows of 40: not whole q4_0 blocks
    ASSERT_TRUE(q4.ok());
    q4->shape = {4, 40};
    auto x40 = g.alloc(DType::f32, {2, 40});
    s = g.matmul(*x40, *q4, *out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_TRUE(g.supports({Op::matmul, DType::f32, DType::q4_0}));
    EXPECT_TRUE(g.supports({Op::matmul, DType::f32, DType::bf16}));

    auto q = g.alloc(DType::f32, {1, 2, 1024});
    auto kc = g.alloc(DType::f32, {4, 1, 1024});
    auto pos = g.alloc(DType::i32, {1});
    s = g.attention(*q, *kc, *kc, *pos, Tensor{}, {}, *q);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::unsupported);

    std::vector<char> big(out->nbytes() + 1);
    s = g.write(*out, big.data(), big.size());
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    s = g.read(hx, big.data(), 4);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_TRUE(g.synchronize().ok());
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaOps, ::testing::Values("cuda", "cuda-f32", "cuda-bf16"),
                         [](const auto & info) { return test_name(info.param); });

}  // namespace
}  // namespace gemma::cuda_test
