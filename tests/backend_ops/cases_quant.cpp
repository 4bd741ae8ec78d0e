// q8_0 / q4_0 cases: matmul with quantized weights (decode rows, the 4-row tiles, prefill across
// several 32-row x blocks; round E4B-like and small odd sizes, k always a multiple of 32) and
// get_rows from quantized tables (out-of-range ids give zero rows). Weights are random f32
// quantized with core/quant.h; cpu-ref dequantizes exactly, so the fast paths are compared
// against the same quantized values.
#include "core/quant.h"
#include "op_harness.h"

namespace gemma::test {
namespace {

Tensor quantized(Rng & rng, DType t, Shape shape, float bound) {
    Tensor f = random_tensor(rng, DType::f32, shape, -bound, bound);
    auto q = quantize_tensor(f, t, "test weight", 1);
    GEMMA_ASSERT(q.ok(), "%s", q.error().message.c_str());
    return *q;
}

OpCase quant_matmul_case(const char * tag, int64_t n, int64_t k, int64_t m, DType wt,
                         uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("matmul %s %s x[%lld,%lld] w[%lld,%lld]", dtype_name(wt), tag, (long long)n,
                    (long long)k, (long long)m, (long long)k);
    c.desc = {Op::matmul, DType::f32, wt};
    c.inputs = {random_tensor(rng, DType::f32, {n, k}), quantized(rng, wt, {m, k}, 0.1f)};
    c.outputs = {{DType::f32, {n, m}}};
    c.call = [](Backend & b, const OpArgs & a) { return b.matmul(a.in[0], a.in[1], a.out[0]); };
    // cpu: x as int16 blocks (max|x| / 32767 per 32 values): ~1e-10 NMSE, inside the default.
    // cuda prefill (n > 8; "cuda" / "cuda-bf16" from 129 rows, below that int8 x as the GEMV:
    // backend_ops_test.cpp) multiplies bf16-rounded dequantized weights (2^-9 relative each,
    // NMSE ≈ 2^-18 / 3 ≈ 1.3e-6) and, in "cuda-bf16", bf16-rounded x as well.
    if (n > 8) c.nmse_max = 1e-5;  // bf16 weight tiles on GPUs (see above)
    return c;
}

OpCase quant_get_rows_case(const char * tag, int64_t v, int64_t d, DType t,
                           std::vector<int32_t> ids, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("get_rows %s %s table[%lld,%lld] n=%zu", dtype_name(t), tag, (long long)v,
                    (long long)d, ids.size());
    c.desc = {Op::get_rows, DType::f32, t};
    int64_t n = int64_t(ids.size());
    c.inputs = {quantized(rng, t, {v, d}, 1.0f), i32_tensor(std::move(ids))};
    c.outputs = {{DType::f32, {n, d}}};
    c.call = [](Backend & b, const OpArgs & a) {
        return b.get_rows(a.in[0], a.in[1], 50.5f, a.out[0]);
    };
    return c;
}

}  // namespace

std::vector<OpCase> quant_cases() {
    std::vector<OpCase> all;
    uint32_t seed = 300;
    for (DType t : {DType::q8_0, DType::q4_0}) {
        all.push_back(quant_matmul_case("decode round", 1, 2560, 512, t, ++seed));
        all.push_back(quant_matmul_case("decode one block", 1, 32, 7, t, ++seed));
        all.push_back(quant_matmul_case("gemv 5 rows", 5, 96, 33, t, ++seed));
        all.push_back(quant_matmul_case("gemv edge 8 rows", 8, 256, 40, t, ++seed));
        all.push_back(quant_matmul_case("prefill 9 rows", 9, 64, 11, t, ++seed));
        all.push_back(quant_matmul_case("prefill round", 40, 256, 512, t, ++seed));
        all.push_back(quant_matmul_case("prefill odd", 37, 160, 131, t, ++seed));
        all.push_back(quant_get_rows_case("round", 64, 256, t, {0, 63, 5, 5}, ++seed));
        all.push_back(quant_get_rows_case("odd ids", 37, 96, t, {0, 36, 5, -1, 37, 12}, ++seed));
    }
    return all;
}

}  // namespace gemma::test
