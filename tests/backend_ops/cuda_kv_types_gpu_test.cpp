// CUDA KV caches of every type (f32, bf16, q8_0) against cpu-ref: kv_store writes byte-identical
// caches (the same quantizer, ops/kv_quant.cuh), attention over them matches (split-KV path
// included), q8_0 rows copy as bytes, and the decode fusion that stores K/V from the norm_rope
// kernel stays fused and equal to the unfused kernels. Skipped without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "core/registry.h"
#include "kv_types_util.h"
#if GEMMA_HAS_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace gemma::kv_test {
namespace {

struct Pair {
    std::unique_ptr<Backend> ref, gpu;
};

// Empty on success, else why the GPU backend cannot run here.
std::string open_pair(const std::string & gpu_name, Pair & p) {
    auto gpu = backend_create(gpu_name);
    if (!gpu) return gpu_name + " unavailable: " + gpu.error().message;
    auto ref = backend_create("cpu-ref");
    if (!ref) return "cpu-ref unavailable: " + ref.error().message;
    p.gpu = std::move(*gpu);
    p.ref = std::move(*ref);
    return "";
}

std::string type_name(DType t) { return dtype_name(t); }

class CudaKvTypes : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why = open_pair(GetParam(), b_);
        if (!why.empty()) GTEST_SKIP() << why;
    }
    Pair b_;
};

TEST_P(CudaKvTypes, SupportsCacheTypes) {
    for (DType t : {DType::f32, DType::bf16, DType::q8_0}) {
        EXPECT_TRUE(b_.gpu->supports({Op::kv_store, DType::f32, t})) << type_name(t);
        EXPECT_TRUE(b_.gpu->supports({Op::attention, DType::f32, t})) << type_name(t);
    }
    EXPECT_FALSE(b_.gpu->supports({Op::attention, DType::f32, DType::f16}));
    EXPECT_TRUE(b_.gpu->supports({Op::copy, DType::q8_0, DType::q8_0}));
    EXPECT_FALSE(b_.gpu->supports({Op::copy, DType::q8_0, DType::f32}));
}

TEST_P(CudaKvTypes, MatchReference) {
    std::vector<Scenario> all = scenarios();
    all.push_back({"e4b full decode, long context (split KV)", 8, 2, 512, 4096, 0, 3000, 1, {}});
    // Chunks of >= 16 queries take the tensor-core kernel (attention_tc.cu) except in cuda-f32.
    all.push_back(
        {"e4b sliding prefill, ring wrapped (tensor cores)", 8, 2, 256, 575, 512, 1000, 64, {}});
    all.push_back({"full prefill after history (tensor cores)", 4, 1, 128, 256, 0, 100, 40, {}});
    for (DType type : {DType::f32, DType::bf16, DType::q8_0}) {
        for (const Scenario & s : all) {
            std::string what = type_name(type) + " " + s.name;
            KvRun r = run_scenario(*b_.ref, s, type), g = run_scenario(*b_.gpu, s, type);
            EXPECT_TRUE(g.guards_ok) << what << ": write outside a cache or the output";
            // Same f32 operations in the same order per value (kv_quant.h / kv_quant.cuh).
            EXPECT_TRUE(r.k_bytes == g.k_bytes) << what << ": k_cache bytes differ";
            EXPECT_TRUE(r.v_bytes == g.v_bytes) << what << ": v_cache bytes differ";
            // SIMT kernel: f32 scores and softmax as cpu-ref, only summation order and exp
            // rounding differ. Tensor-core kernel: q, k, v rounded to f16 (bf16 and q8_0 values
            // too), scores and softmax in f32 (the bound of cuda_attention_gpu_test.cpp).
            bool tc = GetParam() != "cuda-f32" && s.n >= 16;
            EXPECT_LE(nmse(r.out, g.out), tc ? 2e-5 : 1e-7) << what;
        }
    }
}

TEST_P(CudaKvTypes, Q8RowsCopyAsBytes) {
    Tensor vals = host_f32({6, 2, 32}, 40, -1.0f, 1.0f);
    Tensor src_host = tensor_host(DType::q8_0, {6, 2, 32});
    kv_row_store(DType::q8_0, vals.ptr<float>(), src_host.data, vals.numel());
    // KV rows are alloc()ed and written, never upload()ed (upload repacks q8_0 *weights* into
    // the GEMV's planar layout).
    auto src_dev = b_.gpu->alloc(DType::q8_0, {6, 2, 32});
    ASSERT_TRUE(src_dev.ok());
    ASSERT_TRUE(b_.gpu->write(*src_dev, src_host.data, src_host.nbytes()).ok());
    Tensor src = *src_dev;
    auto dst = b_.gpu->alloc(DType::q8_0, {6, 2, 32});
    ASSERT_TRUE(dst.ok());
    ASSERT_TRUE(b_.gpu->copy(tensor_rows(src, 1, 3), tensor_rows(*dst, 2, 3)).ok());
    std::vector<uint8_t> got(dst->nbytes());
    ASSERT_TRUE(b_.gpu->read(*dst, got.data(), got.size()).ok());
    size_t rb = got.size() / 6;
    EXPECT_EQ(std::memcmp(got.data() + 2 * rb, src_host.ptr<uint8_t>() + rb, 3 * rb), 0);
    EXPECT_TRUE(std::all_of(got.begin(), got.begin() + std::ptrdiff_t(2 * rb),
                            [](uint8_t v) { return v == 0; }));
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaKvTypes, testing::Values("cuda", "cuda-f32", "cuda-bf16"),
                         [](const auto & info) {
                             std::string n = info.param;
                             std::replace(n.begin(), n.end(), '-', '_');
                             return n;
                         });

// ---- the fused norm_rope + kv_store path (fusion.h), as the decoder issues it ----

constexpr int64_t kHq = 4, kHkv = 2, kSlots = 16;

struct Toy {
    int64_t d = 0;
    Tensor k_norm, freqs, pos, q, k, v, kc, vc, att;
};

Toy make_toy(Backend & b, DType type, int64_t d) {
    Toy t;
    t.d = d;
    Tensor w = host_f32({d}, 3, 0.8f, 1.2f);
    t.k_norm = put(b, w);
    Tensor f = tensor_host(DType::f32, {d / 2});
    for (int64_t i = 0; i < d / 2; ++i)
        f.ptr<float>()[i] = std::pow(10000.0f, -2.0f * float(i) / d);
    t.freqs = put(b, f);
    t.pos = *b.alloc(DType::i32, {3});
    t.q = *b.alloc(DType::f32, {3, kHq, d});
    t.k = *b.alloc(DType::f32, {3, kHkv, d});
    t.v = *b.alloc(DType::f32, {3, kHkv, d});
    t.att = *b.alloc(DType::f32, {3, kHq, d});
    t.kc = *b.alloc(type, {kSlots, kHkv, d});
    t.vc = *b.alloc(type, {kSlots, kHkv, d});
    return t;
}

// n tokens at p0: k/v from seeds, per-head norms, rope(k), kv_store, attention (as attention.cpp).
// Returns the caches widened to f32, then the attention output.
std::vector<float> step(Backend & b, Toy & t, DType type, int32_t p0, int64_t n) {
    const int64_t d = t.d;
    std::vector<int32_t> pos = iota(p0, n);
    Tensor k = host_f32({n, kHkv, d}, uint32_t(10 + p0), -2.0f, 2.0f);
    Tensor v = host_f32({n, kHkv, d}, uint32_t(500 + p0), -2.0f, 2.0f);
    Tensor q = host_f32({n, kHq, d}, uint32_t(900 + p0), -1.0f, 1.0f);
    EXPECT_TRUE(b.write(t.pos, pos.data(), pos.size() * 4).ok());
    EXPECT_TRUE(b.write(t.k, k.data, k.nbytes()).ok());
    EXPECT_TRUE(b.write(t.v, v.data, v.nbytes()).ok());
    EXPECT_TRUE(b.write(t.q, q.data, q.nbytes()).ok());
    Tensor k3 = tensor_rows(t.k, 0, n), v3 = tensor_rows(t.v, 0, n), pv = tensor_rows(t.pos, 0, n);
    Tensor kh = tensor_reshape(k3, {n * kHkv, d}), vh = tensor_reshape(v3, {n * kHkv, d});
    Tensor att = tensor_rows(t.att, 0, n);
    for (Status s :
         {b.rms_norm(kh, t.k_norm, 1e-6f, kh), b.rms_norm(vh, Tensor{}, 1e-6f, vh),
          b.rope(k3, pv, t.freqs, k3), b.kv_store(k3, v3, pv, t.kc, t.vc),
          b.attention(tensor_rows(t.q, 0, n), t.kc, t.vc, pv, Tensor{}, AttentionDesc{}, att)})
        EXPECT_TRUE(s.ok()) << s.error().message;
    std::vector<float> all;
    for (const Tensor * c : {&t.kc, &t.vc}) {
        std::vector<uint8_t> bytes(c->nbytes());
        EXPECT_TRUE(b.read(*c, bytes.data(), bytes.size()).ok());
        std::vector<float> f = dequantize(type, bytes, c->numel());
        all.insert(all.end(), f.begin(), f.end());
    }
    std::vector<uint8_t> out(att.nbytes());
    EXPECT_TRUE(b.read(att, out.data(), out.size()).ok());
    std::vector<float> f = as_floats(out);
    all.insert(all.end(), f.begin(), f.end());
    return all;
}

// Cache values may differ by one quantization step where a 1-ulp difference in the normalized,
// rotated k/v (summation order, FMA contraction) moves a value across a rounding boundary:
// |a − b| <= 1.01 · max|block| / 127 (q8_0) or one bf16 ulp of the block's largest value
// (<= 2^-7 relative), 1e-5 · max|block| for f32; and NMSE <= 1e-6 overall. The same bound covers
// the attention outputs computed from such caches.
void expect_close(const std::vector<float> & ref, const std::vector<float> & got, DType type,
                  const std::string & what) {
    ASSERT_EQ(ref.size(), got.size()) << what;
    for (size_t b = 0; b < ref.size(); b += 32) {
        float amax = 0.0f;
        for (size_t j = b; j < std::min(ref.size(), b + 32); ++j)
            amax = std::max(amax, std::fabs(ref[j]));
        for (size_t j = b; j < std::min(ref.size(), b + 32); ++j) {
            float tol = type == DType::q8_0   ? 1.01f * amax / 127.0f
                        : type == DType::bf16 ? amax * 0.0079f
                                              : 1e-5f * amax;
            ASSERT_LE(std::fabs(ref[j] - got[j]), tol + 1e-6f) << what << " value " << j;
        }
    }
    EXPECT_LE(nmse(ref, got), 1e-6) << what;
}

TEST(CudaKvTypesFusion, NormRopeStoreMatchesUnfusedAndReference) {
    Pair b;
    std::string why = open_pair("cuda", b);
    if (!why.empty()) GTEST_SKIP() << why;
    setenv("GEMMA_CUDA_FUSE", "0", 1);
    auto plain = backend_create("cuda");
    unsetenv("GEMMA_CUDA_FUSE");
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    [[maybe_unused]] size_t fused_before = 0;  // used with the CUDA module only
    for (int64_t d : {64, 16}) {  // 16: the tiny model's head_dim, q8_0 blocks span 2 heads
        for (DType type : {DType::f32, DType::bf16, DType::q8_0}) {
            Toy ref = make_toy(*b.ref, type, d), gpu = make_toy(*b.gpu, type, d),
                off = make_toy(**plain, type, d);
            // 1-token decode steps past the 16-slot ring, then 3-token chunks (the gemv path).
            for (int32_t p = 0; p < 24;) {
                int64_t n = p < 18 ? 1 : 3;
                std::string what =
                    type_name(type) + " d " + std::to_string(d) + " step at " + std::to_string(p);
                std::vector<float> r = step(*b.ref, ref, type, p, n),
                                   g = step(*b.gpu, gpu, type, p, n),
                                   o = step(**plain, off, type, p, n);
                expect_close(r, g, type, what + " vs cpu-ref");
                expect_close(o, g, type, what + " vs unfused");
                p += int32_t(n);
            }
#if GEMMA_HAS_CUDA
            // Per step the second norm, rope and kv_store fold into one norm_rope record (3
            // fused); a q8_0 cache whose head rows are not whole blocks (d 16) keeps kv_store
            // apart (2 fused). 20 steps.
            size_t per_step = type == DType::q8_0 && d % 32 != 0 ? 2 : 3;
            auto stats = cuda::cuda_queue_stats(*b.gpu);
            ASSERT_TRUE(stats.ok());
            EXPECT_EQ(stats->fused - fused_before, per_step * 20) << type_name(type) << " d " << d;
            fused_before = stats->fused;
#endif
        }
    }
}

}  // namespace
}  // namespace gemma::kv_test
