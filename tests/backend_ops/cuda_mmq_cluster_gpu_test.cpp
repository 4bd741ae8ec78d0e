// MMQ's k splits summed through a thread-block cluster (env GEMMA_MMQ_CLUSTER=1, sm_90+) vs the
// merge kernel (ops/matmul_quant_mmq.cu): the same bits for the same split count, within kTol of
// cpu-ref on the rounded x, at most 8 splits, the same bits on repeated launches and graph replay.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/quant.h"
#include "cuda_harness.h"
#include "cuda_quant_harness.h"
#if GEMMA_HAS_CUDA  // set for targets linking the CUDA backend
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

#if GEMMA_HAS_CUDA

constexpr double kTol = 1e-7;  // exact dequantization, f32 accumulation, other summation order

// Sets an environment variable for its lifetime (value null: unsets it), then restores it.
class ScopedEnv {
public:
    ScopedEnv(const char * name, const char * value) : name_(name) {
        if (const char * old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv &) = delete;
    ScopedEnv & operator=(const ScopedEnv &) = delete;

private:
    const char * name_;
    std::optional<std::string> old_;
};

// A "cuda" backend made with GEMMA_MMQ_CLUSTER (null: unset), GEMMA_MMQ_SPLIT_STAGES and
// GEMMA_MMQ_OWN_X_TILES set (read when the backend is made; "256": n ≤ 32 rounds x in the MMQ
// blocks, "0": in mmq_round_x) and no last-block sums. Null (why in *error) if it cannot be made.
std::unique_ptr<Backend> make_gpu(const char * cluster, const char * split_stages,
                                  const char * own_x_tiles = "0", std::string * error = nullptr) {
    ScopedEnv c("GEMMA_MMQ_CLUSTER", cluster), s("GEMMA_MMQ_SPLIT_STAGES", split_stages),
        o("GEMMA_MMQ_OWN_X_TILES", own_x_tiles), l("GEMMA_MMQ_LAST_BLOCK", nullptr);
    auto b = backend_create("cuda");
    if (!b.ok() && error) *error = b.error().message;
    return b.ok() ? std::move(*b) : nullptr;
}

// out [n, m] = x · wᵀ on backend b, read back (empty after a failure).
std::vector<float> matmul_on(Backend & b, const Tensor & x, const Tensor & w) {
    auto out = b.alloc(DType::f32, {x.dim(0), w.dim(0)});
    EXPECT_TRUE(out.ok());
    if (!out.ok()) return {};
    const Status s = b.matmul(copy_in(b, x), put(b, w), *out);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? read_f32(b, *out) : std::vector<float>{};
}

bool same_bits(const std::vector<float> & a, const std::vector<float> & b) {
    return !a.empty() && a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// k for which matmul_quant_mmq_splits picks `splits` splits with GEMMA_MMQ_SPLIT_STAGES=2 on a
// GPU with at least 8 resident blocks per weight tile (the shapes below have ≤ 3 tiles): each
// split two stages of kGroups (8) groups of 16 (q8_0) / 32 (q4_0) values.
int64_t k_for_splits(DType t, int64_t splits) {
    return splits * 2 * 8 * (t == DType::q8_0 ? 16 : 32);
}

struct Shape2 {
    int64_t n, m;
};

class CudaMmqCluster : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        merge_ = make_gpu(nullptr, "2", "0", &why);
        if (!merge_) GTEST_SKIP() << "cuda unavailable: " << why;
        cluster_ = make_gpu("1", "2");
        ASSERT_TRUE(cluster_);
        auto ref = backend_create("cpu-ref");
        ASSERT_TRUE(ref.ok()) << ref.error().message;
        ref_ = std::move(*ref);
    }
    // cpu-ref on x rounded as MMQ rounds it.
    std::vector<float> reference(const Tensor & x, const Tensor & w, DType t) {
        return matmul_on(*ref_, x_int8_rounded(x, t == DType::q8_0 ? 16 : 32), w);
    }
    std::unique_ptr<Backend> merge_, cluster_, ref_;
};

// 1, 2, 3, 5 and 8 splits; x rows in every instantiation up to 64 (and one of 100), x rounded
// by mmq_round_x and (n ≤ 32) in the blocks; 2 and 3 weight tiles with a partial last one
// (m = 130: 2 rows in it; 300: 44). The cluster sums give the merge kernel's bits and stay
// within kTol of cpu-ref.
TEST_F(CudaMmqCluster, SumEqualsMergeKernel) {
    const std::unique_ptr<Backend> merge_own = make_gpu(nullptr, "2", "256"),
                                   cluster_own = make_gpu("1", "2", "256");
    ASSERT_TRUE(merge_own && cluster_own);
    const Shape2 shapes[] = {{9, 300}, {16, 130}, {32, 130}, {33, 300}, {64, 300}, {100, 130}};
    for (DType t : {DType::q8_0, DType::q4_0}) {
        for (int64_t splits : {1, 2, 3, 5, 8}) {
            const int64_t k = k_for_splits(t, splits);
            for (const Shape2 & s : shapes) {
                const std::string what =
                    format("mmq cluster %s n=%lld k=%lld m=%lld (%lld splits)", dtype_name(t),
                           (long long)s.n, (long long)k, (long long)s.m, (long long)splits);
                const Tensor x = random_host(DType::f32, {s.n, k}, 61);
                const Tensor w = quantized_host(t, {s.m, k}, 62);
                const std::vector<float> merged = matmul_on(*merge_, x, w),
                                         clustered = matmul_on(*cluster_, x, w);
                EXPECT_TRUE(same_bits(merged, clustered)) << what;
                EXPECT_LE(nmse(reference(x, w, t), clustered), kTol) << what;
                if (s.n > 32) continue;  // x rounded in the blocks only up to 32 rows
                EXPECT_TRUE(same_bits(matmul_on(*merge_own, x, w), matmul_on(*cluster_own, x, w)))
                    << what << " (x rounded in the blocks)";
            }
        }
    }
}

// More splits than a cluster holds: with GEMMA_MMQ_SPLIT_STAGES=2, k = 4096 (q8_0) / 8192
// (q4_0) is 16 splits for the merge kernel but at most 8 with clusters, the bits of the merge
// kernel made to split 8 ways (GEMMA_MMQ_SPLIT_STAGES=4) and not those of its 16-way split. That
// the cap took effect also shows that the cluster kernel ran: matmul_quant_mmq_splits caps only
// where clusters of that size can be resident, and the launch then takes the cluster kernel.
TEST_F(CudaMmqCluster, SplitsCappedAtEight) {
    const std::unique_ptr<Backend> merge8 = make_gpu(nullptr, "4");
    ASSERT_TRUE(merge8);
    const std::string gpu = cluster_->info().description;
    bool sm90 = false;  // data-center GPUs with clusters: the cap must happen there
    for (const char * name : {"H100", "H200", "H800", "H20", "B100", "B200", "B300"})
        sm90 = sm90 || gpu.find(name) != std::string::npos;
    for (DType t : {DType::q8_0, DType::q4_0}) {
        const int64_t n = 24, k = t == DType::q8_0 ? 4096 : 8192, m = 130;
        const Tensor x = random_host(DType::f32, {n, k}, 71);
        const Tensor w = quantized_host(t, {m, k}, 72);
        const std::vector<float> split16 = matmul_on(*merge_, x, w),
                                 split8 = matmul_on(*merge8, x, w),
                                 clustered = matmul_on(*cluster_, x, w);
        const std::string what =
            format("mmq cluster cap %s k=%lld on %s", dtype_name(t), (long long)k, gpu.c_str());
        if (!sm90 && same_bits(split16, clustered))
            GTEST_SKIP() << "no thread-block clusters on this GPU (sm_90+): " << gpu;
        ASSERT_FALSE(same_bits(split16, split8)) << what << ": the split counts did not differ";
        EXPECT_TRUE(same_bits(split8, clustered)) << what;
        EXPECT_LE(nmse(reference(x, w, t), clustered), kTol) << what;
    }
}

// The cluster path on the same buffers again and again, x rewritten before each step (seeds a,
// b, a, b, a): two launches back to back per step, the op queue capturing the step's segment on
// the second step and replaying it from the third. Every output has the merge kernel's bits for
// its x, in both launches of every step; nothing is written outside the output.
TEST_F(CudaMmqCluster, RepeatedAndGraphReplay) {
    Backend & g = *cluster_;
    for (DType t : {DType::q4_0, DType::q8_0}) {
        for (const Shape2 & s : {Shape2{32, 300}, Shape2{64, 130}}) {
            const int64_t k = k_for_splits(t, s.n == 32 ? 8 : 5);
            const Tensor xs[2] = {random_host(DType::f32, {s.n, k}, 81),
                                  random_host(DType::f32, {s.n, k}, 82)};
            const Tensor w_host = quantized_host(t, {s.m, k}, 83);
            const std::vector<float> want[2] = {matmul_on(*merge_, xs[0], w_host),
                                                matmul_on(*merge_, xs[1], w_host)};
            EXPECT_LE(nmse(reference(xs[0], w_host, t), want[0]), kTol);
            auto x = g.alloc(DType::f32, {s.n, k});
            ASSERT_TRUE(x.ok());
            const Tensor w = put(g, w_host);
            const Guarded out1 = guarded(g, DType::f32, {s.n, s.m}),
                          out2 = guarded(g, DType::f32, {s.n, s.m});
            for (int step = 0; step < 5; ++step) {
                const int a = step % 2;
                const std::string what =
                    format("repeated mmq cluster %s n=%lld k=%lld m=%lld step %d", dtype_name(t),
                           (long long)s.n, (long long)k, (long long)s.m, step);
                ASSERT_TRUE(g.write(*x, xs[a].data, xs[a].nbytes()).ok());
                ASSERT_TRUE(g.matmul(*x, w, out1.view).ok()) << what;
                ASSERT_TRUE(g.matmul(*x, w, out2.view).ok()) << what;
                EXPECT_TRUE(same_bits(want[a], read_f32(g, out1.view))) << what << " (first)";
                EXPECT_TRUE(same_bits(want[a], read_f32(g, out2.view))) << what << " (second)";
            }
            EXPECT_TRUE(guards_intact(g, out1)) << "repeated mmq cluster: write outside the output";
            EXPECT_TRUE(guards_intact(g, out2)) << "repeated mmq cluster: write outside the output";
        }
    }
    auto stats = cuda::cuda_queue_stats(g);
    ASSERT_TRUE(stats.ok());
    const char * env = std::getenv("GEMMA_CUDA_GRAPHS");
    if (!env || std::string(env) != "0") {
        EXPECT_GT(stats->replayed, size_t(0));
    }
}

#endif  // GEMMA_HAS_CUDA

}  // namespace
}  // namespace gemma::cuda_test
