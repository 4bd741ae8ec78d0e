// Memory operations shared by the CPU backends.
#include "backends/cpu/host_backend.h"

#include <cstring>

#include "core/kv_quant.h"
#include "core/quant.h"

namespace gemma::cpu {

Status need_host(const Tensor & t, const char * what) {
    if (t.where == Where::host) return Status::success();
    return make_error(ErrorCode::invalid_argument, format("cpu: %s is not in host memory", what));
}

bool HostBackend::supports(const OpDesc & op) const {
    auto is_float = [](DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; };
    // b: the cache type (paged attention too, on both CPU backends)
    if (op.op == Op::kv_store || op.op == Op::attention || op.op == Op::attention_paged)
        return op.a == DType::f32 && kv_cache_dtype_ok(op.b);
    if (op.op == Op::copy && op.a == DType::q8_0) return op.b == DType::q8_0;  // KV rows
    if (op.op == Op::top_k) return op.a == DType::f32;  // logits f32 -> i32 ids, f32 values
    bool quant_ok = op.op == Op::matmul || op.op == Op::get_rows;  // q8_0/q4_0 weights, tables
    return is_float(op.a) && (is_float(op.b) || (quant_ok && dtype_is_quant(op.b)));
}

Result<Tensor> HostBackend::alloc(DType dtype, const Shape & shape) {
    for (int64_t d : shape)
        if (d < 0) return make_error(ErrorCode::invalid_argument, "alloc: negative dimension");
    return tensor_host(dtype, shape);
}

Result<Tensor> HostBackend::upload(const Tensor & host) {
    GEMMA_TRY(need_host(host, "upload source"));
    return host;  // zero-copy: the view keeps the mapping alive through its owner
}

Status HostBackend::write(const Tensor & dst, const void * src, size_t nbytes) {
    GEMMA_TRY(need_host(dst, "write target"));
    if (nbytes > dst.nbytes())
        return make_error(ErrorCode::invalid_argument,
                          format("write: %zu bytes into a %zu-byte tensor", nbytes, dst.nbytes()));
    std::memcpy(dst.data, src, nbytes);
    return Status::success();
}

Status HostBackend::read(const Tensor & src, void * dst, size_t nbytes) {
    GEMMA_TRY(need_host(src, "read source"));
    if (nbytes > src.nbytes())
        return make_error(ErrorCode::invalid_argument,
                          format("read: %zu bytes from a %zu-byte tensor", nbytes, src.nbytes()));
    std::memcpy(dst, src.data, nbytes);
    return Status::success();
}

}  // namespace gemma::cpu
