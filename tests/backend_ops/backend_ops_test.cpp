// tests/backend_ops: every op case on every optimized backend ("cpu", and GPU backends when the
// build has them) against "cpu-ref" by NMSE. A backend missing from this build, failing to create
// (no device) or answering supports() = false is reported as SKIPPED, never as passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/registry.h"
#include "op_harness.h"

namespace gemma::test {
namespace {

// The backends compared against cpu-ref: those registered in this build plus the GPU ones that
// may be absent (so their absence shows up as a skip).
std::vector<std::string> backends_under_test() {
    std::vector<std::string> names = {"cpu", "cuda", "vulkan"};
    for (const std::string & n : backend_names())
        if (n != "cpu-ref" && std::find(names.begin(), names.end(), n) == names.end())
            names.push_back(n);
    return names;
}

// Built once: the cases' inputs are generated from their seeds at construction.
const std::vector<OpCase> & cases() {
    static const std::vector<OpCase> all = all_cases();
    return all;
}

struct Param {
    std::string backend;
    size_t case_index;
};

void PrintTo(const Param & p, std::ostream * os) {
    *os << p.backend << ": " << cases()[p.case_index].name;
}

std::vector<Param> all_params() {
    std::vector<Param> params;
    size_t n_cases = cases().size();
    for (const std::string & b : backends_under_test())
        for (size_t i = 0; i < n_cases; ++i) params.push_back({b, i});
    return params;
}

std::string test_name(const testing::TestParamInfo<Param> & info) {
    std::string s = info.param.backend + "_" + cases()[info.param.case_index].name;
    for (char & ch : s) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return s + "_" + std::to_string(info.param.case_index);
}

bool is_registered(const std::string & name) {
    auto names = backend_names();
    return std::find(names.begin(), names.end(), name) != names.end();
}

class BackendOps : public testing::TestWithParam<Param> {};

TEST_P(BackendOps, MatchesReference) {
    const Param & p = GetParam();
    const OpCase & c = cases()[p.case_index];
    if (!is_registered(p.backend))
        GTEST_SKIP() << "backend '" << p.backend << "' is not in this build";
    auto backend = backend_create(p.backend);
    if (!backend)
        GTEST_SKIP() << "backend '" << p.backend << "' unavailable: " << backend.error().message;
    if (!(*backend)->supports(c.desc)) GTEST_SKIP() << p.backend << " does not support " << c.name;
    auto ref_backend = backend_create("cpu-ref");
    ASSERT_TRUE(ref_backend.ok()) << ref_backend.error().message;

    auto ref = run_case(**ref_backend, c);
    ASSERT_TRUE(ref.ok()) << "cpu-ref: " << ref.error().message;
    ASSERT_TRUE(ref->guard_error.empty()) << "cpu-ref: " << ref->guard_error;
    auto got = run_case(**backend, c);
    ASSERT_TRUE(got.ok()) << p.backend << ": " << got.error().message;
    EXPECT_TRUE(got->guard_error.empty()) << got->guard_error;
    ASSERT_EQ(got->outputs.size(), ref->outputs.size());
    // cuda-bf16 is the fast mode: prefill GEMMs (more than 8 x rows) round x to bf16 once
    // (2^-9 relative per product, NMSE ~1e-6), by design (cuda_backend.h CudaPrecision).
    double bound = c.nmse_max;
    const bool bf16_prefill = p.backend == "cuda-bf16" && c.desc.op == Op::matmul &&
                              !c.inputs.empty() && c.inputs[0].dim(0) > 8 &&
                              (c.desc.b == DType::bf16 || c.desc.b == DType::f16);
    if (bf16_prefill) bound = std::max(bound, 1e-5);
    // "cuda" / "cuda-bf16" decode GEMVs (up to 8 x rows) and MMQ (up to kMmqMaxRows = 128, on
    // sm_80+) with q8_0 / q4_0 weights round x to int8 per 16 / 32 values (NMSE ~2e-5; the exact
    // rounding is checked in cuda_quant_gpu_test.cpp).
    const bool int8_x = p.backend.rfind("cuda", 0) == 0 && p.backend != "cuda-f32" &&
                        c.desc.op == Op::matmul && !c.inputs.empty() && c.inputs[0].dim(0) <= 128 &&
                        (c.desc.b == DType::q8_0 || c.desc.b == DType::q4_0);
    if (int8_x) bound = std::max(bound, 1e-4);
    for (size_t o = 0; o < ref->outputs.size(); ++o) {
        if (c.outputs[o].exact) {
            std::string diff = exact_mismatch(ref->outputs[o], got->outputs[o]);
            EXPECT_TRUE(diff.empty()) << "output " << o << " must equal cpu-ref: " << diff;
            continue;
        }
        std::string problem;
        double e = nmse(ref->outputs[o], got->outputs[o], problem);
        EXPECT_TRUE(problem.empty()) << "output " << o << ": " << problem;
        EXPECT_LE(e, bound) << "output " << o << " NMSE vs cpu-ref";
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, BackendOps, testing::ValuesIn(all_params()), test_name);

// Coverage: every op of core/ops.h has at least one case.
TEST(BackendOpsCoverage, EveryOpHasACase) {
    std::set<Op> covered;
    for (const OpCase & c : cases()) covered.insert(c.desc.op);
    for (Op op :
         {Op::get_rows,  Op::matmul,        Op::rms_norm,   Op::rope,        Op::kv_store,
          Op::attention, Op::gelu_tanh_mul, Op::add,        Op::mul,         Op::scale,
          Op::softcap,   Op::clamp,         Op::copy,       Op::transpose01, Op::activation,
          Op::glu,       Op::conv1d_dw,     Op::layer_norm, Op::im2col,      Op::chunk_attention,
          Op::top_k})
        EXPECT_TRUE(covered.count(op)) << "no backend_ops case for " << op_name(op);
}

// Bad calls are rejected with an error value before any memory is touched.
TEST(BackendOpsErrors, ShapeMismatchIsAnError) {
    auto backend = backend_create("cpu");
    ASSERT_TRUE(backend.ok()) << backend.error().message;
    Tensor x = tensor_host(DType::f32, {2, 8}), w = tensor_host(DType::bf16, {4, 9}),
           out = tensor_host(DType::f32, {2, 4});
    Status s = (*backend)->matmul(x, w, out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find("matmul"), std::string::npos) << s.error().message;
}

// clamp bounds that are not an interval name the op and the bounds.
TEST(BackendOpsErrors, ClampBoundsMustBeAnInterval) {
    for (const char * name : {"cpu-ref", "cpu"}) {
        auto backend = backend_create(name);
        ASSERT_TRUE(backend.ok()) << backend.error().message;
        Tensor x = tensor_host(DType::f32, {2, 8});
        Status s = (*backend)->clamp(x, 1.0f, -1.0f, x);
        ASSERT_FALSE(s.ok()) << name;
        EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(s.error().message.find("clamp"), std::string::npos) << s.error().message;
        EXPECT_FALSE((*backend)->clamp(x, NAN, 1.0f, x).ok()) << name;
    }
}

}  // namespace
}  // namespace gemma::test
