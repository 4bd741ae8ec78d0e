// Backend: the compute interface the model is written against, once, for every device
// (cpu-ref = plain reference loops, cpu = fast SIMD, cuda, ...). Op math and shapes: core/ops.h.
//
// Execution model (designed for GPUs):
// - A Backend owns one in-order stream. Op calls *enqueue* work and return at once; only read()
//   and synchronize() wait. The CPU backends may run eagerly, which is a valid in-order stream.
// - A forward step reads nothing back to the host until its end: token ids, positions and block
//   ids live in backend tensors (write() them before the step), so a decode step's op sequence
//   is fixed and capturable (CUDA graphs).
// - Weights are upload()ed once: the CPU returns the same zero-copy view of the mapped file, a GPU
//   copies to device memory. Activations, caches and scratch come from alloc() once, then views.
// - Errors are values: an op given wrong shapes or dtypes returns invalid_argument/unsupported
//   before touching memory; device failures are device_error.
// Thread-compatible: one thread drives a Backend at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/status.h"
#include "core/tensor.h"

namespace gemma {

struct BackendInfo {
    std::string name;         // registry name: "cpu-ref", "cpu", "cuda", ...
    std::string description;  // human-readable device description
    Where where = Where::host;
    size_t memory_bytes = 0;  // device memory (0 = host / unknown)
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual BackendInfo info() const = 0;
    // Whether this backend runs `op` with these dtypes. An honest "no" is fine.
    virtual bool supports(const OpDesc & op) const = 0;

    // ---- memory ----
    // A new zero-filled tensor in this backend's memory. out_of_memory on failure.
    virtual Result<Tensor> alloc(DType dtype, const Shape & shape) = 0;
    // A weight for this backend from a host tensor (usually a view of a mapped file): the CPU
    // returns the same view (no copy, keeps the owner); a GPU copies it once. The result keeps
    // whatever memory it needs alive.
    virtual Result<Tensor> upload(const Tensor & host) = 0;
    // Copies `nbytes` from host memory into dst (from its first byte). The host bytes are
    // consumed before return (the caller may reuse them); the device copy is ordered on the stream.
    virtual Status write(const Tensor & dst, const void * src, size_t nbytes) = 0;
    // Waits for queued work, then copies `nbytes` of src into host memory.
    virtual Status read(const Tensor & src, void * dst, size_t nbytes) = 0;
    // Waits until every queued op has finished.
    virtual Status synchronize() = 0;

    // ---- ops (enqueued; see core/ops.h for shapes and math) ----
    virtual Status get_rows(const Tensor & table, const Tensor & ids, float scale,
                            const Tensor & out) = 0;
    virtual Status matmul(const Tensor & x, const Tensor & w, const Tensor & out) = 0;
    // w may be empty (Tensor{}): no scale.
    virtual Status rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) = 0;
    virtual Status rope(const Tensor & x, const Tensor & positions, const Tensor & freqs,
                        const Tensor & out) = 0;
    virtual Status kv_store(const Tensor & k, const Tensor & v, const Tensor & positions,
                            const Tensor & k_cache, const Tensor & v_cache) = 0;
    // block_ids may be empty: plain causal / sliding mask.
    virtual Status attention(const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
                             const Tensor & positions, const Tensor & block_ids,
                             const AttentionDesc & desc, const Tensor & out) = 0;
    virtual Status gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out) = 0;
    virtual Status add(const Tensor & a, const Tensor & b, const Tensor & out) = 0;
    virtual Status mul(const Tensor & a, const Tensor & b, const Tensor & out) = 0;
    virtual Status scale(const Tensor & x, float s, const Tensor & out) = 0;
    virtual Status softcap(const Tensor & x, float cap, const Tensor & out) = 0;
    virtual Status clamp(const Tensor & x, float lo, float hi, const Tensor & out) = 0;
    virtual Status activation(const Tensor & x, Activation act, const Tensor & out) = 0;
    virtual Status glu(const Tensor & x, const Tensor & out) = 0;
    virtual Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) = 0;
    // w may be empty (Tensor{}): no scale.
    virtual Status layer_norm(const Tensor & x, const Tensor & w, float eps,
                              const Tensor & out) = 0;
    virtual Status im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out) = 0;
    virtual Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v,
                                   const Tensor & rel, const ChunkAttentionDesc & desc,
                                   const Tensor & out) = 0;
    virtual Status copy(const Tensor & src, const Tensor & dst) = 0;
    virtual Status transpose01(const Tensor & x, const Tensor & out) = 0;
    // Optional (supports({Op::attention_paged}) says whether it exists): the default returns
    // unsupported, and callers then attend per sequence with attention().
    virtual Status attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                                   const Tensor & positions, const Tensor & row_seq,
                                   const Tensor & pages, int page_size, const AttentionDesc & desc,
                                   const Tensor & out);
    // Optional (supports({Op::top_k})): the default returns unsupported, and callers then read
    // the whole logits rows. k = ids.dim(1).
    virtual Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values,
                         const Tensor & lse);

    // ---- hints ----
    // The caller will not read t's current contents again (no op it enqueues later and no
    // read() reads them before an op writes t anew). A backend may therefore leave undone any
    // write to t that it has queued and that no op queued since has read: after discard, t's
    // contents are unspecified until written again (other tensors are unaffected). A hint
    // only: the default does nothing (the CPU backends), and it never fails for a valid t. The
    // CUDA backend drops a prefill intermediate's f32 store when only its 16-bit terms were
    // read (backends/cuda/fusion.h (discard)).
    virtual Status discard(const Tensor & t) {
        (void)t;
        return Status::success();
    }
};

// ---- views (no copies; valid for host and device tensors) ----
// Rows [row0, row0 + n) of the outermost dimension.
Tensor tensor_rows(const Tensor & t, int64_t row0, int64_t n);
// Same data, another shape with the same element count.
Tensor tensor_reshape(const Tensor & t, Shape shape);
// A view of t's bytes from `byte_offset` as `dtype` and `shape` (same memory, owner and place):
// outputs of several types laid out in one buffer, so they are read back at once.
Tensor tensor_part(const Tensor & t, size_t byte_offset, DType dtype, Shape shape);
// The first numel(shape) elements of t (a scratch buffer) viewed with `shape`.
Tensor tensor_prefix(const Tensor & t, Shape shape);

// ---- shape/dtype checks shared by every backend (invalid_argument / unsupported, naming the op
// and the shapes). A backend calls these first, then runs its kernel. ----
namespace op_check {
Status get_rows(const Tensor & table, const Tensor & ids, const Tensor & out);
Status matmul(const Tensor & x, const Tensor & w, const Tensor & out);
Status rms_norm(const Tensor & x, const Tensor & w, const Tensor & out);
Status rope(const Tensor & x, const Tensor & positions, const Tensor & freqs, const Tensor & out);
Status kv_store(const Tensor & k, const Tensor & v, const Tensor & positions,
                const Tensor & k_cache, const Tensor & v_cache);
Status attention(const Tensor & q, const Tensor & k_cache, const Tensor & v_cache,
                 const Tensor & positions, const Tensor & block_ids, const Tensor & out);
Status binary(Op op, const Tensor & a, const Tensor & b,
              const Tensor & out);                                       // add, mul, gelu_tanh_mul
Status unary(Op op, const Tensor & x, const Tensor & out);               // scale, softcap, clamp
Status clamp(const Tensor & x, float lo, float hi, const Tensor & out);  // unary + lo ≤ hi
// The audio conformer's ops (activation: unary + a known function).
Status activation(const Tensor & x, Activation act, const Tensor & out);
Status glu(const Tensor & x, const Tensor & out);
Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out);
Status layer_norm(const Tensor & x, const Tensor & w, const Tensor & out);
Status im2col(const Tensor & x, const Im2colDesc & desc, const Tensor & out);
Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                       const ChunkAttentionDesc & desc, const Tensor & out);
Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values, const Tensor & lse);
Status copy(const Tensor & src, const Tensor & dst);
Status transpose01(const Tensor & x, const Tensor & out);
Status attention_paged(const Tensor & q, const Tensor & k_pool, const Tensor & v_pool,
                       const Tensor & positions, const Tensor & row_seq, const Tensor & pages,
                       int page_size, const Tensor & out);
}  // namespace op_check

}  // namespace gemma
