// Tensor views for backends (rows, reshape) and op names.
#include "core/backend.h"

namespace gemma {

const char * op_name(Op op) {
    switch (op) {
        case Op::get_rows:
            return "get_rows";
        case Op::matmul:
            return "matmul";
        case Op::rms_norm:
            return "rms_norm";
        case Op::rope:
            return "rope";
        case Op::kv_store:
            return "kv_store";
        case Op::attention:
            return "attention";
        case Op::gelu_tanh_mul:
            return "gelu_tanh_mul";
        case Op::add:
            return "add";
        case Op::mul:
            return "mul";
        case Op::scale:
            return "scale";
        case Op::softcap:
            return "softcap";
        case Op::clamp:
            return "clamp";
        case Op::activation:
            return "activation";
        case Op::glu:
            return "glu";
        case Op::conv1d_dw:
            return "conv1d_dw";
        case Op::layer_norm:
            return "layer_norm";
        case Op::im2col:
            return "im2col";
        case Op::chunk_attention:
            return "chunk_attention";
        case Op::top_k:
            return "top_k";
        case Op::copy:
            return "copy";
        case Op::transpose01:
            return "transpose01";
        case Op::attention_paged:
            return "attention_paged";
    }
    return "?";
}

Status Backend::attention_paged(const Tensor &, const Tensor &, const Tensor &, const Tensor &,
                                const Tensor &, const Tensor &, int, const AttentionDesc &,
                                const Tensor &) {
    return make_error(
        ErrorCode::unsupported,
        format("backend '%s' has no paged attention; attend per sequence", info().name.c_str()));
}

Status Backend::top_k(const Tensor &, const Tensor &, const Tensor &, const Tensor &) {
    return make_error(
        ErrorCode::unsupported,
        format("backend '%s' has no top_k; read the whole logits rows", info().name.c_str()));
}

Tensor tensor_rows(const Tensor & t, int64_t row0, int64_t n) {
    GEMMA_ASSERT(t.ndim() >= 1 && row0 >= 0 && n >= 0 && row0 + n <= t.dim(0),
                 "tensor_rows: rows [%lld, %lld) of %s", (long long)row0, (long long)(row0 + n),
                 shape_str(t.shape).c_str());
    Tensor v = t;
    size_t row_bytes = t.dim(0) == 0 ? 0 : t.nbytes() / size_t(t.dim(0));
    v.shape[0] = n;
    v.data = static_cast<char *>(t.data) + size_t(row0) * row_bytes;
    return v;
}

Tensor tensor_reshape(const Tensor & t, Shape shape) {
    GEMMA_ASSERT(shape_numel(shape) == t.numel(), "tensor_reshape: %s to %s",
                 shape_str(t.shape).c_str(), shape_str(shape).c_str());
    Tensor v = t;
    v.shape = std::move(shape);
    return v;
}

Tensor tensor_part(const Tensor & t, size_t byte_offset, DType dtype, Shape shape) {
    Tensor v = t;
    v.dtype = dtype;
    v.shape = std::move(shape);
    v.data = static_cast<char *>(t.data) + byte_offset;
    GEMMA_ASSERT(byte_offset + v.nbytes() <= t.nbytes(), "tensor_part: %s %s at byte %zu of %zu",
                 dtype_name(dtype), shape_str(v.shape).c_str(), byte_offset, t.nbytes());
    return v;
}

Tensor tensor_prefix(const Tensor & t, Shape shape) {
    GEMMA_ASSERT(shape_numel(shape) <= t.numel(), "tensor_prefix: %s from %s",
                 shape_str(shape).c_str(), shape_str(t.shape).c_str());
    Tensor v = t;
    v.shape = std::move(shape);
    return v;
}

}  // namespace gemma
