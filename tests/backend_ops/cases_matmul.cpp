// matmul cases: decode-sized x (one row, or fewer than a 4x4 tile) and prefill-sized x (tiles,
// several 32-row x blocks), bf16/f16/f32 weights, round E4B-like and odd sizes (all tails).
#include "op_harness.h"

namespace gemma::test {
namespace {

OpCase matmul_case(const char * tag, int64_t n, int64_t k, int64_t m, DType wt, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("matmul %s %s x[%lld,%lld] w[%lld,%lld]", dtype_name(wt), tag, (long long)n,
                    (long long)k, (long long)m, (long long)k);
    c.desc = {Op::matmul, DType::f32, wt};
    c.inputs = {random_tensor(rng, DType::f32, {n, k}),
                random_tensor(rng, wt, {m, k}, -0.1f, 0.1f)};
    c.outputs = {{DType::f32, {n, m}}};
    c.call = [](Backend & b, const OpArgs & a) { return b.matmul(a.in[0], a.in[1], a.out[0]); };
    return c;
}

}  // namespace

std::vector<OpCase> matmul_cases() {
    return {
        matmul_case("decode round", 1, 2560, 512, DType::bf16, 11),
        matmul_case("decode odd", 1, 13, 7, DType::bf16, 12),
        matmul_case("gemv 4 rows", 4, 256, 96, DType::bf16, 13),
        matmul_case("gemv 7 rows odd", 7, 37, 129, DType::bf16, 14),
        matmul_case("gemv edge 8 rows", 8, 64, 33, DType::f32, 15),
        matmul_case("prefill 9 rows", 9, 13, 11, DType::f32, 16),
        matmul_case("prefill round", 40, 256, 512, DType::bf16, 17),
        matmul_case("prefill odd", 23, 77, 301, DType::bf16, 18),
        matmul_case("prefill odd", 17, 45, 130, DType::f16, 19),
        matmul_case("decode odd", 3, 31, 19, DType::f16, 20),
        matmul_case("tiny", 1, 1, 1, DType::f32, 21),
        // Few rows, long k: the CUDA GEMV splits each row over 8 warps (launch_gemv_rows).
        matmul_case("gemv k over 8 warps", 1, 10240, 512, DType::bf16, 22),
        matmul_case("gemv k over 8 warps, 2 rows", 2, 10240, 520, DType::bf16, 23),
    };
}

}  // namespace gemma::test
