// Op::top_k on CUDA against cpu-ref: up to 64 rows of the real 262,144 vocabulary, k from 1 to
// 256, sizes around the 4096-value chunks, heavy ties, −inf rows, −0 / +0 and +inf; ids and
// values must be identical, the logsumexp within core/ops.h's 1e-4. Also repeated calls on the
// same buffers (graph replay) with new logits each time. Skipped without a GPU.
#include <cstring>
#include <limits>

#include "cuda_harness.h"

namespace gemma::cuda_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct TopKOut {
    std::vector<int32_t> ids;
    std::vector<float> values, lse;
};

// Runs top_k on `b` with guarded outputs; checks the guards.
TopKOut run_top_k(Backend & b, const Tensor & host_logits, int64_t k) {
    const int64_t rows = host_logits.dim(0);
    Tensor logits = copy_in(b, host_logits);
    Guarded ids = guarded(b, DType::i32, {rows, k}), values = guarded(b, DType::f32, {rows, k}),
            lse = guarded(b, DType::f32, {rows});
    Status st = b.top_k(logits, ids.view, values.view, lse.view);
    EXPECT_TRUE(st.ok()) << b.info().name << ": " << (st.ok() ? "" : st.error().message);
    TopKOut out;
    out.ids.resize(size_t(rows * k));
    out.values.resize(size_t(rows * k));
    out.lse.resize(size_t(rows));
    EXPECT_TRUE(b.read(ids.view, out.ids.data(), out.ids.size() * 4).ok());
    EXPECT_TRUE(b.read(values.view, out.values.data(), out.values.size() * 4).ok());
    EXPECT_TRUE(b.read(lse.view, out.lse.data(), out.lse.size() * 4).ok());
    for (const Guarded * g : {&ids, &values, &lse})
        EXPECT_TRUE(guards_intact(b, *g)) << b.info().name << ": top_k wrote outside an output";
    return out;
}

void expect_same(const TopKOut & ref, const TopKOut & got, const std::string & what) {
    EXPECT_EQ(got.ids, ref.ids) << what << ": ids";
    ASSERT_EQ(got.values.size(), ref.values.size());
    EXPECT_EQ(std::memcmp(got.values.data(), ref.values.data(), ref.values.size() * 4), 0)
        << what << ": values must be the logits bit for bit";
    for (size_t r = 0; r < ref.lse.size(); ++r) {
        if (std::isinf(ref.lse[r])) {
            EXPECT_EQ(got.lse[r], ref.lse[r]) << what << ": lse of row " << r;
        } else {
            EXPECT_NEAR(got.lse[r], ref.lse[r], 1e-4) << what << ": lse of row " << r;  // ops.h
        }
    }
}

class CudaTopK : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why = open_backends(GetParam(), b_);
        if (!why.empty()) GTEST_SKIP() << why;
    }
    void check(const Tensor & logits, int64_t k, const std::string & what) {
        TopKOut ref = run_top_k(*b_.ref, logits, k), got = run_top_k(*b_.gpu, logits, k);
        expect_same(ref, got, what);
    }
    Backends b_;
};

TEST_P(CudaTopK, RandomRows) {
    struct Case {
        int64_t rows, v, k;
    };
    const Case cases[] = {{64, 262144, 64}, {32, 262144, 256}, {1, 262144, 1}, {3, 4095, 100},
                          {2, 4096, 64},    {5, 8191, 256},    {2, 12305, 7},  {1, 7, 7},
                          {9, 100000, 20},  {4, 300, 256}};
    uint32_t seed = 300;
    for (const Case & c : cases) {
        Tensor x = random_host(DType::f32, {c.rows, c.v}, seed++, -30.0f, 30.0f);
        check(x, c.k,
              format("[%lld, %lld] k=%lld", (long long)c.rows, (long long)c.v, (long long)c.k));
    }
}

TEST_P(CudaTopK, TiesInfinitiesAndZeros) {
    const int64_t v = 20000;
    Tensor x = tensor_host(DType::f32, {6, v});
    std::mt19937 rng(7);
    for (int64_t j = 0; j < v; ++j) {
        float * row = x.ptr<float>();
        row[0 * v + j] = float(rng() % 3);                             // 3 values: ties everywhere
        row[1 * v + j] = -kInf;                                        // all −inf
        row[2 * v + j] = j == 9 || j == 15000 ? 1.0f : -kInf;          // k reaches the −inf ties
        row[3 * v + j] = j % 2 ? -0.0f : 0.0f;                         // −0 equals +0
        row[4 * v + j] = j == 12345 ? kInf : float(rng() % 1000) / 7;  // +inf: lse +inf
        row[5 * v + j] = j % 5 == 0 ? -kInf : float(rng() % 50);       // ties among −inf holes
    }
    for (int64_t k : {1, 2, 64, 256}) check(x, k, format("ties k=%lld", (long long)k));
}

// The same buffers again and again (the op queue replays a captured graph from the third call),
// new logits written before each call.
TEST_P(CudaTopK, RepeatedCallsOnTheSameBuffers) {
    const int64_t rows = 32, v = 262144, k = 64;
    Backend & g = *b_.gpu;
    Tensor logits = *g.alloc(DType::f32, {rows, v});
    Tensor ids = *g.alloc(DType::i32, {rows, k}), values = *g.alloc(DType::f32, {rows, k}),
           lse = *g.alloc(DType::f32, {rows});
    for (uint32_t step = 0; step < 5; ++step) {
        Tensor x = random_host(DType::f32, {rows, v}, 900 + step, -20.0f, 20.0f);
        ASSERT_TRUE(g.write(logits, x.data, x.nbytes()).ok());
        ASSERT_TRUE(g.top_k(logits, ids, values, lse).ok());
        TopKOut got;
        got.ids.resize(size_t(rows * k));
        got.values.resize(size_t(rows * k));
        got.lse.resize(size_t(rows));
        ASSERT_TRUE(g.read(ids, got.ids.data(), got.ids.size() * 4).ok());
        ASSERT_TRUE(g.read(values, got.values.data(), got.values.size() * 4).ok());
        ASSERT_TRUE(g.read(lse, got.lse.data(), got.lse.size() * 4).ok());
        expect_same(run_top_k(*b_.ref, x, k), got, format("step %u", step));
    }
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaTopK, ::testing::Values("cuda", "cuda-f32"),
                         [](const auto & info) { return test_name(info.param); });

}  // namespace
}  // namespace gemma::cuda_test
