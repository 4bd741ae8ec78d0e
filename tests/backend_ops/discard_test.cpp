// Backend::discard on the CPU backends: a hint they ignore (core/backend.h), so a discarded
// tensor keeps what was written into it, whether by write() or by an op, and other tensors and
// later ops are unaffected. (The CUDA backend's elisions: cuda_fusion_discard_gpu_test.cpp.)
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/registry.h"

namespace gemma {
namespace {

std::vector<float> read_all(Backend & b, const Tensor & t) {
    std::vector<float> v(size_t(t.numel()));
    Status s = b.read(t, v.data(), v.size() * sizeof(float));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return v;
}

class CpuDiscard : public ::testing::TestWithParam<const char *> {};

TEST_P(CpuDiscard, ContentsStay) {
    auto made = backend_create(GetParam());
    ASSERT_TRUE(made.ok()) << made.error().message;
    Backend & b = **made;
    const int64_t n = 5, d = 7;
    std::vector<float> av(size_t(n * d)), hv(size_t(n * d));
    for (size_t i = 0; i < av.size(); ++i) {
        av[i] = 0.25f * float(i) - 3.0f;
        hv[i] = 1.0f + 0.5f * float(i % 5);
    }
    auto a = b.alloc(DType::f32, {n, d}), h = b.alloc(DType::f32, {n, d}),
         out = b.alloc(DType::f32, {n, d});
    ASSERT_TRUE(a.ok() && h.ok() && out.ok());
    ASSERT_TRUE(b.write(*a, av.data(), av.size() * 4).ok());
    ASSERT_TRUE(b.write(*h, hv.data(), hv.size() * 4).ok());

    // Written by write(), then discarded: the bytes stay.
    ASSERT_TRUE(b.discard(*a).ok());
    EXPECT_EQ(read_all(b, *a), av);

    // Written by an op (the add of a decoder tail), then discarded, then read by a later op.
    ASSERT_TRUE(b.add(*h, *a, *out).ok());
    ASSERT_TRUE(b.discard(*out).ok());
    ASSERT_TRUE(b.discard(tensor_rows(*a, 1, 2)).ok());  // a row view of another tensor
    std::vector<float> sum = read_all(b, *out);
    for (size_t i = 0; i < sum.size(); ++i) EXPECT_EQ(sum[i], hv[i] + av[i]) << "element " << i;
    ASSERT_TRUE(b.add(*out, *h, *out).ok());
    std::vector<float> twice = read_all(b, *out);
    for (size_t i = 0; i < twice.size(); ++i)
        EXPECT_EQ(twice[i], (hv[i] + av[i]) + hv[i]) << "element " << i;
    EXPECT_EQ(read_all(b, *a), av);
    EXPECT_EQ(read_all(b, *h), hv);

    // An empty tensor is a valid no-op too.
    EXPECT_TRUE(b.discard(Tensor{}).ok());
}

INSTANTIATE_TEST_SUITE_P(Cpu, CpuDiscard, ::testing::Values("cpu-ref", "cpu"),
                         [](const ::testing::TestParamInfo<const char *> & i) {
                             return std::string(i.param) == "cpu" ? "cpu" : "cpu_ref";
                         });

}  // namespace
}  // namespace gemma
