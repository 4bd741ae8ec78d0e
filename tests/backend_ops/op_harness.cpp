// Harness internals: random inputs, guarded outputs (kGuard elements of a fixed bit pattern on
// both sides, checked after the op), reading results back as f32, NMSE.
#include "op_harness.h"

#include <cmath>
#include <cstring>

namespace gemma::test {
namespace {

constexpr int64_t kGuard = 64;        // guard elements on each side of every output
constexpr uint8_t kGuardByte = 0xA5;  // 0xA5A5A5A5 as f32 is a plain finite number

size_t elem_bytes(DType t) { return dtype_block_bytes(t) / dtype_block_size(t); }

// An input on the backend: non-f32 float and quantized tensors are weights (upload), the rest
// activations.
Result<Tensor> put_input(Backend & b, const Tensor & host) {
    if (host.dtype == DType::bf16 || host.dtype == DType::f16 || host.dtype == DType::q8_0 ||
        host.dtype == DType::q4_0)
        return b.upload(host);
    auto t = b.alloc(host.dtype, host.shape);
    if (!t) return t.error();
    GEMMA_TRY(b.write(*t, host.data, host.nbytes()));
    return t;
}

// A guarded output: the backend allocates guard + body + guard; the view is the body.
struct Guarded {
    Tensor whole, body;
};

Result<Guarded> put_output(Backend & b, const OutputSpec & spec,
                           const std::vector<Tensor> & inputs) {
    int64_t n = shape_numel(spec.shape);
    auto whole = b.alloc(spec.dtype, {kGuard + n + kGuard});
    if (!whole) return whole.error();
    size_t es = elem_bytes(spec.dtype);
    std::vector<uint8_t> init(size_t(kGuard + n + kGuard) * es, kGuardByte);
    if (spec.init_from >= 0) {
        const Tensor & src = inputs[size_t(spec.init_from)];
        GEMMA_ASSERT(src.nbytes() == size_t(n) * es, "init_from input does not match output %s",
                     shape_str(spec.shape).c_str());
        std::memcpy(init.data() + size_t(kGuard) * es, src.data, src.nbytes());
    }
    GEMMA_TRY(b.write(*whole, init.data(), init.size()));
    Guarded g{*whole, *whole};
    g.body.shape = spec.shape;
    g.body.data = static_cast<char *>(whole->data) + size_t(kGuard) * es;
    return g;
}

}  // namespace

Tensor random_tensor(Rng & rng, DType dtype, Shape shape, float lo, float hi) {
    Tensor f = tensor_host(DType::f32, shape);
    for (int64_t i = 0; i < f.numel(); ++i) f.ptr<float>()[i] = rng.uniform(lo, hi);
    if (dtype == DType::f32) return f;
    Tensor t = tensor_host(dtype, std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) {
        float v = f.ptr<float>()[i];
        t.ptr<uint16_t>()[i] = dtype == DType::bf16 ? f32_to_bf16(v) : f32_to_f16(v);
    }
    return t;
}

Tensor i32_tensor(std::vector<int32_t> values) {
    Tensor t = tensor_host(DType::i32, {int64_t(values.size())});
    std::memcpy(t.data, values.data(), values.size() * 4);
    return t;
}

Result<OpRun> run_case(Backend & backend, const OpCase & c) {
    OpArgs args;
    for (const Tensor & h : c.inputs) {
        auto t = put_input(backend, h);
        if (!t) return t.error();
        args.in.push_back(*t);
    }
    std::vector<Guarded> outs;
    for (const OutputSpec & spec : c.outputs) {
        auto g = put_output(backend, spec, c.inputs);
        if (!g) return g.error();
        args.out.push_back(g->body);
        outs.push_back(*g);
    }
    GEMMA_TRY(c.call(backend, args));
    GEMMA_TRY(backend.synchronize());
    OpRun run;
    for (size_t o = 0; o < outs.size(); ++o) {
        const Tensor & whole = outs[o].whole;
        Tensor host = tensor_host(whole.dtype, whole.shape);
        GEMMA_TRY(backend.read(whole, host.data, host.nbytes()));
        size_t es = elem_bytes(whole.dtype), body = host.nbytes() - size_t(2 * kGuard) * es;
        const uint8_t * bytes = host.ptr<uint8_t>();
        for (size_t i = 0; i < size_t(kGuard) * es && run.guard_error.empty(); ++i) {
            if (bytes[i] != kGuardByte || bytes[size_t(kGuard) * es + body + i] != kGuardByte)
                run.guard_error =
                    format("output %zu: a guard byte around the output was overwritten", o);
        }
        Tensor body_view =
            tensor_view(whole.dtype, c.outputs[o].shape, host.ptr<uint8_t>() + size_t(kGuard) * es);
        Tensor f = tensor_to_f32(body_view);
        run.outputs.emplace_back(f.ptr<float>(), f.ptr<float>() + f.numel());
    }
    return run;
}

double nmse(const std::vector<float> & ref, const std::vector<float> & got, std::string & problem) {
    if (ref.size() != got.size()) {
        problem = format("size %zu vs reference %zu", got.size(), ref.size());
        return 0.0;
    }
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        float a = ref[i], b = got[i];
        if (std::isnan(a) || std::isnan(b)) {
            problem = format("NaN at element %zu (reference %g, got %g)", i, double(a), double(b));
            return 0.0;
        }
        if (std::isinf(a) || std::isinf(b)) {
            if (a != b) {
                problem = format("Inf mismatch at element %zu (reference %g, got %g)", i, double(a),
                                 double(b));
                return 0.0;
            }
            continue;
        }
        num += double(a - b) * double(a - b);
        den += double(a) * double(a);
    }
    if (den == 0.0)
        return num == 0.0 ? 0.0 : INFINITY;  // an all-zero reference must be matched exactly
    return num / den;
}

std::string exact_mismatch(const std::vector<float> & ref, const std::vector<float> & got) {
    if (ref.size() != got.size())
        return format("size %zu vs reference %zu", got.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i)
        if (std::memcmp(&ref[i], &got[i], sizeof(float)) != 0)
            return format("element %zu: reference %.9g, got %.9g", i, double(ref[i]),
                          double(got[i]));
    return "";
}

std::vector<OpCase> all_cases() {
    std::vector<OpCase> all;
    for (auto family : {matmul_cases, norm_rope_cases, attention_cases, elementwise_cases,
                        quant_cases, audio_cases, top_k_cases}) {
        for (OpCase & c : family()) all.push_back(std::move(c));
    }
    return all;
}

}  // namespace gemma::test
