// top_k cases: the real vocabulary (262,144) with Gemma's k = 64, odd sizes around the CUDA
// chunking (4096-value chunks), k = 1 / k = V / k = 256, heavy ties (ids must keep the lower one
// first, across chunk boundaries), −inf rows and −0 / +0. Ids and values must match cpu-ref
// exactly; the logsumexp by NMSE.
#include <cmath>
#include <limits>

#include "op_harness.h"

namespace gemma::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows of `v` logits as `fill(row, col, rng)` makes them.
template <class Fill>
Tensor logits_tensor(int64_t rows, int64_t v, uint32_t seed, Fill fill) {
    Rng rng(seed);
    Tensor t = tensor_host(DType::f32, {rows, v});
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < v; ++j) t.ptr<float>()[r * v + j] = fill(r, j, rng);
    return t;
}

OpCase top_k_case(const std::string & tag, Tensor logits, int64_t k) {
    OpCase c;
    const int64_t rows = logits.dim(0);
    c.name =
        format("top_k %s %s k=%lld", tag.c_str(), shape_str(logits.shape).c_str(), (long long)k);
    c.desc = {Op::top_k, DType::f32, DType::f32};
    c.inputs = {std::move(logits)};
    OutputSpec ids{DType::i32, {rows, k}}, values{DType::f32, {rows, k}};
    ids.exact = values.exact = true;  // the same candidates in the same order, bit for bit
    c.outputs = {ids, values, {DType::f32, {rows}}};
    c.call = [](Backend & b, const OpArgs & a) {
        return b.top_k(a.in[0], a.out[0], a.out[1], a.out[2]);
    };
    return c;
}

float uniform8(int64_t, int64_t, Rng & rng) { return rng.uniform(-8.0f, 8.0f); }

}  // namespace

std::vector<OpCase> top_k_cases() {
    std::vector<OpCase> cases;
    cases.push_back(top_k_case("gemma vocab", logits_tensor(3, 262144, 201, uniform8), 64));
    cases.push_back(top_k_case("odd", logits_tensor(5, 3 * 4096 + 17, 202, uniform8), 256));
    cases.push_back(top_k_case("short rows", logits_tensor(4, 1000, 203, uniform8), 10));
    cases.push_back(top_k_case("greedy", logits_tensor(7, 9001, 204, uniform8), 1));
    cases.push_back(top_k_case("k = V", logits_tensor(2, 7, 205, uniform8), 7));
    // Few distinct values: ties everywhere, also between chunks; the lower id must come first.
    auto levels = [](int64_t, int64_t, Rng & rng) { return float(rng.integer(0, 5)) * 0.5f; };
    cases.push_back(top_k_case("ties", logits_tensor(3, 20000, 206, levels), 100));
    // Row 0 all −inf but 3 values (k reaches into the −inf ties), row 1 all −inf, row 2 random
    // with −inf holes, row 3 only zeros of both signs.
    auto holes = [](int64_t r, int64_t j, Rng & rng) {
        float x = rng.uniform(-4.0f, 4.0f);
        if (r == 0) return j == 5 || j == 7000 || j == 8191 ? x : -kInf;
        if (r == 1) return -kInf;
        if (r == 2) return j % 3 == 0 ? -kInf : x;
        return j % 2 ? -0.0f : 0.0f;
    };
    cases.push_back(top_k_case("inf and zeros", logits_tensor(4, 9000, 207, holes), 20));
    // A +inf value: lse +inf, and it ranks first.
    auto pos_inf = [](int64_t, int64_t j, Rng & rng) {
        return j == 4321 ? kInf : rng.uniform(-1.0f, 1.0f);
    };
    cases.push_back(top_k_case("+inf", logits_tensor(1, 5000, 208, pos_inf), 3));
    return cases;
}

}  // namespace gemma::test
