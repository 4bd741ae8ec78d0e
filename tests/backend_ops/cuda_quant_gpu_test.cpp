// CUDA q8_0 / q4_0 kernels (ops/matmul_quant*.cu) vs cpu-ref: decode GEMV for 1..8 rows, MMQ
// (int8 tensor cores) for 9..128 rows, the scalar kernel for unaligned x, prefill through
// dequantized bf16 / f32 tiles (one tile and several, scattered into out; also MMQ's off switch),
// get_rows from uploaded (planar) and host (GGUF block) tables. Runs for "cuda", "cuda-f32" and
// "cuda-bf16"; skipped without a GPU. The GEMV and MMQ of the bf16-class precisions round x to
// int8 per 16 (q8_0) / 32 (q4_0) values: they must equal cpu-ref on x rounded the same way
// (x_int8_rounded), and stay near cpu-ref on x itself. MMQ's k splits: summed in the kernel's
// last block per tile, bit for bit as the separate merge kernel; x rounded in its blocks bit for
// bit as mmq_round_x; repeated calls (counters reset, graph replay) give the same bits.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/quant.h"
#include "cuda_harness.h"
#include "cuda_quant_harness.h"
#if GEMMA_HAS_CUDA  // set for targets linking the CUDA backend
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr double kTol = 1e-7;  // exact dequantization, f32 accumulation, other summation order

// n > 8 with 16-bit tiles: each dequantized weight rounded to bf16 (2^-9 relative, NMSE ≈
// 2^-18 / 3 ≈ 1.3e-6); "cuda-bf16" also rounds x once (about as much again).
constexpr double kTileTol = 1e-5;

// Rounding x to int8 moves a dot product by ~0.5 % (NMSE ~2e-5 for uniform x).
constexpr double kInt8XTol = 1e-4;

struct Case {
    int64_t n, k, m;
};

class CudaQuant : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why = open_backends(GetParam(), b_);
        if (!why.empty()) GTEST_SKIP() << why;
    }
    double tile_tol() const { return GetParam() == "cuda-f32" ? kTol : kTileTol; }
    bool int8_x() const { return GetParam() != "cuda-f32"; }
    // Every case with q8_0 and q4_0 weights: the GPU on x equals cpu-ref on x as the GPU rounds
    // it (int8 per 16 / 32 values in the bf16-class precisions; x itself in "cuda-f32") within
    // kTol, and, with int8 x and n·k·m ≤ max_unrounded (cpu-ref time), is within kInt8XTol of
    // cpu-ref on x itself.
    template <size_t N>
    void check_int8_x_cases(const Case (&cases)[N], uint32_t seed, const char * label,
                            int64_t max_unrounded) {
        for (DType t : {DType::q8_0, DType::q4_0}) {
            for (const Case & c : cases) {
                Tensor x = random_host(DType::f32, {c.n, c.k}, seed);
                Tensor w = quantized_host(t, {c.m, c.k}, seed + 1, 0.1f);
                const std::string what =
                    format("matmul %s%s n=%lld k=%lld m=%lld", label, dtype_name(t), (long long)c.n,
                           (long long)c.k, (long long)c.m);
                Tensor xr = int8_x() ? x_int8_rounded(x, t == DType::q8_0 ? 16 : 32) : x;
                expect_match(
                    b_, DType::f32, {c.n, c.m}, kTol,
                    [&](Backend & be, const Tensor & out) {
                        return be.matmul(copy_in(be, &be == b_.ref.get() ? xr : x), put(be, w),
                                         out);
                    },
                    what);
                if (int8_x() && c.n * c.k * c.m <= max_unrounded)
                    expect_match(
                        b_, DType::f32, {c.n, c.m}, kInt8XTol,
                        [&](Backend & be, const Tensor & out) {
                            return be.matmul(copy_in(be, x), put(be, w), out);
                        },
                        what + " (unrounded x)");
            }
        }
    }
    Backends b_;
};

TEST_P(CudaQuant, Supports) {
    for (DType t : {DType::q8_0, DType::q4_0}) {
        EXPECT_TRUE(b_.gpu->supports({Op::matmul, DType::f32, t}));
        EXPECT_TRUE(b_.gpu->supports({Op::get_rows, DType::f32, t}));
        EXPECT_FALSE(b_.gpu->supports({Op::rms_norm, DType::f32, t}));
    }
}

TEST_P(CudaQuant, MatmulDecodeGemv) {
    const Case cases[] = {{1, 2560, 512}, {1, 32, 7},   {2, 96, 33}, {3, 256, 257},
                          {4, 1024, 40},  {5, 64, 100}, {8, 512, 9}, {1, 10240, 64}};
    check_int8_x_cases(cases, 11, "", int64_t(1) << 40);
}

TEST_P(CudaQuant, MatmulUnalignedX) {  // x starts one float into a buffer: the scalar kernel
    const int64_t n = 3, k = 96, m = 45;
    Tensor xs = random_host(DType::f32, {n * k + 1}, 13);
    for (DType t : {DType::q8_0, DType::q4_0}) {
        Tensor w = quantized_host(t, {m, k}, 14, 0.1f);
        expect_match(
            b_, DType::f32, {n, m}, kTol,
            [&](Backend & be, const Tensor & out) {
                Tensor x = tensor_reshape(tensor_rows(copy_in(be, xs), 1, n * k), {n, k});
                return be.matmul(x, put(be, w), out);
            },
            std::string("matmul unaligned x ") + dtype_name(t));
    }
}

// Quantized matmuls through the dequantized tiles: on backends b, which must take that path for
// these n (more than 128 x rows, "cuda-f32", or MMQ turned off).
void expect_tiles_match(Backends & b, const Case * cases, size_t count, double tol,
                        const std::string & tag) {
    for (DType t : {DType::q8_0, DType::q4_0}) {
        for (size_t i = 0; i < count; ++i) {
            const Case & c = cases[i];
            Tensor x = random_host(DType::f32, {c.n, c.k}, 15);
            Tensor w = quantized_host(t, {c.m, c.k}, 16, 0.05f);
            expect_match(
                b, DType::f32, {c.n, c.m}, tol,
                [&](Backend & be, const Tensor & out) {
                    return be.matmul(copy_in(be, x), put(be, w), out);
                },
                format("matmul %s %s n=%lld k=%lld m=%lld", tag.c_str(), dtype_name(t),
                       (long long)c.n, (long long)c.k, (long long)c.m));
        }
    }
}

// k = 8192: 1024-row tiles, so m = 1500 takes two tiles (scattered); the others one.
const Case kTileCases[] = {{9, 64, 11}, {40, 256, 512}, {37, 160, 131}, {64, 8192, 1500}};

TEST_P(CudaQuant, MatmulPrefillTiles) {
    if (!int8_x()) {  // "cuda-f32": every n > 8 takes the f32 tiles
        expect_tiles_match(b_, kTileCases, std::size(kTileCases), kTol, "prefill");
        return;
    }
    const Case above_mmq[] = {{129, 256, 100}, {200, 96, 33}};  // n > kMmqMaxRows
    expect_tiles_match(b_, above_mmq, std::size(above_mmq), tile_tol(), "prefill");
}

// Batched decode (MMQ, ops/matmul_quant_mmq.cu): n = 9..128 in every x-row instantiation (≤ 16,
// 32, 64, 128, full and partial 8-row tiles), E4B shapes (k = 10240 takes many k splits, m =
// 1000 a partial weight tile), k not a multiple of a pipeline stage (one, three, five groups:
// partial stages, odd group counts, scale runs not 16-byte aligned). The bf16-class precisions
// must equal cpu-ref on the int8-rounded x (the same integer sums and scales, other f32 order)
// and (the smaller shapes) stay within kInt8XTol of cpu-ref on x; "cuda-f32" takes the exact
// f32 tiles.
TEST_P(CudaQuant, MatmulBatchedMmq) {
    const Case cases[] = {{9, 2560, 1000},  {16, 2560, 2048},  {32, 10240, 2560}, {33, 2560, 1000},
                          {64, 2560, 1000}, {128, 2560, 1000}, {9, 64, 11},       {37, 160, 131},
                          {40, 96, 33},     {100, 1024, 300},  {24, 32, 130}};
    check_int8_x_cases(cases, 21, "batched ", int64_t(1) << 27);  // cpu-ref time: small ones
}

// MMQ on the same buffers again and again, x rewritten before each step (seeds a, b, a, b, a):
// two launches back to back per step (the split counters must be back at zero for the second,
// and for the next step), the op queue capturing the step's segment on the second step and
// replaying it from the third. Every output within kTol of cpu-ref on the rounded x, and the
// same x gives the same bits on every step and in both launches.
TEST_P(CudaQuant, MatmulBatchedMmqRepeated) {
    if (!int8_x()) GTEST_SKIP() << "cuda-f32 takes the tiles, not MMQ";
    Backend & g = *b_.gpu;
    // k = 10240: many k splits at n = 32 (x rounded in the blocks) and n = 64 (mmq_round_x).
    const Case cases[] = {{32, 10240, 2560}, {64, 2560, 1000}};
    for (DType t : {DType::q4_0, DType::q8_0}) {
        for (const Case & c : cases) {
            const Tensor xs[2] = {random_host(DType::f32, {c.n, c.k}, 31),
                                  random_host(DType::f32, {c.n, c.k}, 32)};
            const Tensor w_host = quantized_host(t, {c.m, c.k}, 33, 0.1f);
            const int64_t group = t == DType::q8_0 ? 16 : 32;
            std::vector<float> ref[2];
            for (int a = 0; a < 2; ++a) {
                auto out = b_.ref->alloc(DType::f32, {c.n, c.m});
                ASSERT_TRUE(out.ok());
                const Tensor xr = x_int8_rounded(xs[a], group);
                ASSERT_TRUE(b_.ref->matmul(put(*b_.ref, xr), put(*b_.ref, w_host), *out).ok());
                ref[a] = read_f32(*b_.ref, *out);
            }
            auto x = g.alloc(DType::f32, {c.n, c.k});
            ASSERT_TRUE(x.ok());
            const Tensor w = put(g, w_host);
            const Guarded out1 = guarded(g, DType::f32, {c.n, c.m}),
                          out2 = guarded(g, DType::f32, {c.n, c.m});
            std::vector<float> first[2];
            for (int step = 0; step < 5; ++step) {
                const int a = step % 2;
                const std::string what =
                    format("repeated mmq %s n=%lld k=%lld m=%lld step %d", dtype_name(t),
                           (long long)c.n, (long long)c.k, (long long)c.m, step);
                ASSERT_TRUE(g.write(*x, xs[a].data, xs[a].nbytes()).ok());
                ASSERT_TRUE(g.matmul(*x, w, out1.view).ok()) << what;
                ASSERT_TRUE(g.matmul(*x, w, out2.view).ok()) << what;
                const std::vector<float> got1 = read_f32(g, out1.view),
                                         got2 = read_f32(g, out2.view);
                EXPECT_LE(nmse(ref[a], got1), kTol) << what;
                EXPECT_EQ(0, std::memcmp(got1.data(), got2.data(), got1.size() * 4))
                    << what << ": the second launch differs";
                if (step < 2)
                    first[a] = got1;
                else
                    EXPECT_EQ(0, std::memcmp(first[a].data(), got1.data(), got1.size() * 4))
                        << what << ": differs from step " << a;
            }
            EXPECT_TRUE(guards_intact(g, out1)) << "repeated mmq: write outside the output";
            EXPECT_TRUE(guards_intact(g, out2)) << "repeated mmq: write outside the output";
        }
    }
#if GEMMA_HAS_CUDA
    auto stats = cuda::cuda_queue_stats(g);
    ASSERT_TRUE(stats.ok());
    const char * env = std::getenv("GEMMA_CUDA_GRAPHS");
    if (!env || std::string(env) != "0") {
        EXPECT_GT(stats->replayed, size_t(0));
    }
#endif
}

TEST_P(CudaQuant, GetRows) {
    Tensor ids = i32_host({0, 36, 5, -1, 37, 5, 12});  // -1 and 37: zero rows
    for (DType t : {DType::q8_0, DType::q4_0}) {
        Tensor table = quantized_host(t, {37, 96}, 17, 1.0f);
        expect_match(
            b_, DType::f32, {7, 96}, kTol,
            [&](Backend & be, const Tensor & out) {
                return be.get_rows(put(be, table), put(be, ids), 1.5f, out);
            },
            std::string("get_rows uploaded ") + dtype_name(t));
        expect_match(  // a table left in host memory keeps the GGUF block layout
            b_, DType::f32, {7, 96}, kTol,
            [&](Backend & be, const Tensor & out) {
                return be.get_rows(table, put(be, ids), 1.5f, out);
            },
            std::string("get_rows host table ") + dtype_name(t));
    }
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaQuant, ::testing::Values("cuda", "cuda-f32", "cuda-bf16"),
                         [](const auto & info) { return test_name(info.param); });

#if GEMMA_HAS_CUDA
// MMQ's off switch (CudaOptions::mmq, env GEMMA_CUDA_MMQ=0): 9..128-row quantized matmuls of the
// bf16-class precisions take the dequantized bf16 tiles again, within the tiles' bound of cpu-ref
// on x (which MMQ's int8 x, NMSE ~2e-5, would exceed).
class CudaQuantMmqOff : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        cuda::CudaOptions o;
        o.precision =
            GetParam() == "cuda-bf16" ? cuda::CudaPrecision::bf16 : cuda::CudaPrecision::split16;
        o.mmq = false;
        auto gpu = cuda::make_cuda_backend(o);
        if (!gpu) GTEST_SKIP() << GetParam() << " unavailable: " << gpu.error().message;
        auto ref = backend_create("cpu-ref");
        ASSERT_TRUE(ref.ok()) << ref.error().message;
        b_.gpu = std::move(*gpu);
        b_.ref = std::move(*ref);
    }
    Backends b_;
};

TEST_P(CudaQuantMmqOff, OptionGivesTiles) {
    expect_tiles_match(b_, kTileCases, std::size(kTileCases), kTileTol, "mmq off");
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaQuantMmqOff, ::testing::Values("cuda", "cuda-bf16"),
                         [](const auto & info) { return test_name(info.param); });

// The GPU's result of x [n, k] · w, read back (an empty vector after a failure).
std::vector<float> gpu_matmul(Backend & b, const Tensor & x, const Tensor & w) {
    auto out = b.alloc(DType::f32, {x.dim(0), w.dim(0)});
    EXPECT_TRUE(out.ok());
    if (!out.ok()) return {};
    Status s = b.matmul(copy_in(b, x), put(b, w), *out);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? read_f32(b, *out) : std::vector<float>{};
}

bool same_bits(const std::vector<float> & a, const std::vector<float> & b) {
    return !a.empty() && a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// MMQ's k splits summed by the last block of each tile (env GEMMA_MMQ_LAST_BLOCK=1; off by
// default) and by the separate merge kernel: the same additions in
// the same order (split 0 first), so the same bits. Shapes with many splits (6-16 on the H200) in
// every x-row instantiation, x rounded in the blocks (n ≤ 32) and by mmq_round_x (n > 32), a
// partial last weight tile (m = 1000).
TEST(CudaQuantMmqSplits, LastBlockSumEqualsMergeKernel) {
    cuda::CudaOptions o;
    o.split_merge_kernel = true;
    auto merge = cuda::make_cuda_backend(o);
    if (!merge) GTEST_SKIP() << "cuda unavailable: " << merge.error().message;
    ::setenv("GEMMA_MMQ_LAST_BLOCK", "1", 1);
    auto last = backend_create("cuda");
    ::unsetenv("GEMMA_MMQ_LAST_BLOCK");
    ASSERT_TRUE(last.ok()) << last.error().message;
    const Case cases[] = {{9, 2560, 1000},  {16, 10240, 2560}, {32, 10240, 2560}, {32, 2560, 2048},
                          {33, 2560, 1000}, {64, 10240, 2560}, {128, 2560, 1000}, {20, 2560, 512}};
    for (DType t : {DType::q8_0, DType::q4_0}) {
        for (const Case & c : cases) {
            Tensor x = random_host(DType::f32, {c.n, c.k}, 41);
            Tensor w = quantized_host(t, {c.m, c.k}, 42, 0.1f);
            EXPECT_TRUE(same_bits(gpu_matmul(**merge, x, w), gpu_matmul(**last, x, w)))
                << format("mmq splits %s n=%lld k=%lld m=%lld", dtype_name(t), (long long)c.n,
                          (long long)c.k, (long long)c.m);
        }
    }
}

// x rounded by each MMQ block (env GEMMA_MMQ_OWN_X_TILES=256: n ≤ 32 and at most 256 weight
// tiles of 128 rows; off by default) and by mmq_round_x (more tiles): the same f32 operations,
// so the same bits. w [32768, k] is rounded in
// the blocks; the same rows plus 128 more (257 tiles) go through mmq_round_x; one k split each
// (tiles ≥ resident blocks on GPUs of fewer than 256 SMs), so the shared rows must agree exactly.
TEST(CudaQuantMmqSplits, OwnXEqualsRoundXKernel) {
    ::setenv("GEMMA_MMQ_OWN_X_TILES", "256", 1);
    Backends b;
    const std::string why = open_backends("cuda", b);
    ::unsetenv("GEMMA_MMQ_OWN_X_TILES");
    if (!why.empty()) GTEST_SKIP() << why;
    const int64_t k = 2560, m_own = 256 * 128, m_kernel = m_own + 128;
    for (DType t : {DType::q8_0, DType::q4_0}) {
        // The same seed: the f32 weights of w_own are the first rows of w_kernel's.
        Tensor w_own = quantized_host(t, {m_own, k}, 51, 0.1f);
        Tensor w_kernel = quantized_host(t, {m_kernel, k}, 51, 0.1f);
        for (int64_t n : {9, 20, 32}) {
            Tensor x = random_host(DType::f32, {n, k}, 52);
            const std::vector<float> own = gpu_matmul(*b.gpu, x, w_own),
                                     kernel = gpu_matmul(*b.gpu, x, w_kernel);
            ASSERT_EQ(own.size(), size_t(n * m_own));
            ASSERT_EQ(kernel.size(), size_t(n * m_kernel));
            bool same = true;
            for (int64_t r = 0; r < n && same; ++r)
                same = std::memcmp(own.data() + r * m_own, kernel.data() + r * m_kernel,
                                   size_t(m_own) * 4) == 0;
            EXPECT_TRUE(same) << "own x vs mmq_round_x " << dtype_name(t) << " n=" << n;
        }
    }
}

TEST(CudaQuantMmqEnv, ZeroGivesTiles) {
    ::setenv("GEMMA_CUDA_MMQ", "0", 1);
    Backends b;
    const std::string why = open_backends("cuda", b);
    ::unsetenv("GEMMA_CUDA_MMQ");
    if (!why.empty()) GTEST_SKIP() << why;
    const Case cases[] = {{32, 2560, 512}};
    expect_tiles_match(b, cases, std::size(cases), kTileTol, "GEMMA_CUDA_MMQ=0");
}
#endif

}  // namespace
}  // namespace gemma::cuda_test
