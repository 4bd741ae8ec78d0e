// Cases of the audio conformer's ops: activation (silu, relu, in place), glu, conv1d_dw (f32 and
// bf16 weights, kernels 1..5, shorter and longer than the kernel), layer_norm (with and without w,
// in place), im2col (the subsampling's 3×3 stride-2 pad-1 on 1 and several channels, and an
// asymmetric kernel) and chunk_attention (sliding and complement masks, a cap that bites, odd
// sizes, a sequence shorter than one chunk, the E4B block geometry).
#include "op_harness.h"

namespace gemma::test {
namespace {

OpCase activation_case(Activation act, Shape shape, bool in_place, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    const char * fn = act == Activation::silu ? "silu" : "relu";
    c.name =
        format("activation %s %s%s", fn, shape_str(shape).c_str(), in_place ? " in place" : "");
    c.desc = {Op::activation, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, shape, -8.0f, 8.0f)};
    c.outputs = {{DType::f32, shape, in_place ? 0 : -1}};
    c.call = [act, in_place](Backend & b, const OpArgs & a) {
        return b.activation(in_place ? a.out[0] : a.in[0], act, a.out[0]);
    };
    return c;
}

OpCase glu_case(int64_t rows, int64_t d, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("glu x[%lld,%lld]", (long long)rows, (long long)(2 * d));
    c.desc = {Op::glu, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, {rows, 2 * d}, -6.0f, 6.0f)};
    c.outputs = {{DType::f32, {rows, d}}};
    c.call = [](Backend & b, const OpArgs & a) { return b.glu(a.in[0], a.out[0]); };
    return c;
}

OpCase conv1d_case(int64_t n, int64_t ch, int64_t k, DType wt, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("conv1d_dw x[%lld,%lld] w[%lld,%lld] %s", (long long)n, (long long)ch,
                    (long long)ch, (long long)k, dtype_name(wt));
    c.desc = {Op::conv1d_dw, DType::f32, wt};
    c.inputs = {random_tensor(rng, DType::f32, {n, ch}), random_tensor(rng, wt, {ch, k})};
    c.outputs = {{DType::f32, {n, ch}}};
    c.call = [](Backend & b, const OpArgs & a) { return b.conv1d_dw(a.in[0], a.in[1], a.out[0]); };
    return c;
}

// has_w false: no weight (Tensor{}), wt unused.
OpCase layer_norm_case(Shape shape, bool has_w, DType wt, bool in_place, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("layer_norm %s w %s%s", shape_str(shape).c_str(),
                    has_w ? dtype_name(wt) : "none", in_place ? " in place" : "");
    c.desc = {Op::layer_norm, DType::f32, has_w ? wt : DType::f32};
    // An offset mean (values in [−1, 3)) so centring matters.
    c.inputs = {random_tensor(rng, DType::f32, shape, -1.0f, 3.0f)};
    if (has_w) c.inputs.push_back(random_tensor(rng, wt, {shape[1]}, 0.5f, 1.5f));
    c.outputs = {{DType::f32, shape, in_place ? 0 : -1}};
    c.call = [has_w, in_place](Backend & b, const OpArgs & a) {
        return b.layer_norm(in_place ? a.out[0] : a.in[0], has_w ? a.in[1] : Tensor{}, 1e-6f,
                            a.out[0]);
    };
    return c;
}

OpCase im2col_case(Shape x, Im2colDesc d, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    const int64_t ho = (x[0] + 2 * d.pad - d.kh) / d.stride + 1;
    const int64_t wo = (x[1] + 2 * d.pad - d.kw) / d.stride + 1;
    c.name = format("im2col x%s k%dx%d s%d p%d", shape_str(x).c_str(), d.kh, d.kw, d.stride, d.pad);
    c.desc = {Op::im2col, DType::f32, DType::f32};
    c.inputs = {random_tensor(rng, DType::f32, x)};
    c.outputs = {{DType::f32, {ho * wo, x[2] * d.kh * d.kw}}};
    c.call = [d](Backend & b, const OpArgs & a) { return b.im2col(a.in[0], d, a.out[0]); };
    return c;
}

OpCase chunk_attention_case(const char * tag, int64_t n, int64_t h, int64_t d,
                            ChunkAttentionDesc desc, uint32_t seed) {
    Rng rng(seed);
    OpCase c;
    c.name = format("chunk_attention %s q[%lld,%lld,%lld] C=%d P=%d cap %g %s", tag, (long long)n,
                    (long long)h, (long long)d, desc.chunk, desc.past, double(desc.cap),
                    desc.mask == ChunkMask::sliding ? "sliding" : "complement");
    c.desc = {Op::chunk_attention, DType::f32, DType::f32};
    // q·k over d values of ±1 reaches a few units for d = 16, more for larger d: the cap bites.
    c.inputs = {random_tensor(rng, DType::f32, {n, h, d}),
                random_tensor(rng, DType::f32, {n, h, d}),
                random_tensor(rng, DType::f32, {n, h, d}),
                random_tensor(rng, DType::f32, {int64_t(desc.past) + 1, h, d})};
    c.outputs = {{DType::f32, {n, h, d}}};
    c.call = [desc](Backend & b, const OpArgs & a) {
        return b.chunk_attention(a.in[0], a.in[1], a.in[2], a.in[3], desc, a.out[0]);
    };
    return c;
}

}  // namespace

std::vector<OpCase> audio_cases() {
    const ChunkAttentionDesc e4b{12, 12, 50.0f, -1e9f, ChunkMask::sliding};
    return {
        activation_case(Activation::silu, {5, 7, 11, 13}, false, 201),
        activation_case(Activation::silu, {3, 10240}, true, 202),
        activation_case(Activation::relu, {4, 64, 33}, false, 203),
        activation_case(Activation::relu, {7, 13}, true, 204),
        glu_case(7, 37, 211),
        glu_case(30, 1024, 212),
        conv1d_case(23, 37, 5, DType::f32, 221),
        conv1d_case(50, 1024, 5, DType::bf16, 222),
        conv1d_case(3, 16, 5, DType::f32, 223),  // shorter than the kernel: all padding-touched
        conv1d_case(9, 8, 1, DType::bf16, 224),
        layer_norm_case({13, 37}, true, DType::bf16, false, 231),
        layer_norm_case({100, 128}, true, DType::f32, true, 232),
        layer_norm_case({5, 32}, false, DType::f32, false, 233),
        layer_norm_case({3, 1000}, true, DType::f32, false, 234),
        im2col_case({11, 13, 1}, {3, 3, 2, 1}, 241),
        im2col_case({9, 7, 5}, {3, 3, 2, 1}, 242),
        im2col_case({40, 64, 16}, {3, 3, 2, 1}, 243),
        im2col_case({6, 5, 3}, {2, 3, 1, 0}, 244),
        chunk_attention_case("odd", 30, 2, 16, {4, 5, 5.0f, -1e9f, ChunkMask::sliding}, 251),
        chunk_attention_case("odd", 30, 2, 16, {4, 5, 5.0f, -1e9f, ChunkMask::complement}, 252),
        chunk_attention_case("short", 5, 3, 7, {12, 12, 50.0f, -1e9f, ChunkMask::sliding}, 253),
        chunk_attention_case("e4b", 58, 8, 128, e4b, 254),
        chunk_attention_case("e4b", 37, 8, 128, {12, 12, 50.0f, -1e9f, ChunkMask::complement}, 255),
    };
}

}  // namespace gemma::test
