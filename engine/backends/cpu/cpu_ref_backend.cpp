// CpuRefBackend: validates each call with core op_check, then runs the ref/ kernel at once.
#include "backends/cpu/cpu_ref_backend.h"

#include "backends/cpu/host_backend.h"
#include "backends/cpu/ref/ref_ops.h"

namespace gemma::cpu {
namespace {

class CpuRefBackend final : public HostBackend {
public:
    BackendInfo info() const override {
        return {"cpu-ref", "CPU reference (scalar loops, f32 accumulation)", Where::host, 0};
    }

    Status get_rows(const Tensor & table, const Tensor & ids, float s,
                    const Tensor & out) override {
        GEMMA_TRY(op_check::get_rows(table, ids, out));
        ref::get_rows(table, ids, s, out);
        return Status::success();
    }
    Status matmul(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::matmul(x, w, out));
        ref::matmul(x, w, out);
        return Status::success();
    }
    Status rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::rms_norm(x, w, out));
        ref::rms_norm(x, w, eps, out);
        return Status::success();
    }
    Status rope(const Tensor & x, const Tensor & pos, const Tensor & freqs,
                const Tensor & out) override {
        GEMMA_TRY(op_check::rope(x, pos, freqs, out));
        ref::rope(x, pos, freqs, out);
        return Status::success();
    }
    Status kv_store(const Tensor & k, const Tensor & v, const Tensor & pos, const Tensor & kc,
                    const Tensor & vc) override {
        GEMMA_TRY(op_check::kv_store(k, v, pos, kc, vc));
        ref::kv_store(k, v, pos, kc, vc);
        return Status::success();
    }
    Status attention(const Tensor & q, const Tensor & kc, const Tensor & vc, const Tensor & pos,
                     const Tensor & blocks, const AttentionDesc & desc,
                     const Tensor & out) override {
        GEMMA_TRY(op_check::attention(q, kc, vc, pos, blocks, out));
        ref::attention(q, kc, vc, pos, blocks, desc, out);
        return Status::success();
    }
    Status attention_paged(const Tensor & q, const Tensor & kp, const Tensor & vp,
                           const Tensor & pos, const Tensor & row_seq, const Tensor & pages,
                           int page_size, const AttentionDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::attention_paged(q, kp, vp, pos, row_seq, pages, page_size, out));
        ref::attention_paged(q, kp, vp, pos, row_seq, pages, page_size, desc, out);
        return Status::success();
    }
    Status gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::gelu_tanh_mul, gate, up, out));
        ref::gelu_tanh_mul(gate, up, out);
        return Status::success();
    }
    Status add(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::add, a, b, out));
        ref::add(a, b, out);
        return Status::success();
    }
    Status mul(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::mul, a, b, out));
        ref::mul(a, b, out);
        return Status::success();
    }
    Status scale(const Tensor & x, float s, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::scale, x, out));
        ref::scale(x, s, out);
        return Status::success();
    }
    Status softcap(const Tensor & x, float cap, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::softcap, x, out));
        ref::softcap(x, cap, out);
        return Status::success();
    }
    Status clamp(const Tensor & x, float lo, float hi, const Tensor & out) override {
        GEMMA_TRY(op_check::clamp(x, lo, hi, out));
        ref::clamp(x, lo, hi, out);
        return Status::success();
    }
    Status activation(const Tensor & x, Activation act, const Tensor & out) override {
        GEMMA_TRY(op_check::activation(x, act, out));
        ref::activation(x, act, out);
        return Status::success();
    }
    Status glu(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::glu(x, out));
        ref::glu(x, out);
        return Status::success();
    }
    Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::conv1d_dw(x, w, out));
        ref::conv1d_dw(x, w, out);
        return Status::success();
    }
    Status layer_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::layer_norm(x, w, out));
        ref::layer_norm(x, w, eps, out);
        return Status::success();
    }
    Status im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::im2col(x, desc, out));
        ref::im2col(x, desc, out);
        return Status::success();
    }
    Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                           const ChunkAttentionDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::chunk_attention(q, k, v, rel, desc, out));
        ref::chunk_attention(q, k, v, rel, desc, out);
        return Status::success();
    }
    Status copy(const Tensor & src, const Tensor & dst) override {
        GEMMA_TRY(op_check::copy(src, dst));
        ref::copy(src, dst);
        return Status::success();
    }
    Status transpose01(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::transpose01(x, out));
        ref::transpose01(x, out);
        return Status::success();
    }
    Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values,
                 const Tensor & lse) override {
        GEMMA_TRY(op_check::top_k(logits, ids, values, lse));
        ref::top_k(logits, ids, values, lse);
        return Status::success();
    }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_ref_backend() { return std::make_unique<CpuRefBackend>(); }

}  // namespace gemma::cpu
