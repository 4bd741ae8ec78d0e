// Element-wise ops: gelu_tanh_mul, add, mul (with row/scalar broadcast of b), scale, softcap,
// clamp, copy (with dtype conversion) and transpose01.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu::ref {
namespace {

// b broadcast against a: full, one row, or a scalar (see Op::add).
float load_broadcast(const Tensor & b, int64_t i, int64_t row_width, int64_t n_a) {
    int64_t nb = b.numel();
    if (nb == n_a) return load_f32(b, i);
    if (nb == 1) return load_f32(b, 0);
    return load_f32(b, i % row_width);
}

void store(const Tensor & t, int64_t i, float v) {
    switch (t.dtype) {
        case DType::f32:
            f32_data(t)[i] = v;
            break;
        case DType::bf16:
            static_cast<uint16_t *>(t.data)[i] = f32_to_bf16(v);
            break;
        default:
            static_cast<uint16_t *>(t.data)[i] = f32_to_f16(v);
            break;
    }
}

}  // namespace

void gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    int64_t n = gate.numel();
    for (int64_t i = 0; i < n; ++i) {
        float z = f32_data(gate)[i];
        float g = 0.5f * z * (1.0f + std::tanh(k * (z + 0.044715f * z * z * z)));
        f32_data(out)[i] = g * f32_data(up)[i];
    }
}

void add(const Tensor & a, const Tensor & b, const Tensor & out) {
    int64_t n = a.numel(), d = a.dim(-1);
    for (int64_t i = 0; i < n; ++i) f32_data(out)[i] = f32_data(a)[i] + load_broadcast(b, i, d, n);
}

void mul(const Tensor & a, const Tensor & b, const Tensor & out) {
    int64_t n = a.numel(), d = a.dim(-1);
    for (int64_t i = 0; i < n; ++i) f32_data(out)[i] = f32_data(a)[i] * load_broadcast(b, i, d, n);
}

void scale(const Tensor & x, float s, const Tensor & out) {
    for (int64_t i = 0; i < x.numel(); ++i) f32_data(out)[i] = f32_data(x)[i] * s;
}

void softcap(const Tensor & x, float cap, const Tensor & out) {
    for (int64_t i = 0; i < x.numel(); ++i)
        f32_data(out)[i] = cap * std::tanh(f32_data(x)[i] / cap);
}

void clamp(const Tensor & x, float lo, float hi, const Tensor & out) {
    for (int64_t i = 0; i < x.numel(); ++i)
        f32_data(out)[i] = std::min(std::max(f32_data(x)[i], lo), hi);
}

void copy(const Tensor & src, const Tensor & dst) {
    if (src.dtype == DType::q8_0) {  // q8_0 -> q8_0 only (op_check): whole blocks, as bytes
        std::memmove(dst.data, src.data, src.nbytes());
        return;
    }
    for (int64_t i = 0; i < src.numel(); ++i) store(dst, i, load_f32(src, i));
}

void transpose01(const Tensor & x, const Tensor & out) {
    int64_t a = x.dim(0), b = x.dim(1), c = x.dim(2);
    for (int64_t i = 0; i < a; ++i)
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < c; ++k)
                f32_data(out)[(j * a + i) * c + k] = f32_data(x)[(i * b + j) * c + k];
}

}  // namespace gemma::cpu::ref
