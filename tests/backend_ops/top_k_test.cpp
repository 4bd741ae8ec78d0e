// Op::top_k on the CPU backends against a brute force (a full sort of every row with the
// sampler's order: value descending, lower id first; the logsumexp in long double), and the
// errors op_check gives for bad k, shapes and dtypes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/registry.h"
#include "op_harness.h"

namespace gemma::test {
namespace {

struct Brute {
    std::vector<int32_t> ids;
    std::vector<float> values;
    double lse = 0.0;
};

Brute brute_top_k(const float * x, int64_t v, int64_t k) {
    std::vector<int32_t> idx(static_cast<size_t>(v));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [x](int32_t a, int32_t b) { return x[a] > x[b]; });
    Brute b;
    b.ids.assign(idx.begin(), idx.begin() + k);
    for (int32_t id : b.ids) b.values.push_back(x[id]);
    long double mx = *std::max_element(x, x + v), sum = 0.0L;
    for (int64_t j = 0; j < v; ++j) sum += std::exp((long double)x[j] - mx);
    b.lse = double(mx + std::log(sum));
    return b;
}

class TopKCpu : public testing::TestWithParam<const char *> {};

TEST_P(TopKCpu, MatchesAFullSort) {
    auto be = backend_create(GetParam());
    ASSERT_TRUE(be.ok()) << be.error().message;
    // Real vocabulary and Gemma's k; then few distinct values (ties) with a large k.
    struct Case {
        int64_t rows, v, k;
        int levels;  // 0: continuous values; else integers in [0, levels)
    };
    for (const Case & cs : {Case{2, 262144, 64, 0}, Case{3, 5000, 256, 4}, Case{2, 33, 33, 3}}) {
        Rng rng(uint32_t(cs.v));
        Tensor x = tensor_host(DType::f32, {cs.rows, cs.v});
        for (int64_t i = 0; i < x.numel(); ++i)
            x.ptr<float>()[i] =
                cs.levels ? float(rng.integer(0, cs.levels - 1)) : rng.uniform(-20.0f, 20.0f);
        Tensor ids = tensor_host(DType::i32, {cs.rows, cs.k});
        Tensor values = tensor_host(DType::f32, {cs.rows, cs.k});
        Tensor lse = tensor_host(DType::f32, {cs.rows});
        Status st = (*be)->top_k(x, ids, values, lse);
        ASSERT_TRUE(st.ok()) << st.error().message;
        for (int64_t r = 0; r < cs.rows; ++r) {
            Brute b = brute_top_k(x.ptr<float>() + r * cs.v, cs.v, cs.k);
            std::vector<int32_t> got(ids.ptr<int32_t>() + r * cs.k,
                                     ids.ptr<int32_t>() + (r + 1) * cs.k);
            std::vector<float> got_v(values.ptr<float>() + r * cs.k,
                                     values.ptr<float>() + (r + 1) * cs.k);
            EXPECT_EQ(got, b.ids) << "row " << r << " of [" << cs.rows << ", " << cs.v << "]";
            EXPECT_EQ(got_v, b.values) << "row " << r;
            // f32 result of sums over ≤ 4096 values in f32 (cpu) or double (cpu-ref): well
            // inside the 1e-4 that core/ops.h promises.
            EXPECT_NEAR(lse.ptr<float>()[r], b.lse, 2e-5 * std::max(1.0, std::fabs(b.lse)));
        }
    }
}

TEST_P(TopKCpu, BadCallsAreErrors) {
    auto be = backend_create(GetParam());
    ASSERT_TRUE(be.ok()) << be.error().message;
    Tensor x = tensor_host(DType::f32, {2, 300});
    auto call = [&](Shape ids_shape, DType ids_type, Shape lse_shape) {
        Tensor ids = tensor_host(ids_type, ids_shape);
        Tensor values = tensor_host(DType::f32, ids_shape);
        Tensor lse = tensor_host(DType::f32, lse_shape);
        return (*be)->top_k(x, ids, values, lse);
    };
    for (Status s : {call({2, 301}, DType::i32, {2}),    // k > V
                     call({2, 0}, DType::i32, {2}),      // k = 0
                     call({3, 4}, DType::i32, {3}),      // rows differ
                     call({2, 4}, DType::f32, {2}),      // ids not i32
                     call({2, 4}, DType::i32, {2, 1})})  // lse not [rows]
    {
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(s.error().message.find("top_k"), std::string::npos) << s.error().message;
    }
    Tensor big = tensor_host(DType::f32, {1, 1000});
    Tensor ids = tensor_host(DType::i32, {1, kTopKMax + 1});
    Tensor values = tensor_host(DType::f32, {1, kTopKMax + 1});
    Tensor lse = tensor_host(DType::f32, {1});
    Status s = (*be)->top_k(big, ids, values, lse);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find("256"), std::string::npos) << s.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, TopKCpu, testing::Values("cpu-ref", "cpu"),
                         [](const auto & info) {
                             return std::string(info.param) == "cpu" ? "cpu" : "cpu_ref";
                         });

}  // namespace
}  // namespace gemma::test
