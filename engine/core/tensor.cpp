// Tensor helpers: shape printing, host allocation, float conversion.
#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/status.h"

namespace gemma {

std::string shape_str(const Shape & shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

int64_t shape_numel(const Shape & shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// Block types count whole blocks of the flattened tensor: a q8_0 KV cache [S, h_kv, D] may have
// D < 32 as long as each slot row h_kv·D is whole blocks.
size_t Tensor::nbytes() const {
    if (shape.empty()) return dtype_block_bytes(dtype);
    return dtype_row_bytes(dtype, size_t(numel()));
}

Tensor tensor_host(DType dtype, Shape shape) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    size_t bytes = t.nbytes();
    size_t padded = (bytes + 63) / 64 * 64;
    void * p = std::aligned_alloc(64, padded ? padded : 64);
    GEMMA_ASSERT(p != nullptr, "host allocation of %zu bytes failed", bytes);
    std::memset(p, 0, padded ? padded : 64);
    t.data = p;
    t.owner = std::shared_ptr<void>(p, [](void * q) { std::free(q); });
    return t;
}

Tensor tensor_view(DType dtype, Shape shape, void * data) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.data = data;
    return t;
}

Tensor tensor_to_f32(const Tensor & t) {
    GEMMA_ASSERT(t.where == Where::host, "tensor_to_f32 needs a host tensor");
    Tensor out = tensor_host(DType::f32, t.shape);
    float * dst = out.ptr<float>();
    int64_t n = t.numel();
    switch (t.dtype) {
        case DType::f32:
            std::memcpy(dst, t.data, size_t(n) * 4);
            break;
        case DType::bf16:
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(t.ptr<uint16_t>()[i]);
            break;
        case DType::f16:
            for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(t.ptr<uint16_t>()[i]);
            break;
        case DType::i32:
            for (int64_t i = 0; i < n; ++i) dst[i] = float(t.ptr<int32_t>()[i]);
            break;
        case DType::i64:
            for (int64_t i = 0; i < n; ++i) dst[i] = float(t.ptr<int64_t>()[i]);
            break;
        default:
            GEMMA_ASSERT(false, "tensor_to_f32: unsupported dtype %s", dtype_name(t.dtype));
    }
    return out;
}

}  // namespace gemma
