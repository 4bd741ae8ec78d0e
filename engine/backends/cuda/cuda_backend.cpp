// CudaBackend: validates each op with core op_check, checks that its tensors live on this device,
// and records the matching kernel launch in the context's op queue (launched in segments,
// replayed as CUDA graphs when repeated). Memory, uploads and host transfers go through
// CudaContext. Kernels: ops/*.cu. q8_0 / q4_0 weights are repacked at upload() into the planar
// layout of ops/matmul_quant.cu (same size; row views of such a device tensor are not valid).
#include "backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/blas_tune.h"
#include "backends/cuda/cuda_context.h"
#include "backends/cuda/cuda_module.h"
#include "backends/cuda/fusion.h"
#include "core/kv_quant.h"
#include "core/quant.h"

namespace gemma::cuda {
namespace {

ElemType elem_type(DType t) {
    switch (t) {
        case DType::f32:
            return ElemType::f32;
        case DType::f16:
            return ElemType::f16;
        case DType::bf16:
            return ElemType::bf16;
        case DType::q8_0:
            return ElemType::q8_0;
        case DType::q4_0:
            return ElemType::q4_0;
        default:
            return ElemType::none;
    }
}

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

bool is_mma(MatmulPath p) { return p == MatmulPath::mma_split || p == MatmulPath::mma_lowp; }

// A cache type op_check accepted (f32, bf16, q8_0).
KvType kv_type(DType t) {
    return t == DType::q8_0 ? KvType::q8_0 : t == DType::bf16 ? KvType::bf16 : KvType::f32;
}

Status on_device(Op op, const char * arg, const Tensor & t) {
    if (t.empty() || t.where == Where::device) return Status::success();
    return make_error(
        ErrorCode::invalid_argument,
        format("cuda: %s: %s is in host memory; alloc() or upload() it on this backend first",
               op_name(op), arg));
}

template <class T>
T * f32p(const Tensor & t) {
    return static_cast<T *>(t.data);
}

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(std::shared_ptr<CudaContext> ctx) : ctx_(std::move(ctx)) {}
    ~CudaBackend() override {
        (void)ctx_->synchronize();
        if (const char * e = std::getenv("GEMMA_CUDA_STATS"); e && std::strcmp(e, "1") == 0) {
            OpQueue::Stats s = ctx_->queue().stats();
            std::fprintf(stderr,
                         "cuda: op segments: %zu eager, %zu captured, %zu replayed as graphs; "
                         "%zu ops fused, %zu GEMMs found x rounded, %zu f32 stores of "
                         "discarded outputs left out, %zu MLPs with bf16 gate/up; host: %.1f ms "
                         "launching segments, %.1f ms waiting for the GPU\n",
                         s.eager_segments, s.captured, s.replayed, s.fused, s.x16_reused,
                         s.writes_elided, s.ffn_bf16, s.flush_ms, ctx_->waited_ms());
            for (const auto & [name, t] : ctx_->queue().profile())
                std::fprintf(stderr, "cuda: profile %-16s %8zu calls %10.3f ms %8.2f us/call\n",
                             name.c_str(), t.count, t.ms, 1000.0 * t.ms / double(t.count));
        }
    }

    BackendInfo info() const override {
        const gpuDeviceProp & p = ctx_->props();
        BackendInfo b;
        static const char * const kNames[] = {"cuda", "cuda-f32", "cuda-bf16"};
        static const char * const kModes[] = {"split-bf16 prefill GEMMs", "f32 products",
                                              "bf16 prefill GEMMs"};
        int mode = int(ctx_->options().precision);
        b.name = kNames[mode];
        b.description = format("%s (%d SMs, %.1f GiB), %s", p.name, p.multiProcessorCount,
                               double(p.totalGlobalMem) / double(1ull << 30), kModes[mode]);
        b.where = Where::device;
        b.memory_bytes = p.totalGlobalMem;
        return b;
    }

    // Float activations and weights; q8_0/q4_0 matmul weights and get_rows tables
    // (ops/matmul_quant.cu); KV caches (kv_store, attention: OpDesc::b) f32, bf16 or q8_0,
    // paged attention too; q8_0 -> q8_0 copies; top_k on f32 logits.
    bool supports(const OpDesc & op) const override {
        if (op.op == Op::kv_store || op.op == Op::attention || op.op == Op::attention_paged)
            return op.a == DType::f32 && kv_cache_dtype_ok(op.b);
        if (op.op == Op::copy && op.a == DType::q8_0) return op.b == DType::q8_0;
        if (op.op == Op::top_k) return op.a == DType::f32;             // ops/top_k.cu
        bool quant_ok = op.op == Op::matmul || op.op == Op::get_rows;  // ops/matmul_quant.cu
        return is_float(op.a) && (is_float(op.b) || (quant_ok && dtype_is_quant(op.b)));
    }

    Result<Tensor> alloc(DType dtype, const Shape & shape) override {
        for (int64_t d : shape)
            if (d < 0)
                return make_error(ErrorCode::invalid_argument, "cuda: alloc: negative dimension");
        Tensor t;
        t.dtype = dtype;
        t.shape = shape;
        t.where = Where::device;
        auto mem = ctx_->alloc(t.nbytes(), true);
        if (!mem) return mem.error();
        t.owner = std::move(*mem);
        t.data = t.owner.get();
        return t;
    }

    Result<Tensor> upload(const Tensor & src) override {
        if (dtype_is_quant(src.dtype) && src.where == Where::host && !src.empty())
            return upload_planar(src);
        Tensor t = src;
        auto mem = ctx_->alloc(src.nbytes(), src.empty());
        if (!mem) return mem.error();
        t.owner = std::move(*mem);
        t.data = t.owner.get();
        t.where = Where::device;
        if (!src.empty() && src.nbytes() > 0)
            GEMMA_CUDA_TRY(gpuMemcpyAsync(
                t.data, src.data, src.nbytes(),
                src.where == Where::host ? gpuMemcpyHostToDevice : gpuMemcpyDeviceToDevice,
                ctx_->stream()));
        return t;
    }

    Status write(const Tensor & dst, const void * src, size_t nbytes) override {
        GEMMA_TRY(check_transfer(dst, nbytes, "write"));
        GEMMA_TRY(ctx_->flush());  // ops recorded before the write run before it
        // Pageable host memory is staged before the call returns, so the caller may reuse src.
        GEMMA_CUDA_TRY(
            gpuMemcpyAsync(dst.data, src, nbytes, gpuMemcpyHostToDevice, ctx_->stream()));
        return Status::success();
    }

    Status read(const Tensor & src, void * dst, size_t nbytes) override {
        GEMMA_TRY(check_transfer(src, nbytes, "read"));
        GEMMA_TRY(ctx_->flush());
        auto stage = ctx_->staging(nbytes);
        if (!stage) return stage.error();
        GEMMA_CUDA_TRY(
            gpuMemcpyAsync(*stage, src.data, nbytes, gpuMemcpyDeviceToHost, ctx_->stream()));
        GEMMA_TRY(ctx_->wait());
        std::memcpy(dst, *stage, nbytes);
        profiler_range_step();
        return Status::success();
    }

    // GEMMA_CUDA_PROFILER_READS="a:b": the profiler collects (ncu/nsys --profile-from-start off)
    // from the a-th to the b-th read() of this backend, e.g. exactly one decode step.
    void profiler_range_step() {
        static const std::pair<long, long> range = [] {
            const char * e = std::getenv("GEMMA_CUDA_PROFILER_READS");
            long a = -1, b = -1;
            if (e && std::sscanf(e, "%ld:%ld", &a, &b) != 2) a = b = -1;
            return std::pair<long, long>{a, b};
        }();
        ++reads_;
        if (reads_ == range.first) (void)gpuProfilerStart();
        if (reads_ == range.second) (void)gpuProfilerStop();
    }

    Status synchronize() override { return ctx_->synchronize(); }

    // A hint (core/backend.h): the pending producer of t may skip its f32 store (fusion.h
    // (discard)). Host tensors and empty ones are ignored.
    Status discard(const Tensor & t) override {
        if (t.empty() || t.where != Where::device || !fuse() || !ctx_->options().fuse_discard)
            return Status::success();
        (void)discard_unread(ctx_->queue(), t.data, t.nbytes());
        if (ctx_->options().ffn_bf16 && ctx_->options().precision == CudaPrecision::bf16 &&
            blas_bf16_out_available())
            (void)ffn_bf16_out(ctx_->queue(), t.data, t.nbytes());
        return Status::success();
    }

    CudaQueueStats queue_stats() {
        OpQueue::Stats s = ctx_->queue().stats();
        return {s.eager_segments, s.captured,      s.replayed, s.fused,
                s.x16_reused,     s.writes_elided, s.ffn_bf16};
    }

    Status get_rows(const Tensor & table, const Tensor & ids, float scale,
                    const Tensor & out) override {
        GEMMA_TRY(op_check::get_rows(table, ids, out));
        GEMMA_TRY(devices(Op::get_rows, {&ids, &out}));
        const void * tab = table.data;
        if (table.where ==
            Where::host) {  // e.g. the PLE table kept in host memory: gather rows over PCIe
            auto mapped = ctx_->map_host(table.data, table.nbytes(), table.owner);
            if (!mapped) return mapped.error();
            tab = *mapped;
        }
        GetRowsParams p{tab,
                        ids.ptr<int32_t>(),
                        f32p<float>(out),
                        ids.dim(0),
                        table.dim(1),
                        table.dim(0),
                        elem_type(table.dtype),
                        scale,
                        table.where == Where::device ? 1 : 0,  // uploaded quant tables are planar
                        0};
        return ctx_->queue().push<GetRowsParams, launch_get_rows>("get_rows", p);
    }

    Status matmul(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::matmul(x, w, out));
        GEMMA_TRY(devices(Op::matmul, {&x, &w, &out}));
        if (dtype_is_quant(w.dtype)) return matmul_quant(x, w, out);
        MatmulParams p{f32p<const float>(x),
                       w.data,
                       f32p<float>(out),
                       nullptr,
                       x.dim(0),
                       x.dim(1),
                       w.dim(0),
                       elem_type(w.dtype),
                       MatmulPath::tiled,
                       nullptr,
                       nullptr,
                       nullptr,
                       GemvEpilogue::none,
                       0,
                       nullptr,
                       nullptr,
                       0,
                       {},
                       0,
                       0};
        if (p.n <= kGemvMaxRows) {  // decode: never round x; odd layouts take the tiled kernel
            if (matmul_gemv_ok(p.x, p.w, p.k, p.type)) p.path = MatmulPath::gemv;
        } else if (p.type == ElemType::f32) {
            p.path = MatmulPath::blas_f32;
        } else if (ctx_->options().precision != CudaPrecision::f32) {
            bool split = ctx_->options().precision == CudaPrecision::split16;
            p.path = split ? MatmulPath::blas_split : MatmulPath::blas_lowp;
            // Batched decode: tensor-core tiles reading w once (sm_80+), scratch only for split k.
            if (ctx_->options().mma_small && ctx_->props().major >= 8 && matmul_mma_ok(p))
                p.path = split ? MatmulPath::mma_split : MatmulPath::mma_lowp;
            size_t bytes = is_mma(p.path) ? matmul_mma_scratch_bytes(p, ctx_->env())
                                          : size_t(p.n * p.k) * (split ? 4 : 2);
            if (bytes > 0) {
                auto s = ctx_->scratch(0, bytes);
                if (!s) return s.error();
                p.scratch = *s;
            }
        }
        if (fuse() && fuse_matmul(ctx_->queue(), p, fuse_qkv(), fuse_row()))
            return Status::success();
        if (fuse() && fuse_round() && fuse_round_x(ctx_->queue(), p)) p.x16_ready = 1;
        const char * name = p.path == MatmulPath::gemv ? "matmul_gemv"
                            : is_mma(p.path)           ? "matmul_mma"
                                                       : "matmul";
        if (ctx_->queue().profiling() && p.path != MatmulPath::gemv)  // one line per weight shape
            name =
                profile_names_.emplace(format("%s %lldx%lld", name, (long long)p.m, (long long)p.k))
                    .first->c_str();
        return ctx_->queue().push<MatmulParams, launch_matmul>(name, p);
    }

    Status rms_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::rms_norm(x, w, out));
        GEMMA_TRY(devices(Op::rms_norm, {&x, &w, &out}));
        RmsNormParams p{f32p<const float>(x),
                        w.data,
                        f32p<float>(out),
                        x.dim(0),
                        x.dim(1),
                        w.empty() ? ElemType::none : elem_type(w.dtype),
                        eps};
        if (fuse() && fuse_rms_norm(ctx_->queue(), p)) return Status::success();
        return ctx_->queue().push<RmsNormParams, launch_rms_norm>("rms_norm", p);
    }

    Status rope(const Tensor & x, const Tensor & pos, const Tensor & freqs,
                const Tensor & out) override {
        GEMMA_TRY(op_check::rope(x, pos, freqs, out));
        GEMMA_TRY(devices(Op::rope, {&x, &pos, &freqs, &out}));
        RopeParams p{f32p<const float>(x),
                     pos.ptr<int32_t>(),
                     f32p<const float>(freqs),
                     f32p<float>(out),
                     x.dim(0),
                     x.dim(1),
                     x.dim(2)};
        if (fuse() && fuse_rope(ctx_->queue(), p, fuse_qkv())) return Status::success();
        return ctx_->queue().push<RopeParams, launch_rope>("rope", p);
    }

    Status kv_store(const Tensor & k, const Tensor & v, const Tensor & pos, const Tensor & kc,
                    const Tensor & vc) override {
        GEMMA_TRY(op_check::kv_store(k, v, pos, kc, vc));
        GEMMA_TRY(devices(Op::kv_store, {&k, &v, &pos, &kc, &vc}));
        KvStoreParams p{f32p<const float>(k),
                        f32p<const float>(v),
                        pos.ptr<int32_t>(),
                        kc.data,
                        vc.data,
                        k.dim(0),
                        k.dim(1) * k.dim(2),
                        kc.dim(0),
                        kv_type(kc.dtype),
                        0};
        if (fuse() && fuse_kv_store(ctx_->queue(), p)) return Status::success();
        return ctx_->queue().push<KvStoreParams, launch_kv_store>("kv_store", p);
    }

    Status attention(const Tensor & q, const Tensor & kc, const Tensor & vc, const Tensor & pos,
                     const Tensor & blocks, const AttentionDesc & desc,
                     const Tensor & out) override {
        GEMMA_TRY(op_check::attention(q, kc, vc, pos, blocks, out));
        GEMMA_TRY(devices(Op::attention, {&q, &kc, &vc, &pos, &blocks, &out}));
        if (q.dim(2) > 512)
            return make_error(ErrorCode::unsupported,
                              format("cuda: attention: head_dim %lld > 512 is not supported",
                                     (long long)q.dim(2)));
        int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2), slots = kc.dim(0);
        int64_t max_keys = desc.window > 0 ? std::min<int64_t>(slots, desc.window + n - 1) : slots;
        AttentionParams p{f32p<const float>(q),
                          kc.data,
                          vc.data,
                          pos.ptr<int32_t>(),
                          blocks.empty() ? nullptr : blocks.ptr<int32_t>(),
                          f32p<float>(out),
                          nullptr,
                          n,
                          hq,
                          kc.dim(1),
                          d,
                          slots,
                          1,
                          desc.window,
                          desc.scale,
                          kv_type(kc.dtype)};
        // Prefill chunks on tensor cores (f16 inputs) unless f32 products were asked for: the
        // one-pass kernel where it applies (sm_80+), unless the options ask for attention_tc.
        if (ctx_->options().precision != CudaPrecision::f32) {
            if (ctx_->options().attention != CudaAttention::tc && ctx_->props().major >= 8 &&
                attention_fa_ok(p))
                return ctx_->queue().push<AttentionParams, launch_attention_fa>("attention_fa", p);
            if (attention_tc_ok(p))
                return ctx_->queue().push<AttentionParams, launch_attention_tc>("attention_tc", p);
        }
        p.n_splits = attention_splits(n, hq, max_keys, ctx_->env().n_sms);
        if (p.n_splits > 1) {
            auto s = ctx_->scratch(1, size_t(n * hq * p.n_splits * (d + 2)) * sizeof(float));
            if (!s) return s.error();
            p.partial = static_cast<float *>(*s);
        }
        return ctx_->queue().push<AttentionParams, launch_attention>("attention", p);
    }

    Status attention_paged(const Tensor & q, const Tensor & kp, const Tensor & vp,
                           const Tensor & pos, const Tensor & row_seq, const Tensor & pages,
                           int page_size, const AttentionDesc & desc, const Tensor & out) override {
        GEMMA_TRY(op_check::attention_paged(q, kp, vp, pos, row_seq, pages, page_size, out));
        GEMMA_TRY(devices(Op::attention_paged, {&q, &kp, &vp, &pos, &row_seq, &pages, &out}));
        if (q.dim(2) > 512)
            return make_error(ErrorCode::unsupported,
                              format("cuda: attention_paged: head_dim %lld > 512 is not supported",
                                     (long long)q.dim(2)));
        const int64_t n = q.dim(0), hq = q.dim(1), d = q.dim(2);
        PagedAttentionParams p{};
        p.q = f32p<const float>(q);
        p.k_pool = kp.data;
        p.v_pool = vp.data;
        p.kv_type = kv_type(kp.dtype);
        p.positions = pos.ptr<int32_t>();
        p.row_seq = row_seq.ptr<int32_t>();
        p.pages = pages.ptr<int32_t>();
        p.out = f32p<float>(out);
        p.n = int32_t(n);
        p.hq = int32_t(hq);
        p.hkv = int32_t(kp.dim(1));
        p.d = int32_t(d);
        p.n_pages = int32_t(pages.dim(1));
        p.page_size = page_size;
        p.window = desc.window;
        p.scale = desc.scale;
        // Splits sized for the longest key range the tables allow (fixed per pool: graphs replay).
        const int64_t max_keys = desc.window > 0 ? desc.window : int64_t(p.n_pages) * page_size;
        p.n_splits = int32_t(attention_splits(n, hq, max_keys, ctx_->env().n_sms));
        if (p.n_splits > 1) {
            auto s = ctx_->scratch(1, size_t(n * hq * p.n_splits * (d + 2)) * sizeof(float));
            if (!s) return s.error();
            p.partial = static_cast<float *>(*s);
        }
        return ctx_->queue().push<PagedAttentionParams, launch_attention_paged>("attention_paged",
                                                                                p);
    }

    Status gelu_tanh_mul(const Tensor & gate, const Tensor & up, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::gelu_tanh_mul, gate, up, out));
        return elementwise(Op::gelu_tanh_mul, EltOp::gelu_tanh_mul, gate, up, 0.0f, out);
    }
    Status add(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::add, a, b, out));
        return elementwise(Op::add, EltOp::add, a, b, 0.0f, out);
    }
    Status mul(const Tensor & a, const Tensor & b, const Tensor & out) override {
        GEMMA_TRY(op_check::binary(Op::mul, a, b, out));
        return elementwise(Op::mul, EltOp::mul, a, b, 0.0f, out);
    }
    Status scale(const Tensor & x, float s, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::scale, x, out));
        return elementwise(Op::scale, EltOp::scale, x, Tensor{}, s, out);
    }
    Status softcap(const Tensor & x, float cap, const Tensor & out) override {
        GEMMA_TRY(op_check::unary(Op::softcap, x, out));
        return elementwise(Op::softcap, EltOp::softcap, x, Tensor{}, cap, out);
    }
    Status clamp(const Tensor & x, float lo, float hi, const Tensor & out) override {
        GEMMA_TRY(op_check::clamp(x, lo, hi, out));
        return elementwise(Op::clamp, EltOp::clamp, x, Tensor{}, lo, out, hi);
    }

    Status copy(const Tensor & src, const Tensor & dst) override {
        GEMMA_TRY(op_check::copy(src, dst));
        GEMMA_TRY(devices(Op::copy, {&src, &dst}));
        int64_t same = src.dtype == dst.dtype ? int64_t(src.nbytes()) : 0;  // byte copy
        CopyParams p{src.data, dst.data, src.numel(), elem_type(src.dtype), elem_type(dst.dtype),
                     same};
        return ctx_->queue().push<CopyParams, launch_copy>("copy", p);
    }

    Status transpose01(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::transpose01(x, out));
        GEMMA_TRY(devices(Op::transpose01, {&x, &out}));
        Transpose01Params p{f32p<const float>(x), f32p<float>(out), x.dim(0), x.dim(1), x.dim(2)};
        return ctx_->queue().push<Transpose01Params, launch_transpose01>("transpose01", p);
    }

    // ---- the audio conformer's ops (ops/audio_*.cu) ----
    Status activation(const Tensor & x, Activation act, const Tensor & out) override {
        GEMMA_TRY(op_check::activation(x, act, out));
        GEMMA_TRY(devices(Op::activation, {&x, &out}));
        ActivationParams p{};
        p.x = f32p<const float>(x);
        p.out = f32p<float>(out);
        p.n = x.numel();
        p.kind = act == Activation::silu ? ActKind::silu : ActKind::relu;
        return ctx_->queue().push<ActivationParams, launch_activation>("activation", p);
    }

    Status glu(const Tensor & x, const Tensor & out) override {
        GEMMA_TRY(op_check::glu(x, out));
        GEMMA_TRY(devices(Op::glu, {&x, &out}));
        ActivationParams p{};
        p.x = f32p<const float>(x);
        p.out = f32p<float>(out);
        p.n = out.numel();
        p.d = out.dim(1);
        return ctx_->queue().push<ActivationParams, launch_glu>("glu", p);
    }

    Status conv1d_dw(const Tensor & x, const Tensor & w, const Tensor & out) override {
        GEMMA_TRY(op_check::conv1d_dw(x, w, out));
        GEMMA_TRY(devices(Op::conv1d_dw, {&x, &w, &out}));
        Conv1dDwParams p{};
        p.x = f32p<const float>(x);
        p.w = w.data;
        p.out = f32p<float>(out);
        p.n = x.dim(0);
        p.c = x.dim(1);
        p.k = w.dim(1);
        p.wtype = elem_type(w.dtype);
        return ctx_->queue().push<Conv1dDwParams, launch_conv1d_dw>("conv1d_dw", p);
    }

    Status layer_norm(const Tensor & x, const Tensor & w, float eps, const Tensor & out) override {
        GEMMA_TRY(op_check::layer_norm(x, w, out));
        GEMMA_TRY(devices(Op::layer_norm, {&x, &w, &out}));
        LayerNormParams p{};
        p.x = f32p<const float>(x);
        p.w = w.data;
        p.out = f32p<float>(out);
        p.rows = x.dim(0);
        p.d = x.dim(1);
        p.type = w.empty() ? ElemType::none : elem_type(w.dtype);
        p.eps = eps;
        return ctx_->queue().push<LayerNormParams, launch_layer_norm>("layer_norm", p);
    }

    Status im2col(const Tensor & x, const Im2colDesc & d, const Tensor & out) override {
        GEMMA_TRY(op_check::im2col(x, d, out));
        GEMMA_TRY(devices(Op::im2col, {&x, &out}));
        Im2colParams p{};
        p.x = f32p<const float>(x);
        p.out = f32p<float>(out);
        p.h = x.dim(0);
        p.w = x.dim(1);
        p.c = x.dim(2);
        p.ho = (p.h + 2 * d.pad - d.kh) / d.stride + 1;
        p.wo = (p.w + 2 * d.pad - d.kw) / d.stride + 1;
        p.kh = d.kh;
        p.kw = d.kw;
        p.stride = d.stride;
        p.pad = d.pad;
        return ctx_->queue().push<Im2colParams, launch_im2col>("im2col", p);
    }

    Status chunk_attention(const Tensor & q, const Tensor & k, const Tensor & v, const Tensor & rel,
                           const ChunkAttentionDesc & d, const Tensor & out) override {
        GEMMA_TRY(op_check::chunk_attention(q, k, v, rel, d, out));
        GEMMA_TRY(devices(Op::chunk_attention, {&q, &k, &v, &rel, &out}));
        const int64_t slots = int64_t(d.chunk) + d.past;
        if (slots > 1024)  // ops/audio_chunk_attention.cu keeps a warp's logits in shared memory
            return make_error(ErrorCode::unsupported,
                              format("cuda: chunk_attention: chunk + past = %lld slots; at most "
                                     "1024 are supported",
                                     (long long)slots));
        ChunkAttentionParams p{};
        p.q = f32p<const float>(q);
        p.k = f32p<const float>(k);
        p.v = f32p<const float>(v);
        p.rel = f32p<const float>(rel);
        p.out = f32p<float>(out);
        p.n = q.dim(0);
        p.h = q.dim(1);
        p.d = q.dim(2);
        p.chunk = d.chunk;
        p.past = d.past;
        p.cap = d.cap;
        p.invalid = d.invalid;
        p.complement = d.mask == ChunkMask::complement ? 1 : 0;
        return ctx_->queue().push<ChunkAttentionParams, launch_chunk_attention>("chunk_attention",
                                                                                p);
    }

    // Scratch slot 1 (shared with attention's split partials: ops on one stream run in order).
    Status top_k(const Tensor & logits, const Tensor & ids, const Tensor & values,
                 const Tensor & lse) override {
        GEMMA_TRY(op_check::top_k(logits, ids, values, lse));
        GEMMA_TRY(devices(Op::top_k, {&logits, &ids, &values, &lse}));
        const int64_t rows = logits.dim(0), v = logits.dim(1), k = ids.dim(1);
        TopKParams p{};
        p.logits = f32p<const float>(logits);
        p.ids = static_cast<int32_t *>(ids.data);
        p.values = f32p<float>(values);
        p.lse = f32p<float>(lse);
        p.rows = rows;
        p.v = v;
        p.n_chunks = top_k_chunks(v);
        p.k = int32_t(k);
        auto s = ctx_->scratch(1, top_k_scratch_bytes(rows, v, k));
        if (!s) return s.error();
        const size_t n_cand = size_t(rows * p.n_chunks * k);
        p.part_values = static_cast<float *>(*s);
        p.part_ids = reinterpret_cast<int32_t *>(p.part_values + n_cand);
        p.part_stats = reinterpret_cast<float *>(p.part_ids + n_cand);
        return ctx_->queue().push<TopKParams, launch_top_k>("top_k", p);
    }

private:
    bool fuse() const { return ctx_->options().fuse; }
    bool fuse_qkv() const { return ctx_->options().fuse_qkv; }
    bool fuse_row() const { return ctx_->options().fuse_row; }
    bool fuse_round() const { return ctx_->options().fuse_round; }

    // A q8_0 / q4_0 host tensor regrouped into the planar layout, then copied (synchronously:
    // the planar host copy is freed on return).
    Result<Tensor> upload_planar(const Tensor & src) {
        GEMMA_TRY(quant_check_row(src.dtype, src.dim(-1), "cuda: upload"));
        const int64_t cols = src.dim(-1), rows = src.numel() / cols;
        std::vector<uint8_t> planar(src.nbytes());
        quant_to_planar(src.dtype, src.data, rows, cols, planar.data());
        Tensor t = src;
        auto mem = ctx_->alloc(src.nbytes(), false);
        if (!mem) return mem.error();
        t.owner = std::move(*mem);
        t.data = t.owner.get();
        t.where = Where::device;
        GEMMA_TRY(ctx_->flush());
        GEMMA_CUDA_TRY(gpuMemcpyAsync(t.data, planar.data(), planar.size(), gpuMemcpyHostToDevice,
                                      ctx_->stream()));
        GEMMA_TRY(ctx_->wait());
        return t;
    }

    // Quantized weights: gemv for decode, mmq for batched decode, dequantized tiles + cuBLAS for
    // prefill (and wherever mmq does not apply).
    Status matmul_quant(const Tensor & x, const Tensor & w, const Tensor & out) {
        QuantMatmulParams p{f32p<const float>(x),
                            w.data,
                            f32p<float>(out),
                            nullptr,
                            nullptr,
                            x.dim(0),
                            x.dim(1),
                            w.dim(0),
                            0,
                            elem_type(w.dtype),
                            MatmulPath::tiled,
                            nullptr,
                            nullptr,
                            nullptr,
                            GemvEpilogue::none,
                            0,
                            0,
                            0,
                            {}};
        CudaPrecision prec = ctx_->options().precision;
        if (p.n <= kGemvMaxRows) {  // decode: aligned x -> the vector kernel
            if (reinterpret_cast<uintptr_t>(p.x) % 16 == 0) p.path = MatmulPath::gemv;
            p.x8 = prec == CudaPrecision::f32 ? 0 : 1;
            if (fuse() && fuse_matmul_quant(ctx_->queue(), p, fuse_qkv(), fuse_row()))
                return Status::success();
            return ctx_->queue().push<QuantMatmulParams, launch_matmul_quant>("matmul_quant", p);
        }
        if (mmq_ok(p, prec)) {  // batched decode: int8 tensor cores, x rounded as the GEMV's
            p.path = MatmulPath::mmq;
            p.x8 = 1;
            p.k_splits = int32_t(matmul_quant_mmq_splits(p, ctx_->env()));
            auto sx = ctx_->scratch(3, matmul_quant_mmq_scratch_bytes(p));
            if (!sx) return sx.error();
            p.scratch_x = *sx;
            if (fuse() && fuse_round() && fuse_mmq_x(ctx_->queue(), p, ctx_->env())) p.x_ready = 1;
            return ctx_->queue().push<QuantMatmulParams, launch_matmul_quant>("matmul_quant_mmq",
                                                                              p);
        }
        p.path = prec == CudaPrecision::f32       ? MatmulPath::blas_f32
                 : prec == CudaPrecision::split16 ? MatmulPath::blas_split
                                                  : MatmulPath::blas_lowp;
        p.tile_rows = matmul_quant_tile_rows(p.k, p.m);
        size_t wbytes = size_t(p.tile_rows * p.k) * (p.path == MatmulPath::blas_f32 ? 4 : 2);
        auto sw = ctx_->scratch(2, wbytes);
        if (!sw) return sw.error();
        auto sx = ctx_->scratch(3, matmul_quant_scratch_x_bytes(p.n, p.k, p.tile_rows));
        if (!sx) return sx.error();
        p.scratch_w = *sw;
        p.scratch_x = *sx;
        return ctx_->queue().push<QuantMatmulParams, launch_matmul_quant>("matmul_quant", p);
    }

    // Whether a quantized matmul of more than kGemvMaxRows x rows takes MatmulPath::mmq: the
    // int8-x precisions ("cuda-f32" keeps exact x), up to kMmqMaxRows rows, 16-byte aligned x and
    // weights, whole 32-value blocks, a build and device with int8 mma.sync (sm_80+), and not
    // turned off (CudaOptions::mmq, env GEMMA_CUDA_MMQ=0).
    bool mmq_ok(const QuantMatmulParams & p, CudaPrecision prec) const {
        auto aligned = [](const void * ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
        return GEMMA_HAS_MMA_INT8 && ctx_->options().mmq && ctx_->props().major >= 8 &&
               prec != CudaPrecision::f32 && p.n > kGemvMaxRows && p.n <= kMmqMaxRows &&
               p.k % 32 == 0 && aligned(p.x) && aligned(p.w);
    }

    Status devices(Op op, std::initializer_list<const Tensor *> ts) {
        static const char * const kArgs[] = {"input 1", "input 2", "input 3",
                                             "input 4", "input 5", "input 6"};
        size_t i = 0;
        for (const Tensor * t : ts) GEMMA_TRY(on_device(op, kArgs[std::min<size_t>(i++, 5)], *t));
        return Status::success();
    }

    Status check_transfer(const Tensor & t, size_t nbytes, const char * what) {
        if (t.where != Where::device || t.empty())
            return make_error(
                ErrorCode::invalid_argument,
                format("cuda: %s: the tensor is not device memory of this backend", what));
        if (nbytes > t.nbytes())
            return make_error(ErrorCode::invalid_argument,
                              format("cuda: %s: %zu bytes do not fit a %zu-byte tensor", what,
                                     nbytes, t.nbytes()));
        return Status::success();
    }

    Status elementwise(Op op, EltOp e, const Tensor & a, const Tensor & b, float s,
                       const Tensor & out, float s2 = 0.0f) {
        GEMMA_TRY(devices(op, {&a, &b, &out}));
        EltParams p{f32p<const float>(a),
                    b.data,
                    f32p<float>(out),
                    a.numel(),
                    a.dim(-1),
                    b.empty() ? 0 : b.numel(),
                    b.empty() ? ElemType::none : elem_type(b.dtype),
                    e,
                    s,
                    s2};
        if (fuse()) {
            OpQueue & q = ctx_->queue();
            if (e == EltOp::add && fuse_add(q, p)) return Status::success();
            if (e == EltOp::mul && fuse_mul(q, p)) return Status::success();
            if (e == EltOp::gelu_tanh_mul && fuse_gelu_mul(q, p)) return Status::success();
        }
        return ctx_->queue().push<EltParams, launch_elementwise>(op_name(op), p);
    }

    std::shared_ptr<CudaContext> ctx_;
    std::set<std::string> profile_names_;
    long reads_ = 0;  // read() calls so far (GEMMA_CUDA_PROFILER_READS)  // stable names of
                      // profiled records (GEMMA_CUDA_PROFILE)
};

}  // namespace

namespace module {
Result<std::unique_ptr<Backend>> create(const CudaOptions & options) {
    CudaOptions o = options;
    auto off = [](const char * name) {
        const char * v = std::getenv(name);
        return v && std::strcmp(v, "0") == 0;
    };
    if (off("GEMMA_CUDA_GRAPHS")) o.graphs = false;
    if (off("GEMMA_CUDA_FUSE")) o.fuse = false;
    if (off("GEMMA_CUDA_FUSE_QKV")) o.fuse_qkv = false;
    if (off("GEMMA_CUDA_FUSE_ROUND")) o.fuse_round = false;
    if (off("GEMMA_CUDA_FUSE_DISCARD")) o.fuse_discard = false;
    if (const char * v = std::getenv("GEMMA_CUDA_FFN_BF16"); v && (*v == '0' || *v == '1'))
        o.ffn_bf16 = *v == '1';
    if (const char * v = std::getenv("GEMMA_CUDA_FUSE_ROW"); v && (*v == '0' || *v == '1'))
        o.fuse_row = *v == '1';
    if (off("GEMMA_CUDA_PDL")) o.pdl = false;
    if (off("GEMMA_CUDA_MMA_SMALL")) o.mma_small = false;
    if (const char * v = std::getenv("GEMMA_CUDA_SPLIT_MERGE_KERNEL"); v && std::strcmp(v, "1") == 0)
        o.split_merge_kernel = true;
    if (off("GEMMA_CUDA_MMQ")) o.mmq = false;
    if (const char * v = std::getenv("GEMMA_CUDA_ATTENTION");
        v && *v && o.attention == CudaAttention::automatic) {
        if (std::strcmp(v, "tc") == 0)
            o.attention = CudaAttention::tc;
        else if (std::strcmp(v, "fa") == 0)
            o.attention = CudaAttention::fa;
        else
            return make_error(ErrorCode::invalid_argument,
                              format("cuda: GEMMA_CUDA_ATTENTION=%s: use tc (two-pass tensor-core "
                                     "prefill attention) or fa (one pass), or unset it",
                                     v));
    }
    auto ctx = CudaContext::create(o);
    if (!ctx) return ctx.error();
    return std::unique_ptr<Backend>(std::make_unique<CudaBackend>(std::move(*ctx)));
}

Result<CudaQueueStats> queue_stats(Backend & backend) {
    auto * cuda = dynamic_cast<CudaBackend *>(&backend);
    if (!cuda)
        return make_error(ErrorCode::invalid_argument, "cuda_queue_stats: not a CUDA backend");
    return cuda->queue_stats();
}

bool device_available() {
    int count = 0;
    gpuError_t e = gpuGetDeviceCount(&count);
    if (e != gpuSuccess) (void)gpuGetLastError();
    return e == gpuSuccess && count > 0;
}

}  // namespace module

}  // namespace gemma::cuda
