// CUDA kv_store + attention vs cpu-ref: ring buffers that wrapped, sliding windows, causal
// prefill chunks, bidirectional blocks, GQA, Gemma 4 E4B head sizes (256 sliding, 512 full) and
// long contexts that take the split-KV (flash-decoding) path; both prefill kernels (attention_fa,
// attention_tc) forced through CudaOptions over every KV cache type. Skipped without a GPU.
#include "cuda_harness.h"
#include "kv_types_util.h"

#include <cstdlib>  // setenv: GEMMA_FA512_V1
#include <string>
#if GEMMA_HAS_CUDA  // set for targets linking the CUDA backend
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

using AttnCase = kv_test::Scenario;  // the KV type tests' kv_store + attention scenario

std::vector<int32_t> iota(int64_t from, int64_t n) {
    std::vector<int32_t> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(int32_t(from + i));
    return v;
}

// Stores the history and the chunk's K/V, then runs attention for the chunk on backend b.
std::vector<float> run_case(Backend & b, const AttnCase & c) {
    auto kc = b.alloc(DType::f32, {c.slots, c.hkv, c.d});
    auto vc = b.alloc(DType::f32, {c.slots, c.hkv, c.d});
    EXPECT_TRUE(kc.ok() && vc.ok());
    if (!kc.ok() || !vc.ok()) return {};
    int64_t chunk = std::min<int64_t>(64, c.slots);  // one kv_store never wraps onto itself
    auto store = [&](int64_t from, int64_t n, uint32_t seed) {
        Tensor k = random_host(DType::f32, {n, c.hkv, c.d}, seed, -2.0f, 2.0f);
        Tensor v = random_host(DType::f32, {n, c.hkv, c.d}, seed + 1);
        Status s = b.kv_store(put(b, k), put(b, v), put(b, i32_host(iota(from, n))), *kc, *vc);
        EXPECT_TRUE(s.ok()) << s.error().message;
    };
    for (int64_t t = 0; t < c.n_hist; t += chunk)
        store(t, std::min(chunk, c.n_hist - t), uint32_t(100 + t));
    store(c.n_hist, c.n, 7);
    Tensor q = random_host(DType::f32, {c.n, c.hq, c.d}, 8, -2.0f, 2.0f);
    Guarded out = guarded(b, DType::f32, {c.n, c.hq, c.d});
    Tensor blocks = c.blocks.empty() ? Tensor{} : put(b, i32_host(c.blocks));
    AttentionDesc desc;
    desc.window = c.window;
    Status s = b.attention(put(b, q), *kc, *vc, put(b, i32_host(iota(c.n_hist, c.n))), blocks, desc,
                           out.view);
    EXPECT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(guards_intact(b, out)) << c.name << ": write outside the output";
    return read_f32(b, out.view);
}

class CudaAttention : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why = open_backends(GetParam(), b_);
        if (!why.empty()) GTEST_SKIP() << why;
    }
    // SIMT kernel (decode, cuda-f32): f32 scores and softmax like cpu-ref, only summation order
    // and exp rounding differ. Tensor-core kernel: q, k, v rounded to f16.
    double bound(const AttnCase & c) const {
        bool tc = GetParam() != "cuda-f32" && c.n >= 16;
        return tc ? 2e-5 : 1e-7;
    }
    Backends b_;
};

TEST_P(CudaAttention, MatchesReference) {
    const std::vector<int32_t> blocks = {-1, -1, 0, 0, 0, 0, -1, 1, 1, -1};
    const AttnCase cases[] = {
        {"sliding decode, ring wrapped", 4, 2, 16, 8, 8, 40, 1, {}},
        {"full prefill chunk", 4, 2, 32, 64, 0, 20, 13, {}},
        {"sliding prefill chunk", 4, 2, 16, 20, 8, 30, 13, {}},
        {"prefill from position 0", 8, 2, 256, 64, 0, 0, 37, {}},
        {"first token", 4, 1, 32, 16, 0, 0, 1, {}},
        {"bidirectional blocks", 4, 2, 16, 64, 0, 5, 10, blocks},
        {"bidirectional blocks, sliding", 4, 2, 16, 13, 4, 5, 10, blocks},
        {"odd head dim", 6, 3, 40, 30, 0, 10, 5, {}},
        {"e4b sliding decode", 8, 2, 256, 512, 512, 1000, 1, {}},
        {"e4b full decode, long context (split KV)", 8, 2, 512, 4096, 0, 3000, 1, {}},
        {"e4b full, 3 queries", 8, 2, 512, 1024, 0, 700, 3, {}},
    };
    for (const AttnCase & c : cases) {
        std::vector<float> ref = run_case(*b_.ref, c), got = run_case(*b_.gpu, c);
        EXPECT_LE(nmse(ref, got), bound(c)) << c.name;
    }
}

// Chunks of >= 16 queries take the tensor-core kernel (attention_tc.cu) except in cuda-f32:
// q, k, v rounded to f16 there, scores and softmax in f32.
TEST_P(CudaAttention, PrefillChunksMatchReference) {
    std::vector<int32_t> blocks(40, -1);
    for (int i = 5; i < 30; ++i) blocks[size_t(i)] = i < 17 ? 0 : 1;
    const AttnCase cases[] = {
        {"e4b full prefill from 0, partial last tile", 8, 2, 512, 256, 0, 0, 150, {}},
        {"e4b sliding prefill, ring wrapped", 8, 2, 256, 575, 512, 1000, 64, {}},
        {"full prefill after history", 4, 1, 128, 256, 0, 100, 40, {}},
        {"sliding window smaller than the chunk", 4, 2, 64, 80, 16, 30, 50, {}},
        {"bidirectional blocks, sliding", 4, 2, 64, 128, 24, 10, 40, blocks},
        {"bidirectional blocks, full", 4, 2, 256, 128, 0, 0, 40, blocks},
    };
    for (const AttnCase & c : cases) {
        std::vector<float> ref = run_case(*b_.ref, c), got = run_case(*b_.gpu, c);
        double e = nmse(ref, got);
        EXPECT_LE(e, bound(c)) << c.name;
        std::printf("%s [%s]: nmse %.3g\n", c.name, GetParam().c_str(), e);
    }
}

TEST_P(CudaAttention, KvStoreWritesRingSlots) {
    auto run = [](Backend & b) {
        auto kc = b.alloc(DType::f32, {5, 2, 4});
        auto vc = b.alloc(DType::f32, {5, 2, 4});
        Tensor k = random_host(DType::f32, {3, 2, 4}, 30),
               v = random_host(DType::f32, {3, 2, 4}, 31);
        EXPECT_TRUE(b.kv_store(put(b, k), put(b, v), put(b, i32_host({6, 7, 8})), *kc, *vc).ok());
        std::vector<float> a = read_f32(b, *kc), c = read_f32(b, *vc);
        a.insert(a.end(), c.begin(), c.end());
        return a;
    };
    EXPECT_EQ(run(*b_.ref), run(*b_.gpu));  // plain copies: exact
}

// Paged attention (Op::attention_paged): three sequences' rows in one call, pages of 16 rows
// handed out in a shuffled order, a long context that takes the split path, sliding and full;
// pools of each KV type (bf16 / q8_0 pools written by the backend's own kv_store from the same
// f32 rows: every backend stores the same bytes, core/kv_quant.h).
std::vector<float> run_paged(Backend & b, int window, DType pool_type) {
    const int64_t hq = 8, hkv = 2, d = 256, page = 16, n_pages = 40, rows = n_pages * page;
    Tensor kp = put(b, random_host(DType::f32, {rows, hkv, d}, 41, -2.0f, 2.0f));
    Tensor vp = put(b, random_host(DType::f32, {rows, hkv, d}, 42));
    if (pool_type != DType::f32) {
        auto k = b.alloc(pool_type, {rows, hkv, d}), v = b.alloc(pool_type, {rows, hkv, d});
        EXPECT_TRUE(k.ok() && v.ok());
        if (!k.ok() || !v.ok()) return {};
        std::vector<int32_t> slots(static_cast<size_t>(rows));
        for (int32_t i = 0; i < int32_t(rows); ++i) slots[size_t(i)] = i;
        Status st = b.kv_store(kp, vp, put(b, i32_host(slots)), *k, *v);
        EXPECT_TRUE(st.ok()) << st.error().message;
        kp = *k;
        vp = *v;
    }
    std::vector<int32_t> perm(static_cast<size_t>(n_pages));
    for (int32_t i = 0; i < int32_t(n_pages); ++i)
        perm[size_t(i)] = (i * 17 + 5) % int32_t(n_pages);
    // seq 0: pages perm[0..20), seq 1: perm[20..24), seq 2: perm[24..40) (row-padded with 0).
    std::vector<int32_t> pages(size_t(3 * 20), 0);
    for (int i = 0; i < 20; ++i) pages[size_t(i)] = perm[size_t(i)];
    for (int i = 0; i < 4; ++i) pages[size_t(20 + i)] = perm[size_t(20 + i)];
    for (int i = 0; i < 16; ++i) pages[size_t(40 + i)] = perm[size_t(24 + i)];
    const std::vector<int32_t> pos = {300, 37, 100, 101, 102, 103, 104},
                               seq = {0, 1, 2, 2, 2, 2, 2};
    const int64_t n = int64_t(pos.size());
    Tensor q = random_host(DType::f32, {n, hq, d}, 43, -2.0f, 2.0f);
    Guarded out = guarded(b, DType::f32, {n, hq, d});
    AttentionDesc desc;
    desc.window = window;
    Status s = b.attention_paged(
        put(b, q), kp, vp, put(b, i32_host(pos)), put(b, i32_host(seq)),
        put(b, tensor_reshape(i32_host(pages), {3, 20})), int(page), desc, out.view);
    EXPECT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(guards_intact(b, out)) << "paged: write outside the output";
    return read_f32(b, out.view);
}

TEST_P(CudaAttention, PagedMatchesReference) {
    for (DType t : {DType::f32, DType::bf16, DType::q8_0}) {
        // The pool step must take the paged kernel for every cache type (kv_pool.cpp asks).
        EXPECT_TRUE(b_.gpu->supports({Op::attention_paged, DType::f32, t})) << dtype_name(t);
        for (int window : {0, 64}) {
            std::vector<float> ref = run_paged(*b_.ref, window, t),
                               got = run_paged(*b_.gpu, window, t);
            ASSERT_EQ(ref.size(), got.size());
            EXPECT_LE(nmse(ref, got), 1e-7) << dtype_name(t) << " window " << window;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaAttention, ::testing::Values("cuda", "cuda-f32", "cuda-bf16"),
                         [](const auto & info) { return test_name(info.param); });

#if GEMMA_HAS_CUDA
// The prefill kernels forced through CudaOptions::attention ("cuda" takes attention_fa where it
// applies, sm_80+, so attention_tc is covered only here). Chunks of >= 16 queries: q, k, v
// rounded to f16 (bf16 and q8_0 cache values too), scores and softmax in f32: the 2e-5 bound of
// the tensor-core cases above.
// A CUDA backend made with the options under test, cpu-ref, and the comparison of both on
// attention scenarios for every cache type (NMSE against cpu-ref within `bound`, no write outside
// a cache or the output). P: the test parameter.
template <class P>
class CudaOptionsVsRef : public ::testing::TestWithParam<P> {
protected:
    void open(const cuda::CudaOptions & options) {
        auto gpu = cuda::make_cuda_backend(options);
        if (!gpu) GTEST_SKIP() << "cuda unavailable: " << gpu.error().message;
        auto ref = backend_create("cpu-ref");
        ASSERT_TRUE(ref.ok()) << ref.error().message;
        gpu_ = std::move(*gpu);
        ref_ = std::move(*ref);
    }
    template <class Cases>
    void check_cases(const Cases & cases, double bound, bool print) {
        for (DType type : {DType::f32, DType::bf16, DType::q8_0}) {
            for (const AttnCase & c : cases) {
                std::string what = std::string(dtype_name(type)) + " " + c.name;
                kv_test::KvRun r = kv_test::run_scenario(*ref_, c, type);
                kv_test::KvRun g = kv_test::run_scenario(*gpu_, c, type);
                EXPECT_TRUE(g.guards_ok) << what << ": write outside a cache or the output";
                double e = nmse(r.out, g.out);
                EXPECT_LE(e, bound) << what;
                if (print) std::printf("%s: nmse %.3g\n", what.c_str(), e);
            }
        }
    }
    std::unique_ptr<Backend> gpu_, ref_;
};

// The D = 512 cases of attention_fa (CudaFa512 below).
std::vector<AttnCase> fa512_cases() {
    std::vector<int32_t> blocks(40, -1);
    for (int i = 5; i < 30; ++i) blocks[size_t(i)] = i < 17 ? 0 : 1;
    return {
        // G = 8: 16 queries a pair, 8 a 64-row block: 3 pairs, the last one half full.
        {"d 512 gqa 8, partial last row block", 8, 1, 512, 256, 0, 20, 40, {}},
        // G = 1: 128 queries a pair (3, the last of 44), 64 a block; 350 keys: a partial tile.
        {"d 512 mha, 3 row blocks of 128", 2, 2, 512, 400, 0, 50, 300, {}},
        // G = 2: 64 queries a pair; slots ≥ window + n − 1, history past the ring's end.
        {"d 512 gqa 2 sliding, ring wrapped, 3 row blocks", 4, 2, 512, 250, 100, 200, 140, {}},
        {"d 512 bidirectional blocks, sliding", 8, 2, 512, 128, 24, 10, 40, blocks},
        {"d 512 bidirectional blocks after history", 8, 2, 512, 128, 0, 30, 40, blocks},
    };
}

// GetParam(): true = GEMMA_FA512_V1=1 (read when the backend is made), the 64-row kernel.
class CudaFa512 : public CudaOptionsVsRef<bool> {
protected:
    void SetUp() override {
        if (GetParam()) setenv("GEMMA_FA512_V1", "1", 1);
        open({.attention = cuda::CudaAttention::fa});
        unsetenv("GEMMA_FA512_V1");
    }
};

class CudaPrefillKernels : public CudaOptionsVsRef<cuda::CudaAttention> {
protected:
    void SetUp() override { open({.attention = GetParam()}); }
};

// The prefill scenarios of every head dim (CudaPrefillKernels, CudaFaVariant below).
std::vector<AttnCase> prefill_cases() {
    std::vector<int32_t> blocks(40, -1);
    for (int i = 5; i < 30; ++i) blocks[size_t(i)] = i < 17 ? 0 : 1;
    const std::vector<int32_t> image(280, 0);  // one bidirectional block (vision tower)
    return {
        {"e4b full prefill from 0, partial last tile", 8, 2, 512, 256, 0, 0, 150, {}},
        {"e4b full prefill after history", 8, 2, 512, 512, 0, 300, 100, {}},
        {"e4b sliding prefill, ring wrapped", 8, 2, 256, 575, 512, 1000, 64, {}},
        {"full prefill after history, d 128", 4, 1, 128, 256, 0, 100, 40, {}},
        {"sliding window smaller than the chunk, d 64", 4, 2, 64, 80, 16, 30, 50, {}},
        {"gqa 8, d 256", 8, 1, 256, 200, 0, 30, 70, {}},
        {"bidirectional blocks, sliding", 4, 2, 64, 128, 24, 10, 40, blocks},
        {"bidirectional blocks, full, d 512", 4, 2, 512, 128, 0, 0, 40, blocks},
        {"vision: mha d 64, one block of 280", 4, 4, 64, 300, 0, 0, 280, image},
        // attention_fa stages key tiles of 32 (d 64, 256, 512) or 64 (d 128) keys from the
        // block's first key on: keys whose ring slot wraps inside a tile, tiles past the block's
        // last key, several row blocks (128 rows; 64 for d 512), history before the chunk.
        {"d 64 sliding, ring wrapped inside a tile", 4, 2, 64, 200, 64, 300, 130, {}},
        {"d 128 sliding, ring wrapped inside a tile", 8, 2, 128, 160, 100, 250, 60, {}},
        {"e4b sliding, ring wrapped, 6 row blocks", 8, 2, 256, 700, 512, 600, 180, {}},
        {"d 512 sliding, ring wrapped inside a tile", 8, 2, 512, 200, 128, 300, 60, {}},
        {"bidirectional blocks after history, d 128", 4, 2, 128, 128, 0, 20, 40, blocks},
        {"bidirectional blocks, sliding, d 256", 8, 2, 256, 128, 24, 10, 40, blocks},
    };
}

TEST_P(CudaPrefillKernels, MatchReferenceForEveryCacheType) {
    check_cases(prefill_cases(), 2e-5, true);
    check_cases(fa512_cases(), 2e-5, true);
}

// attention_fa at D = 512 on sm_90 (f32 / bf16 caches): clusters of two blocks, each 128 rows
// (128 / G queries) over half of D, partial S added across the pair, 32-key tiles, two staging
// buffers; q8_0 and GEMMA_FA512_V1=1: blocks of 64 rows (64 / G queries), one staging buffer.
// Row blocks of both kinds with a partial last one, GQA groups of 1, 2, 4 and 8, keys past the
// block's last key in its last tile, rings wrapped inside a tile, windows, bidirectional blocks.
TEST_P(CudaFa512, MatchReferenceForEveryCacheType) { check_cases(fa512_cases(), 2e-5, true); }

INSTANTIATE_TEST_SUITE_P(Cuda, CudaFa512, ::testing::Values(false, true), [](const auto & info) {
    return std::string(info.param ? "V1" : "Default");
});

// Split-KV decode (few queries, long contexts: the key range split over blocks): the splits merged
// by the last split block (default) and by the separate merge kernel, both against cpu-ref, for
// every cache type, on the per-sequence kernel (attention.cu).
class CudaSplitMerge : public CudaOptionsVsRef<bool> {  // true: the merge kernel
protected:
    void SetUp() override { open({.split_merge_kernel = GetParam()}); }
};

TEST_P(CudaSplitMerge, MatchReferenceForEveryCacheType) {
    const AttnCase cases[] = {
        {"e4b full decode, long context", 8, 2, 512, 4096, 0, 3000, 1, {}},
        {"e4b sliding decode, ring wrapped", 8, 2, 256, 512, 512, 1000, 1, {}},
        {"e4b full, 3 queries", 8, 2, 512, 1024, 0, 700, 3, {}},
        {"mha d 64, 2 queries", 4, 4, 64, 2048, 0, 1500, 2, {}},
        // 4 blocks of (query, head): 64 splits (kMaxSplits) at 132 SMs, more than the 32 a
        // D = 256 merge loads ahead (attention.cu kMergeSplits).
        {"d 256 gqa 4, one query, 64 splits", 4, 1, 256, 4096, 0, 3000, 1, {}},
    };
    for (int rep = 0; rep < 2; ++rep) {  // the counters must be back at zero for the next call
        check_cases(cases, 1e-7, false);  // f32 products (the decode bound of this file)
    }
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaSplitMerge, ::testing::Values(false, true),
                         [](const auto & info) {
                             return std::string(info.param ? "MergeKernel" : "InLastBlock");
                         });

INSTANTIATE_TEST_SUITE_P(Cuda, CudaPrefillKernels,
                         ::testing::Values(cuda::CudaAttention::fa, cuda::CudaAttention::tc),
                         [](const auto & info) {
                             return std::string(info.param == cuda::CudaAttention::fa ? "fa"
                                                                                      : "tc");
                         });
#endif

}  // namespace
}  // namespace gemma::cuda_test
