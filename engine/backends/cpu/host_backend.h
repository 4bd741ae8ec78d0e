// HostBackend: the memory half shared by the CPU backends (cpu-ref, cpu): host tensors, zero-copy
// weight upload (the view keeps the mapped file alive), plain memcpy reads/writes, eager ops so
// synchronize() has nothing to wait for. Subclasses add info() and the ops.
#pragma once

#include "core/backend.h"

namespace gemma::cpu {

// invalid_argument naming `what` unless t is in host memory.
Status need_host(const Tensor & t, const char * what);

class HostBackend : public Backend {
public:
    // f32/f16/bf16 activations and weights; q8_0/q4_0 matmul weights and get_rows tables. KV
    // caches (kv_store, attention: OpDesc::b) f32, bf16 or q8_0; q8_0 -> q8_0 copies.
    bool supports(const OpDesc & op) const override;
    Result<Tensor> alloc(DType dtype, const Shape & shape) override;
    Result<Tensor> upload(const Tensor & host) override;
    Status write(const Tensor & dst, const void * src, size_t nbytes) override;
    Status read(const Tensor & src, void * dst, size_t nbytes) override;
    Status synchronize() override { return Status::success(); }
};

}  // namespace gemma::cpu
