// The (discard) elision of the CUDA backend (backends/cuda/fusion.h): after Backend::discard(t)
// a pending row_fuse or gelu_tanh_mul (round) leaves out its f32 store of t when nothing since
// read it. Checked against the same backend with it off (GEMMA_CUDA_FUSE_DISCARD=0): everything
// not discarded bitwise the same, the discarded buffers still holding what was there before (a
// sentinel, or a's input) exactly where a store was left out, written as usual where a reader
// sat in between, and the elision counter exact. Without a GPU the tests are skipped.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cuda_layer_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr float kSentinel = -1234.5f;  // never an output of these ops' inputs

struct Case {
    const char * backend;  // "cuda": blas_split (hi + lo); "cuda-bf16": blas_lowp (hi)
    DType weights;
    double ref_tol;  // against cpu-ref: as cuda_fusion_round_gpu_test (the same layer)
};

// Elements of v that are not bitwise `want`.
size_t count_not(const std::vector<float> & v, float want) {
    return size_t(std::count_if(
        v.begin(), v.end(), [&](float f) { return std::memcmp(&f, &want, sizeof(float)) != 0; }));
}

void fill(Backend & b, const Tensor & t, float v) {
    std::vector<float> host(size_t(t.numel()), v);
    EXPECT_TRUE(b.write(t, host.data(), host.size() * sizeof(float)).ok());
}

void expect_ok(const Status & s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); }

// The layer's buffers and four more for the reader sequences (DiscardReaders).
struct DiscardBuffers : LayerBuffers {
    Guarded y, o, a2, x2;
};

DiscardBuffers discard_buffers(Backend & b) {
    DiscardBuffers f;
    static_cast<LayerBuffers &>(f) = layer_buffers(b, 330);
    auto g = [&](int64_t width) { return guarded(b, DType::f32, {kMaxRows, width}); };
    f.y = g(kF), f.o = g(kD), f.a2 = g(kD), f.x2 = g(kD);
    return f;
}

// A decoder layer in the order of model/gemma4 (text.cpp mlp_block, ple.cpp, attention.cpp,
// attention itself left out: o reads q) with the model's discards. Elided on the blas path (more
// than kMmaMaxRows rows): a after each of the three tails' adds, x after gate/up and after
// q/k/v, the gelu outputs after down and after the PLE projection; with fewer rows (mma
// matmuls read x's f32, so neither x nor the gelu outputs are rounded) the three a's only.
size_t layer_elisions(int64_t n) { return n > 64 ? 7 : 3; }
Status layer_ops(Backend & b, const LayerWeights & w, const DiscardBuffers & f, int64_t n) {
    const float eps = 1e-6f;
    Tensor a = rows(f.a.view, n), h = rows(f.h.view, n), x = rows(f.x.view, n);
    Tensor g = rows(f.g.view, n), u = rows(f.u.view, n), pg = rows(f.pg.view, n);
    Tensor q = rows(f.q.view, n), k = rows(f.k.view, n), v = rows(f.v.view, n);
    GEMMA_TRY(b.rms_norm(a, w.n1, eps, a));  // post-attention tail, pre-FFN norm
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.discard(a));
    GEMMA_TRY(b.rms_norm(h, w.n2, eps, x));
    GEMMA_TRY(b.matmul(x, w.wg, g));
    GEMMA_TRY(b.matmul(x, w.wu, u));
    GEMMA_TRY(b.discard(x));
    GEMMA_TRY(b.gelu_tanh_mul(g, u, g));
    GEMMA_TRY(b.discard(u));
    GEMMA_TRY(b.matmul(g, w.wd, a));
    GEMMA_TRY(b.discard(g));
    GEMMA_TRY(b.rms_norm(a, w.n3, eps, a));  // post-FFN tail
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.discard(a));
    GEMMA_TRY(b.matmul(h, w.wp, pg));
    GEMMA_TRY(b.gelu_tanh_mul(pg, rows(f.ple, n), pg));
    GEMMA_TRY(b.matmul(pg, w.wpp, a));
    GEMMA_TRY(b.discard(pg));
    GEMMA_TRY(b.rms_norm(a, w.n4, eps, a));  // PLE tail, layer scalar, next input norm
    GEMMA_TRY(b.add(h, a, h));
    GEMMA_TRY(b.discard(a));
    GEMMA_TRY(b.mul(h, w.scalar, h));
    GEMMA_TRY(b.rms_norm(h, w.n5, eps, x));
    GEMMA_TRY(b.matmul(x, w.wq, q));
    GEMMA_TRY(b.matmul(x, w.wk, k));
    GEMMA_TRY(b.matmul(x, w.wv, v));
    GEMMA_TRY(b.discard(x));
    return b.matmul(q, w.wo, a);
}

struct StepOut {
    std::vector<float> kept;  // h, q, k, v, a: not discarded at the end
    std::vector<float> x;     // discarded: the sentinel where both of its stores were left out
};

// Writes h0, a0 and the sentinel into x (n rows), runs layer_ops, reads back; guards checked.
StepOut layer_step(Backend & b, const LayerWeights & w, const DiscardBuffers & f, const Tensor & h0,
                   const Tensor & a0, int64_t n) {
    const size_t bytes = size_t(n * kD) * sizeof(float);
    EXPECT_TRUE(b.write(rows(f.h.view, n), h0.data, bytes).ok());
    EXPECT_TRUE(b.write(rows(f.a.view, n), a0.data, bytes).ok());
    fill(b, rows(f.x.view, n), kSentinel);
    expect_ok(layer_ops(b, w, f, n));
    StepOut out;
    for (const Guarded * o : {&f.h, &f.q, &f.k, &f.v, &f.a}) {
        std::vector<float> part = read_f32(b, rows(o->view, n));
        out.kept.insert(out.kept.end(), part.begin(), part.end());
    }
    out.x = read_f32(b, rows(f.x.view, n));
    for (const Guarded * o : {&f.a, &f.h, &f.x, &f.g, &f.u, &f.pg, &f.q, &f.k, &f.v})
        EXPECT_TRUE(guards_intact(b, *o)) << "write outside an output";
    return out;
}

// cpu-ref and the GPU backend (b), and the same GPU backend with the elision off (off).
class CudaFusionDiscard : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        const std::string why = open_backends(GetParam().backend, b);
        if (!why.empty()) GTEST_SKIP() << why;
        off = backend_with_env(GetParam().backend, "GEMMA_CUDA_FUSE_DISCARD", "0");
        ASSERT_TRUE(off);
    }
    Backends b;
    std::unique_ptr<Backend> off;
};

TEST_P(CudaFusionDiscard, LayerSameAsStoringEverything) {
    const Case c = GetParam();
    const LayerWeights wr = layer_weights(*b.ref, c.weights, 300),
                       wg = layer_weights(*b.gpu, c.weights, 300),
                       wo = layer_weights(*off, c.weights, 300);
    const DiscardBuffers fr = discard_buffers(*b.ref), fg = discard_buffers(*b.gpu),
                         fo = discard_buffers(*off);
    const Tensor h0 = random_host(DType::f32, {kMaxRows, kD}, 340),
                 a0 = random_host(DType::f32, {kMaxRows, kD}, 341, -3.0f, 3.0f);
    size_t want = 0;
    for (int64_t n : {int64_t(16), int64_t(65), kMaxRows}) {
        const StepOut r = layer_step(*b.ref, wr, fr, h0, a0, n);
        // Twice: eager, then the same records again (a repeated segment is captured as a graph).
        for (int run = 0; run < 2; ++run) {
            const StepOut g = layer_step(*b.gpu, wg, fg, h0, a0, n),
                          o = layer_step(*off, wo, fo, h0, a0, n);
            EXPECT_LE(nmse(r.kept, g.kept), c.ref_tol) << "n " << n << " run " << run;
            EXPECT_EQ(first_bit_difference(o.kept, g.kept), -1) << "n " << n << " run " << run;
            // Off, x holds the q/k/v input; on, the blas path stored none of x's f32 values,
            // while with 16 rows the mma matmuls read them (no elision: the same x as off).
            EXPECT_EQ(count_not(o.x, kSentinel), o.x.size()) << "n " << n;
            if (n > 64)
                EXPECT_EQ(count_not(g.x, kSentinel), size_t(0)) << "n " << n << " run " << run;
            else
                EXPECT_EQ(first_bit_difference(o.x, g.x), -1) << "n " << n << " run " << run;
            want += layer_elisions(n);
        }
    }
    EXPECT_EQ(queue_counts(*b.gpu).writes_elided,
              want);  // exact: one missing elision in any run shows
    EXPECT_EQ(queue_counts(*off).writes_elided, size_t(0));
}

// The three patterns on 96 rows (blas path), run with nothing reading the discarded buffers
// before their discards (all three stores left out), then with one reader in between at a time
// (that buffer stored as usual), then with only half of x's rows discarded (x's store is not
// inside them: stored):
//   a: rms_norm(a) → add(h, a, h) [→ scale(a) → a2] → discard(a)
//   x: rms_norm(h) → x → matmul(x, wg) → matmul(x, wu) [→ add(x, h) → x2] → discard(x)
//   y: gelu_tanh_mul(g, u) → y → matmul(y, wd) [→ copy(y → g)] → discard(y)
// The a reader also ends the row_fuse before x's norm (it is no longer the last record), so x
// then comes from a plain rms_norm and gate's matmul reads its f32 values: x stored too.
constexpr int64_t kSeqRows = 96;
enum class Reader { none, a, x, y };

struct SeqOut {
    std::vector<float> kept, a, x, y;
};

SeqOut tail_step(Backend & b, const LayerWeights & w, const DiscardBuffers & f, const Tensor & h0,
                 const Tensor & a0, Reader reader, bool half_x) {
    const int64_t n = kSeqRows;
    const float eps = 1e-6f;
    const size_t bytes = size_t(n * kD) * sizeof(float);
    Tensor a = rows(f.a.view, n), h = rows(f.h.view, n), x = rows(f.x.view, n);
    Tensor g = rows(f.g.view, n), u = rows(f.u.view, n), y = rows(f.y.view, n);
    Tensor o = rows(f.o.view, n), a2 = rows(f.a2.view, n), x2 = rows(f.x2.view, n);
    EXPECT_TRUE(b.write(h, h0.data, bytes).ok());
    EXPECT_TRUE(b.write(a, a0.data, bytes).ok());
    fill(b, x, kSentinel);
    fill(b, y, kSentinel);
    expect_ok(b.rms_norm(a, w.n1, eps, a));
    expect_ok(b.add(h, a, h));
    if (reader == Reader::a) expect_ok(b.scale(a, 0.5f, a2));
    expect_ok(b.discard(a));
    expect_ok(b.rms_norm(h, w.n2, eps, x));
    expect_ok(b.matmul(x, w.wg, g));
    expect_ok(b.matmul(x, w.wu, u));
    if (reader == Reader::x) expect_ok(b.add(x, h, x2));
    expect_ok(b.discard(half_x ? rows(x, n / 2) : x));
    expect_ok(b.gelu_tanh_mul(g, u, y));
    expect_ok(b.matmul(y, w.wd, o));
    if (reader == Reader::y) expect_ok(b.copy(y, g));
    expect_ok(b.discard(y));
    SeqOut out;
    for (const Tensor & t : {h, g, u, o, a2, x2}) {
        std::vector<float> part = read_f32(b, t);
        out.kept.insert(out.kept.end(), part.begin(), part.end());
    }
    out.a = read_f32(b, a), out.x = read_f32(b, x), out.y = read_f32(b, y);
    for (const Guarded * t : {&f.a, &f.h, &f.x, &f.g, &f.u, &f.y, &f.o, &f.a2, &f.x2})
        EXPECT_TRUE(guards_intact(b, *t)) << "write outside an output";
    return out;
}

TEST_P(CudaFusionDiscard, ElidesOnlyUnreadStores) {
    const Case c = GetParam();
    const LayerWeights wg = layer_weights(*b.gpu, c.weights, 300),
                       wo = layer_weights(*off, c.weights, 300);
    const DiscardBuffers fg = discard_buffers(*b.gpu), fo = discard_buffers(*off);
    const Tensor h0 = random_host(DType::f32, {kMaxRows, kD}, 350),
                 a0 = random_host(DType::f32, {kMaxRows, kD}, 351, -3.0f, 3.0f);
    const std::vector<float> a_in(a0.ptr<float>(), a0.ptr<float>() + kSeqRows * kD);
    struct Run {
        Reader reader;
        bool half_x;
        bool a_left, x_left, y_left;  // whether the store is expected to be left out
        const char * what;
    };
    const Run runs[] = {{Reader::none, false, true, true, true, "no readers"},
                        {Reader::a, false, false, false, true, "a read"},
                        {Reader::x, false, true, false, true, "x read"},
                        {Reader::y, false, true, true, false, "y read"},
                        {Reader::none, true, true, false, true, "half of x discarded"}};
    size_t want = 0;
    for (const Run & r : runs) {
        const SeqOut g = tail_step(*b.gpu, wg, fg, h0, a0, r.reader, r.half_x),
                     o = tail_step(*off, wo, fo, h0, a0, r.reader, r.half_x);
        EXPECT_EQ(first_bit_difference(o.kept, g.kept), -1) << r.what;
        // Off stores everything: a normalized, x and y over their sentinels.
        EXPECT_NE(first_bit_difference(a_in, o.a), -1) << r.what;
        EXPECT_EQ(count_not(o.x, kSentinel), o.x.size()) << r.what;
        EXPECT_EQ(count_not(o.y, kSentinel), o.y.size()) << r.what;
        // On: what was there before where a store was left out, else bitwise off's values.
        EXPECT_EQ(first_bit_difference(r.a_left ? a_in : o.a, g.a), -1) << r.what << ": a";
        if (r.x_left)
            EXPECT_EQ(count_not(g.x, kSentinel), size_t(0)) << r.what << ": x";
        else
            EXPECT_EQ(first_bit_difference(o.x, g.x), -1) << r.what << ": x";
        if (r.y_left)
            EXPECT_EQ(count_not(g.y, kSentinel), size_t(0)) << r.what << ": y";
        else
            EXPECT_EQ(first_bit_difference(o.y, g.y), -1) << r.what << ": y";
        want += size_t(r.a_left) + size_t(r.x_left) + size_t(r.y_left);
        EXPECT_EQ(queue_counts(*b.gpu).writes_elided, want) << r.what;
    }
    EXPECT_EQ(queue_counts(*off).writes_elided, size_t(0));
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaFusionDiscard,
                         ::testing::Values(Case{"cuda", DType::bf16, 1e-7},
                                           Case{"cuda-bf16", DType::bf16, 1e-4},
                                           Case{"cuda-bf16", DType::f16, 1e-5}),
                         [](const ::testing::TestParamInfo<Case> & i) {
                             return test_name(i.param.backend) + "_" + dtype_name(i.param.weights);
                         });

}  // namespace
}  // namespace gemma::cuda_test
