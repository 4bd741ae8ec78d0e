// The cpu-ref ops the decoder relies on, on hand-computed cases: attention masks (causal, sliding
// window, ring-buffer validity, bidirectional vision blocks), RoPE pairing and the spec's RoPE
// frequencies, rms_norm, gelu_tanh, softcap, and shape errors instead of crashes.
#include <gtest/gtest.h>

#include <cmath>

#include "core/registry.h"
#include "model/gemma4/text.h"

using namespace gemma;

namespace {

std::unique_ptr<Backend> cpu_ref() { return backend_create("cpu-ref").value(); }

Tensor f32(Shape s, std::vector<float> v = {}) {
    Tensor t = tensor_host(DType::f32, std::move(s));
    for (size_t i = 0; i < v.size(); ++i) t.ptr<float>()[i] = v[i];
    return t;
}

Tensor i32(std::vector<int32_t> v) {
    Tensor t = tensor_host(DType::i32, {int64_t(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.ptr<int32_t>()[i] = v[i];
    return t;
}

// Keys all zero -> equal scores -> uniform weights over visible keys. Value of position t is the
// one-hot e_t, so out[j] = 1/|visible| when key j is visible, else 0: the output *is* the mask.
struct MaskCase {
    int n_pos;                       // positions stored so far (0 .. n_pos-1)
    int slots;                       // cache slots (ring when < n_pos)
    std::vector<int32_t> query_pos;  // one chunk: consecutive
    std::vector<int32_t> blocks;     // optional
    int window;
};

std::vector<std::vector<float>> visible(const MaskCase & c) {
    auto b = cpu_ref();
    const int64_t D = c.n_pos;  // one-hot over all positions
    Tensor kc = f32({c.slots, 1, D}), vc = f32({c.slots, 1, D});
    for (int t = 0; t < c.n_pos; ++t) {
        Tensor kt = f32({1, 1, D}), vt = f32({1, 1, D});
        vt.ptr<float>()[t] = 1.0f;
        EXPECT_TRUE(b->kv_store(kt, vt, i32({t}), kc, vc).ok());
    }
    int n = int(c.query_pos.size());
    Tensor q = f32({n, 1, D}), out = f32({n, 1, D});
    AttentionDesc desc{1.0f, c.window};
    Tensor blocks = c.blocks.empty() ? Tensor{} : i32(c.blocks);
    EXPECT_TRUE(b->attention(q, kc, vc, i32(c.query_pos), blocks, desc, out).ok());
    std::vector<std::vector<float>> rows;
    for (int i = 0; i < n; ++i)
        rows.emplace_back(out.ptr<float>() + i * D, out.ptr<float>() + (i + 1) * D);
    return rows;
}

void expect_visible(const std::vector<float> & row, std::vector<int> keys) {
    for (size_t t = 0; t < row.size(); ++t) {
        bool vis = std::find(keys.begin(), keys.end(), int(t)) != keys.end();
        EXPECT_NEAR(row[t], vis ? 1.0f / float(keys.size()) : 0.0f, 1e-6f) << "key " << t;
    }
}

}  // namespace

TEST(RefAttention, CausalFull) {
    auto rows = visible({4, 4, {0, 1, 2, 3}, {}, 0});
    expect_visible(rows[0], {0});
    expect_visible(rows[3], {0, 1, 2, 3});
}

TEST(RefAttention, SlidingWindowCountsTheQuery) {
    // window 3: query at 5 sees 3, 4, 5 (spec §6.4: q - k < W).
    auto rows = visible({6, 6, {5}, {}, 3});
    expect_visible(rows[0], {3, 4, 5});
}

TEST(RefAttention, RingBufferUsesLogicalPositions) {
    // 10 positions through a 4-slot ring (window 3 + chunk 2 - 1): the chunk {8, 9} still sees
    // exactly its windows although slots were overwritten twice.
    auto rows = visible({10, 4, {8, 9}, {}, 3});
    expect_visible(rows[0], {6, 7, 8});
    expect_visible(rows[1], {7, 8, 9});
}

TEST(RefAttention, BidirectionalVisionBlocks) {
    // chunk = positions 0..5; tokens 2, 3, 4 form image block 0 (spec §8): they see each other,
    // including later ones; text tokens stay causal.
    auto rows = visible({6, 6, {0, 1, 2, 3, 4, 5}, {-1, -1, 0, 0, 0, -1}, 0});
    expect_visible(rows[1], {0, 1});
    expect_visible(rows[2], {0, 1, 2, 3, 4});
    expect_visible(rows[4], {0, 1, 2, 3, 4});
    expect_visible(rows[5], {0, 1, 2, 3, 4, 5});
}

TEST(RefAttention, GqaHeadMapping) {
    // 4 query heads over 2 KV heads: heads 0, 1 read KV head 0; heads 2, 3 read KV head 1.
    auto b = cpu_ref();
    Tensor kc = f32({1, 2, 2}), vc = f32({1, 2, 2}, {1, 2, 3, 4});
    Tensor q = f32({1, 4, 2}), out = f32({1, 4, 2});
    ASSERT_TRUE(b->attention(q, kc, vc, i32({0}), Tensor{}, {}, out).ok());
    std::vector<float> got(out.ptr<float>(), out.ptr<float>() + 8);
    EXPECT_EQ(got, (std::vector<float>{1, 2, 1, 2, 3, 4, 3, 4}));
}

TEST(RefRope, NeoxPairsIWithIPlusHalf) {
    auto b = cpu_ref();
    Tensor x = f32({1, 1, 4}, {1, 0, 0, 1});
    Tensor freqs = f32({2}, {1.0f, 0.0f});  // second pair: identity (as proportional RoPE's tail)
    ASSERT_TRUE(b->rope(x, i32({2}), freqs, x).ok());
    EXPECT_NEAR(x.ptr<float>()[0], std::cos(2.0f), 1e-6);
    EXPECT_NEAR(x.ptr<float>()[2], std::sin(2.0f), 1e-6);
    EXPECT_FLOAT_EQ(x.ptr<float>()[1], 0.0f);
    EXPECT_FLOAT_EQ(x.ptr<float>()[3], 1.0f);
}

TEST(RefRope, FrequenciesMatchSpec) {
    // Spec §6.3: sliding D=256 theta 1e4: f1 = 0.9305720; full D=512 proportional 0.25 theta 1e6:
    // f1 = 0.9474635, f63 = 0.0333762, f64.. = 0.
    auto s = gemma4::rope_freqs({"default", 10000.0f, 1.0f, 1.0f}, 256);
    ASSERT_TRUE(s.ok());
    EXPECT_NEAR((*s)[1], 0.9305720f, 1e-6f);
    auto f = gemma4::rope_freqs({"proportional", 1e6f, 0.25f, 1.0f}, 512);
    ASSERT_TRUE(f.ok());
    EXPECT_NEAR((*f)[1], 0.9474635f, 1e-6f);
    EXPECT_NEAR((*f)[63], 0.0333762f, 1e-6f);
    EXPECT_EQ((*f)[64], 0.0f);
    EXPECT_EQ((*f)[255], 0.0f);
    EXPECT_FALSE(gemma4::rope_freqs({"yarn", 1e4f, 1.0f, 1.0f}, 64).ok());
}

TEST(RefElementwise, NormGeluSoftcap) {
    auto b = cpu_ref();
    Tensor x = f32({1, 2}, {3, 4}), w = f32({2}, {1, 2}), y = f32({1, 2});
    ASSERT_TRUE(b->rms_norm(x, w, 0.0f, y).ok());  // rms = sqrt(12.5)
    EXPECT_NEAR(y.ptr<float>()[0], 3.0f / std::sqrt(12.5f), 1e-6f);
    EXPECT_NEAR(y.ptr<float>()[1], 8.0f / std::sqrt(12.5f), 1e-6f);
    Tensor g = f32({1, 1}, {1.0f}), u = f32({1, 1}, {2.0f});
    ASSERT_TRUE(b->gelu_tanh_mul(g, u, g).ok());
    EXPECT_NEAR(g.ptr<float>()[0], 2.0f * 0.8411919906f, 1e-6f);  // gelu_tanh(1) = 0.84119199
    Tensor c = f32({1, 1}, {60.0f});
    ASSERT_TRUE(b->softcap(c, 30.0f, c).ok());
    EXPECT_NEAR(c.ptr<float>()[0], 30.0f * std::tanh(2.0f), 1e-5f);
}

TEST(RefErrors, BadShapesAreValues) {
    auto b = cpu_ref();
    Tensor x = f32({2, 3}), w = f32({4, 5}), out = f32({2, 4});
    Status s = b->matmul(x, w, out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find("matmul"), std::string::npos) << s.error().message;
    // q8_0 / q4_0 matmul weights are implemented (core/quant.h); not as norm weights.
    Tensor q8 = tensor_host(DType::q8_0, {4, 32});
    Tensor x32 = f32({1, 32}), o = f32({1, 4});
    EXPECT_TRUE(b->matmul(x32, q8, o).ok());
    EXPECT_TRUE(b->supports({Op::matmul, DType::f32, DType::q4_0}));
    EXPECT_FALSE(b->supports({Op::rms_norm, DType::f32, DType::q4_0}));
    EXPECT_TRUE(b->supports({Op::matmul, DType::f32, DType::bf16}));
}
