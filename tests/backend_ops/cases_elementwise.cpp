// Element-wise cases (add/mul with full, row and scalar broadcast of f32/bf16 b, scale, softcap,
// gelu_tanh_mul, in place), get_rows (bf16/f32 tables, out-of-range id), copy (dtype
// conversions) and transpose01. Sizes cross the 16K-element chunking of the fast backend.
#include "op_harness.h"

namespace gemma::test {
namespace {

using BinaryCall = Status (Backend::*)(const Tensor &, const Tensor &, const Tensor &);

OpCase binary_case(Op op, BinaryCall fn, const char * tag, Shape a_shape, Shape b_shape, DType bt,
                   bool in_place, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("%s %s a%s b%s %s%s", op_name(op), tag, shape_str(a_shape).c_str(),
                    shape_str(b_shape).c_str(), dtype_name(bt), in_place ? " in place" : "");
    c.desc = {op, DType::f32, bt};
    c.inputs = {random_tensor(rng, DType::f32, a_shape, -4.0f, 4.0f),
                random_tensor(rng, bt, b_shape, -2.0f, 2.0f)};
    c.outputs = {{DType::f32, a_shape, in_place ? 0 : -1}};
    c.call = [fn, in_place](Backend & b, const OpArgs & a) {
        return (b.*fn)(in_place ? a.out[0] : a.in[0], a.in[1], a.out[0]);
    };
    return c;
}

OpCase unary_case(Op op, const char * tag, Shape shape, float param, float range, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("%s %s %s", op_name(op), tag, shape_str(shape).c_str());
    c.desc = {op, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, shape, -range, range)};
    c.outputs = {{DType::f32, shape}};
    c.call = [op, param](Backend & b, const OpArgs & a) {
        return op == Op::scale ? b.scale(a.in[0], param, a.out[0])
                               : b.softcap(a.in[0], param, a.out[0]);
    };
    return c;
}

// clamp to [lo, hi] of values drawn from [−range, range] (some inside, some clipped each side).
OpCase clamp_case(const char * tag, Shape shape, float lo, float hi, float range, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("clamp %s %s [%g, %g]", tag, shape_str(shape).c_str(), double(lo), double(hi));
    c.desc = {Op::clamp, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, shape, -range, range)};
    c.outputs = {{DType::f32, shape}};
    c.call = [lo, hi](Backend & b, const OpArgs & a) { return b.clamp(a.in[0], lo, hi, a.out[0]); };
    return c;
}

OpCase get_rows_case(const char * tag, int64_t v, int64_t d, DType t, std::vector<int32_t> ids,
                     uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("get_rows %s %s table[%lld,%lld] n=%zu", dtype_name(t), tag, (long long)v,
                    (long long)d, ids.size());
    c.desc = {Op::get_rows, DType::f32, t};  // the table is the weight operand
    int64_t n = int64_t(ids.size());
    c.inputs = {random_tensor(rng, t, {v, d}), i32_tensor(std::move(ids))};
    c.outputs = {{DType::f32, {n, d}}};
    c.call = [](Backend & b, const OpArgs & a) {
        return b.get_rows(a.in[0], a.in[1], 50.5f, a.out[0]);
    };
    return c;
}

OpCase copy_case(DType from, DType to, Shape shape, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("copy %s->%s %s", dtype_name(from), dtype_name(to), shape_str(shape).c_str());
    c.desc = {Op::copy, from, to};
    c.inputs = {random_tensor(rng, from, shape, -100.0f, 100.0f)};
    c.outputs = {{to, shape}};
    c.call = [](Backend & b, const OpArgs & a) { return b.copy(a.in[0], a.out[0]); };
    return c;
}

OpCase transpose_case(Shape shape, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("transpose01 %s", shape_str(shape).c_str());
    c.desc = {Op::transpose01, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, shape)};
    c.outputs = {{DType::f32, {shape[1], shape[0], shape[2]}}};
    c.call = [](Backend & b, const OpArgs & a) { return b.transpose01(a.in[0], a.out[0]); };
    return c;
}

OpCase gelu_case(const char * tag, Shape shape, bool in_place, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name =
        format("gelu_tanh_mul %s %s%s", tag, shape_str(shape).c_str(), in_place ? " in place" : "");
    c.desc = {Op::gelu_tanh_mul, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, shape, -6.0f, 6.0f),
                random_tensor(rng, DType::f32, shape)};
    c.outputs = {{DType::f32, shape, in_place ? 0 : -1}};
    c.call = [in_place](Backend & b, const OpArgs & a) {
        return b.gelu_tanh_mul(in_place ? a.out[0] : a.in[0], a.in[1], a.out[0]);
    };
    return c;
}

}  // namespace

std::vector<OpCase> elementwise_cases() {
    return {
        binary_case(Op::add, &Backend::add, "full", {4, 2560}, {4, 2560}, DType::f32, false, 71),
        binary_case(Op::add, &Backend::add, "row", {5, 7, 11, 13}, {13}, DType::bf16, true, 72),
        binary_case(Op::add, &Backend::add, "scalar", {9, 17}, {1}, DType::f32, false, 73),
        binary_case(Op::mul, &Backend::mul, "full chunked", {3, 10240}, {3, 10240}, DType::f32,
                    true, 74),
        binary_case(Op::mul, &Backend::mul, "row", {40, 64}, {64}, DType::bf16, false, 75),
        binary_case(Op::mul, &Backend::mul, "scalar", {5, 7, 11, 13}, {1}, DType::bf16, false, 76),
        unary_case(Op::scale, "odd", {5, 7, 11, 13}, 0.0625f, 4.0f, 81),
        unary_case(Op::softcap, "logits", {2, 262144 / 8}, 30.0f, 80.0f, 82),
        unary_case(Op::softcap, "odd", {3, 37}, 30.0f, 200.0f, 83),
        clamp_case("clip", {7, 2560}, -1.5f, 2.25f, 4.0f, 86),
        clamp_case("point", {3, 37}, 0.5f, 0.5f, 1.0f, 87),
        gelu_case("mlp", {2, 10240}, false, 84),
        gelu_case("odd", {5, 7, 11, 13}, true, 85),
        get_rows_case("embed", 64, 2560, DType::bf16, {2, 63, 0, 17}, 91),
        get_rows_case("odd", 11, 13, DType::f32, {10, 3, 3}, 92),
        get_rows_case("bad id", 8, 16, DType::bf16, {1, 8, -1}, 93),
        copy_case(DType::f32, DType::f32, {5, 7, 11, 13}, 101),
        copy_case(DType::bf16, DType::f32, {3, 20000}, 102),
        copy_case(DType::f32, DType::bf16, {7, 13}, 103),
        copy_case(DType::f32, DType::f16, {7, 13}, 104),
        copy_case(DType::f16, DType::bf16, {33}, 105),
        transpose_case({5, 7, 13}, 111),
        transpose_case({40, 8, 256}, 112),
    };
}

}  // namespace gemma::test
