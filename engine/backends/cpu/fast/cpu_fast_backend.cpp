// CpuFastBackend: validates each call with core op_check, then runs the fast/ kernel at once on
// its thread pool. Memory handling is the same as cpu-ref (host tensors, zero-copy upload).
#include "backends/cpu/fast/cpu_fast_backend.h"

#include "backends/cpu/fast/fast_ops.h"
#include "backends/cpu/fast/simd.h"
#include "backends/cpu/host_backend.h"

namespace gemma::cpu {
namespace {

class CpuFastBackend final : public HostBackend {
public:
    explicit CpuFastBackend(int n_threads) : pool_(n_threads) {}

    BackendInfo info() const override {
        return {"cpu", format("CPU fast (%d threads, %s SIMD)", pool_.size(), simd::target_name()),
                Where::host, 0};
    }

    Status get_rows(const Tensor & table, const Tensor & ids, float s,
                    const Tensor & out) override {
        GEMMA_TRY(op_check::get_rows(table, ids, out));
        fast::get_rows(pool_, table, ids, s, out);
        return Status::success();
    }
    Status matmul(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::matmul(x, w, out));
        fast::matmul(pool_, x, w, out);
        return Status::success();
    }
    Status rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::rms_norm(x, w, out));
        fast::rms_norm(pool_, x, w, eps, out);
        return Status::success();
    }
    Status rope(const Tensor & x, const Tensor & pos, const Tensor & freqs,
                const Tensor & out) override {
        GEMMA_TRY(op_check::rope(x, pos, freqs, out));
        fast::rope(pool_, x, pos, freqs, out);
        return Status::success();
    }
    Status kv_store(const Tensor & k, const Tensor & v, const Tensor & pos, const Tensor & kc,
                    const Tensor & vc) override {
        GEMMA_TRY(op_check::kv_store(k, v, pos, kc, vc));
        fast::kv_store(k, v, pos, kc, vc);
        return Status::success();
    }
    Status attention_paged(const Tensor & q, const Tensor & kp, const Tensor & vp,
                           const Tensor & pos, const Tensor & row_seq, const Tensor & pages,
                           int page_size, const AttentionDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::attention_paged(q, kp, vp, pos, row_seq, pages, page_size, out));
        fast::attention_paged(pool_, q, kp, vp, pos, row_seq, pages, page_size, desc, out);
        return Status::success();
    }
    Status attention(const Tensor & q, const Tensor & kc, const Tensor & vc, const Tensor & pos,
                     const Tensor & blocks, const AttentionDesc & desc,
                     const Tensor & out) override {
        GEMMA_TRY(op_check::attention(q, kc, vc, pos, blocks, out));
        fast::attention(pool_, q, kc, vc, pos, blocks, desc, out);
        return Status::success();
    }
    Status gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::gelu_tanh_mul, gate, up, out));
        fast::gelu_tanh_mul(pool_, gate, up, out);
        return Status::success();
    }
    Status add(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::add, a, b, out));
        fast::add(pool_, a, b, out);
        return Status::success();
    }
    Status mul(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::mul, a, b, out));
        fast::mul(pool_, a, b, out);
        return Status::success();
    }
    Status scale(const Tensor & x, float s, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::scale, x, out));
        fast::scale(pool_, x, s, out);
        return Status::success();
    }
    Status softcap(const Tensor & x, float cap, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::softcap, x, out));
        fast::softcap(pool_, x, cap, out);
        return Status::success();
    }
    Status clamp(const Tensor & x, float lo, float hi, const Tensor & out) override {
        GEMMA_TRY(op_check::clamp(x, lo, hi, out));
        fast::clamp(pool_, x, lo, hi, out);
        return Status::success();
    }
    Status activation(const Tensor & x, Activation act, const Tensor & out) override {
        GEMMA_TRY(op_check::activation(x, act, out));
        fast::activation(pool_, x, act, out);
        return Status::success();
    }
    Status glu(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::glu(x, out));
        fast::glu(pool_, x, out);
        return Status::success();
    }
    Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::conv1d_dw(x, w, out));
        fast::conv1d_dw(pool_, x, w, out);
        return Status::success();
    }
    Status layer_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::layer_norm(x, w, out));
        fast::layer_norm(pool_, x, w, eps, out);
        return Status::success();
    }
    Status im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::im2col(x, desc, out));
        fast::im2col(pool_, x, desc, out);
        return Status::success();
    }
    Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                           const ChunkAttentionDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::chunk_attention(q, k, v, rel, desc, out));
        fast::chunk_attention(pool_, q, k, v, rel, desc, out);
        return Status::success();
    }
    Status copy(const Tensor & src, const Tensor & dst) override {
        GEMMA_TRY(op_check::copy(src, dst));
        fast::copy(pool_, src, dst);
        return Status::success();
    }
    Status transpose01(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::transpose01(x, out));
        fast::transpose01(x, out);
        return Status::success();
    }
    Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values,
                 const Tensor & lse) override {
        GEMMA_TRY(op_check::top_k(logits, ids, values, lse));
        fast::top_k(pool_, logits, ids, values, lse);
        return Status::success();
    }

private:
    mutable ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_fast_backend(int n_threads) {
    return std::make_unique<CpuFastBackend>(n_threads > 0 ? n_threads : default_thread_count());
}

}  // namespace gemma::cpu
