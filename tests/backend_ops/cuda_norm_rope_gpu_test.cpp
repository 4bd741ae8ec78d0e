// CUDA norm_rope (fusion.h: per-head norms + rope [+ kv_store] as one kernel) at Gemma 4's head
// dims 64 / 128 / 256 / 512 and an odd one: the register kernels of ops/norm_rope.cu are bitwise
// equal to the kernels that re-read the row (GEMMA_NORM_ROPE_REGS=0), close to the unfused ops and
// to cpu-ref; decode steps (block kernel) and prefill chunks (warp kernel: 64+ head rows, not a
// multiple of 8), with and without rope and kv_store, for every cache type. Skipped without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "core/kv_quant.h"
#include "cuda_harness.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::cuda_test {
namespace {

constexpr int64_t kHq = 8, kHkv = 2, kSlots = 32;  // E4B's heads; n <= kSlots: distinct slots
constexpr int32_t kPos0 = 1000;                    // far enough to wrap the ring

// What the decoder records for one chunk (model/gemma4/attention.cpp): the k/v per-head norms
// only (a "norm2" record), + rope (q's and k/v's norm_rope, joined), + kv_store.
enum class Mode { norms, rope, store };

const char * mode_name(Mode m) {
    return m == Mode::norms ? "norms" : m == Mode::rope ? "norm+rope" : "norm+rope+kv_store";
}

struct Case {
    int64_t d, n;  // head dim, tokens
    Mode mode;
    DType cache, weights;
};

std::string case_name(const Case & c) {
    return format("d %lld n %lld %s cache %s weights %s", (long long)c.d, (long long)c.n,
                  mode_name(c.mode), dtype_name(c.cache), dtype_name(c.weights));
}

// One backend's tensors for a case: q, k, v guarded (poisoned elements around them), caches
// zeroed.
struct Rig {
    Guarded q, k, v;
    Tensor q_norm, k_norm, freqs, pos, kc, vc;
};

Tensor zeroed_cache(Backend & b, DType type, int64_t d) {
    auto t = b.alloc(type, {kSlots, kHkv, d});
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return Tensor{};
    std::vector<uint8_t> zeros(t->nbytes(), 0);
    EXPECT_TRUE(b.write(*t, zeros.data(), zeros.size()).ok());
    return *t;
}

Rig make_rig(Backend & b, const Case & c) {
    Rig r;
    const int64_t d = c.d, n = c.n;
    r.q = guarded(b, DType::f32, {n, kHq, d});
    r.k = guarded(b, DType::f32, {n, kHkv, d});
    r.v = guarded(b, DType::f32, {n, kHkv, d});
    for (auto [g, seed] : {std::pair{&r.q, 11u}, {&r.k, 12u}, {&r.v, 13u}}) {
        Tensor host = random_host(DType::f32, g->view.shape, seed + uint32_t(d), -2.0f, 2.0f);
        EXPECT_TRUE(b.write(g->view, host.data, host.nbytes()).ok());
    }
    r.q_norm = put(b, random_host(c.weights, {d}, 21, 0.8f, 1.2f));
    r.k_norm = put(b, random_host(c.weights, {d}, 22, 0.8f, 1.2f));
    Tensor f = tensor_host(DType::f32, {d / 2});
    for (int64_t i = 0; i < d / 2; ++i)
        f.ptr<float>()[i] = std::pow(10000.0f, -2.0f * float(i) / float(d));
    r.freqs = put(b, f);
    std::vector<int32_t> pos;
    for (int64_t i = 0; i < n; ++i) pos.push_back(kPos0 + int32_t(i));
    r.pos = put(b, i32_host(pos));
    r.kc = zeroed_cache(b, c.cache, d);
    r.vc = zeroed_cache(b, c.cache, d);
    return r;
}

// The ops of the case, as attention.cpp issues them.
Status record(Backend & b, Rig & r, const Case & c) {
    const int64_t d = c.d, n = c.n;
    Tensor qh = tensor_reshape(r.q.view, {n * kHq, d});
    Tensor kh = tensor_reshape(r.k.view, {n * kHkv, d}),
           vh = tensor_reshape(r.v.view, {n * kHkv, d});
    if (c.mode != Mode::norms) {
        GEMMA_TRY(b.rms_norm(qh, r.q_norm, 1e-6f, qh));
        GEMMA_TRY(b.rope(r.q.view, r.pos, r.freqs, r.q.view));
    }
    GEMMA_TRY(b.rms_norm(kh, r.k_norm, 1e-6f, kh));
    GEMMA_TRY(b.rms_norm(vh, Tensor{}, 1e-6f, vh));
    if (c.mode == Mode::norms) return Status::success();
    GEMMA_TRY(b.rope(r.k.view, r.pos, r.freqs, r.k.view));
    if (c.mode == Mode::rope) return Status::success();
    return b.kv_store(r.k.view, r.v.view, r.pos, r.kc, r.vc);
}

struct Out {
    std::vector<float> qkv;       // q, k, v after the ops
    std::vector<uint8_t> kc, vc;  // the caches' bytes
    bool guards_ok = true;
};

std::vector<uint8_t> read_bytes(Backend & b, const Tensor & t) {
    std::vector<uint8_t> bytes(t.nbytes());
    EXPECT_TRUE(b.read(t, bytes.data(), bytes.size()).ok());
    return bytes;
}

Out run(Backend & b, const Case & c) {
    Rig r = make_rig(b, c);
    Status s = record(b, r, c);
    EXPECT_TRUE(s.ok()) << s.error().message;
    Out o;
    for (const Guarded * g : {&r.q, &r.k, &r.v}) {
        std::vector<float> part = read_f32(b, g->view);
        o.qkv.insert(o.qkv.end(), part.begin(), part.end());
        o.guards_ok = o.guards_ok && guards_intact(b, *g);
    }
    o.kc = read_bytes(b, r.kc);
    o.vc = read_bytes(b, r.vc);
    return o;
}

std::vector<float> widen(DType type, const std::vector<uint8_t> & bytes, int64_t d) {
    std::vector<float> f(size_t(kSlots * kHkv * d));
    kv_row_load(type, bytes.data(), f.data(), int64_t(f.size()));
    return f;
}

// Cache values may differ by one rounding step of the cache type where a 1-ulp difference in the
// normalized, rotated value (summation order, FMA contraction) crosses a rounding boundary:
// q8_0 1.01 · max|block| / 127, bf16 one ulp of the block's largest value (<= 2^-7 relative),
// f32 1e-5 · max|block| (cpu-ref's sums in another order).
void expect_cache_close(const std::vector<float> & ref, const std::vector<float> & got, DType type,
                        const std::string & what) {
    ASSERT_EQ(ref.size(), got.size()) << what;
    for (size_t b = 0; b < ref.size(); b += 32) {
        float amax = 0.0f;
        for (size_t j = b; j < std::min(ref.size(), b + 32); ++j)
            amax = std::max(amax, std::fabs(ref[j]));
        const float tol = type == DType::q8_0   ? 1.01f * amax / 127.0f
                          : type == DType::bf16 ? amax * 0.0079f
                                                : 1e-5f * amax;
        for (size_t j = b; j < std::min(ref.size(), b + 32); ++j)
            ASSERT_LE(std::fabs(ref[j] - got[j]), tol + 1e-6f) << what << " value " << j;
    }
}

class CudaNormRope : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why = open_backends("cuda", b_);
        if (!why.empty()) GTEST_SKIP() << why;
        setenv("GEMMA_NORM_ROPE_REGS", "0", 1);
        auto reread = backend_create("cuda");
        unsetenv("GEMMA_NORM_ROPE_REGS");
        ASSERT_TRUE(reread.ok()) << reread.error().message;
        reread_ = std::move(*reread);
        setenv("GEMMA_CUDA_FUSE", "0", 1);
        auto plain = backend_create("cuda");
        unsetenv("GEMMA_CUDA_FUSE");
        ASSERT_TRUE(plain.ok()) << plain.error().message;
        plain_ = std::move(*plain);
    }

    void check(const Case & c) {
        const std::string what = case_name(c);
        Out regs = run(*b_.gpu, c), reread = run(*reread_, c), plain = run(*plain_, c),
            ref = run(*b_.ref, c);
        EXPECT_TRUE(regs.guards_ok && reread.guards_ok) << what << ": write outside q, k or v";
        // The register kernels repeat the re-reading kernels' f32 operations in the same order.
        ASSERT_EQ(regs.qkv.size(), reread.qkv.size()) << what;
        EXPECT_EQ(std::memcmp(regs.qkv.data(), reread.qkv.data(), regs.qkv.size() * 4), 0)
            << what << ": q / k / v bits differ from GEMMA_NORM_ROPE_REGS=0";
        EXPECT_TRUE(regs.kc == reread.kc && regs.vc == reread.vc)
            << what << ": cache bytes differ from GEMMA_NORM_ROPE_REGS=0";
        // Fused kernels repeat the unfused f32 operations; only FMA contraction may differ.
        EXPECT_LE(nmse(plain.qkv, regs.qkv), 1e-12) << what << " vs unfused";
        // cpu-ref: f32 sums of squares in another order.
        EXPECT_LE(nmse(ref.qkv, regs.qkv), 1e-9) << what << " vs cpu-ref";
        const int64_t d = c.d;
        for (auto [r, p, g] :
             {std::tuple{&ref.kc, &plain.kc, &regs.kc}, {&ref.vc, &plain.vc, &regs.vc}}) {
            std::vector<float> got = widen(c.cache, *g, d);
            expect_cache_close(widen(c.cache, *r, d), got, c.cache, what + " cache vs cpu-ref");
            expect_cache_close(widen(c.cache, *p, d), got, c.cache, what + " cache vs unfused");
        }
    }

    // Fused records so far on the register and the re-reading backend (equal: the same fusions).
    void expect_fused(size_t at_least) {
#if GEMMA_HAS_CUDA
        auto a = cuda::cuda_queue_stats(*b_.gpu), b = cuda::cuda_queue_stats(*reread_);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(a->fused, b->fused);
        EXPECT_GE(a->fused, at_least);
#else
        (void)at_least;
#endif
    }

    Backends b_;
    std::unique_ptr<Backend> reread_, plain_;
};

// Decode: one token's 12 head rows (4 with the norms only), the block kernel (norm_threads(d)
// threads per row).
TEST_F(CudaNormRope, DecodeStepsMatchRereadUnfusedAndReference) {
    size_t cases = 0;
    for (int64_t d : {64, 128, 256, 512, 96})
        for (Mode m : {Mode::norms, Mode::rope, Mode::store})
            for (DType cache : {DType::f32, DType::bf16, DType::q8_0}) {
                if (m != Mode::store && cache != DType::f32) continue;  // no cache written
                check({d, 1, m, cache, d == 128 ? DType::f32 : DType::bf16});
                ++cases;
            }
    // Each case folds at least one op (norms: 1; rope: q's rope, k's norm, rope and the q join).
    expect_fused(cases);
}

// Prefill chunks: 13 and 21 tokens are 156 / 252 head rows with q (the q join), 52 / 84 without
// it (norms only: the block kernel at 13 tokens, the warp kernel at 21); the warp kernel's last
// block of 8 rows is half empty.
TEST_F(CudaNormRope, PrefillChunksMatchRereadUnfusedAndReference) {
    size_t cases = 0;
    for (int64_t n : {13, 21})
        for (int64_t d : {64, 128, 256, 512, 96})
            for (Mode m : {Mode::norms, Mode::rope, Mode::store})
                for (DType cache : {DType::f32, DType::bf16, DType::q8_0}) {
                    if (m != Mode::store && cache != DType::f32) continue;
                    check({d, n, m, cache, d == 256 ? DType::f32 : DType::bf16});
                    ++cases;
                }
    expect_fused(cases);
}

}  // namespace
}  // namespace gemma::cuda_test
