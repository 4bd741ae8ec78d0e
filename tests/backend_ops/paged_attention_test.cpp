// Op::attention_paged on the CPU backends: the rows of three sequences whose K/V live in shuffled
// pages of one pool (f32, bf16 and q8_0 pools), against (1) the same rows attended one sequence
// at a time by Op::attention over a contiguous cache holding the same K/V, on cpu-ref (exactly
// equal: the paged form only maps key positions to rows), and (2) the cpu backend vs cpu-ref.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/registry.h"

namespace gemma {
namespace {

constexpr int64_t kHq = 4, kHkv = 2, kD = 64, kPage = 8, kPages = 24;

std::vector<float> random_values(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    std::vector<float> v(n);
    for (float & x : v) x = u(rng);
    return v;
}

Tensor put_f32(Backend & b, const std::vector<float> & v, Shape shape) {
    auto t = b.alloc(DType::f32, shape);
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(b.write(*t, v.data(), v.size() * 4).ok());
    return *t;
}

Tensor put_i32(Backend & b, const std::vector<int32_t> & v, Shape shape) {
    auto t = b.alloc(DType::i32, shape);
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(b.write(*t, v.data(), v.size() * 4).ok());
    return *t;
}

std::vector<float> read(Backend & b, const Tensor & t) {
    std::vector<float> v(size_t(t.numel()));
    EXPECT_TRUE(b.read(t, v.data(), v.size() * 4).ok());
    return v;
}

// Sequence s: its pages, and its query row's position (keys [0, pos] are stored).
struct Seq {
    std::vector<int32_t> pages;
    int32_t pos;
};

const std::vector<Seq> & seqs() {
    static const std::vector<Seq> s = {
        {{5, 17, 2, 11, 20, 8}, 45}, {{0, 23}, 9}, {{14, 3, 19, 7, 12, 1, 22, 6}, 63}};
    return s;
}

// K/V of key position t of sequence s (the same values whatever the storage).
std::vector<float> kv_row(int s, int32_t t, bool value) {
    return random_values(size_t(kHkv * kD), uint32_t(1000 * s + 2 * t + (value ? 1 : 0)));
}

// Paged: one pool, every sequence's keys stored in its pages; one call for all rows.
std::vector<float> run_paged(Backend & b, DType kv, int window) {
    auto kp = b.alloc(kv, {kPages * kPage, kHkv, kD});
    auto vp = b.alloc(kv, {kPages * kPage, kHkv, kD});
    EXPECT_TRUE(kp.ok() && vp.ok());
    std::vector<int32_t> table(seqs().size() * 8, 0), pos, row_seq;
    for (size_t s = 0; s < seqs().size(); ++s) {
        const Seq & sq = seqs()[s];
        for (size_t i = 0; i < sq.pages.size(); ++i) table[s * 8 + i] = sq.pages[i];
        for (int32_t t = 0; t <= sq.pos; ++t) {
            int32_t row = sq.pages[size_t(t / kPage)] * int32_t(kPage) + t % int32_t(kPage);
            Tensor k = put_f32(b, kv_row(int(s), t, false), {1, kHkv, kD});
            Tensor v = put_f32(b, kv_row(int(s), t, true), {1, kHkv, kD});
            EXPECT_TRUE(b.kv_store(k, v, put_i32(b, {row}, {1}), *kp, *vp).ok());
        }
        pos.push_back(sq.pos);
        row_seq.push_back(int32_t(s));
    }
    const int64_t n = int64_t(pos.size());
    Tensor q = put_f32(b, random_values(size_t(n * kHq * kD), 77), {n, kHq, kD});
    auto out = b.alloc(DType::f32, {n, kHq, kD});
    AttentionDesc desc;
    desc.window = window;
    Status st = b.attention_paged(q, *kp, *vp, put_i32(b, pos, {n}), put_i32(b, row_seq, {n}),
                                  put_i32(b, table, {int64_t(seqs().size()), 8}), int(kPage),
                                  desc, *out);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return read(b, *out);
}

// Per sequence: a contiguous cache per sequence, Op::attention for its one row.
std::vector<float> run_per_sequence(Backend & b, DType kv, int window) {
    std::vector<float> all;
    const std::vector<float> qs = random_values(size_t(seqs().size() * kHq * kD), 77);
    for (size_t s = 0; s < seqs().size(); ++s) {
        const Seq & sq = seqs()[s];
        auto kc = b.alloc(kv, {sq.pos + 1, kHkv, kD});
        auto vc = b.alloc(kv, {sq.pos + 1, kHkv, kD});
        EXPECT_TRUE(kc.ok() && vc.ok());
        for (int32_t t = 0; t <= sq.pos; ++t) {
            Tensor k = put_f32(b, kv_row(int(s), t, false), {1, kHkv, kD});
            Tensor v = put_f32(b, kv_row(int(s), t, true), {1, kHkv, kD});
            EXPECT_TRUE(b.kv_store(k, v, put_i32(b, {t}, {1}), *kc, *vc).ok());
        }
        std::vector<float> q(qs.begin() + long(s * kHq * kD), qs.begin() + long((s + 1) * kHq * kD));
        auto out = b.alloc(DType::f32, {1, kHq, kD});
        AttentionDesc desc;
        desc.window = window;
        Status st = b.attention(put_f32(b, q, {1, kHq, kD}), *kc, *vc,
                                put_i32(b, {sq.pos}, {1}), Tensor{}, desc, *out);
        EXPECT_TRUE(st.ok()) << st.error().message;
        std::vector<float> o = read(b, *out);
        all.insert(all.end(), o.begin(), o.end());
    }
    return all;
}

double nmse(const std::vector<float> & ref, const std::vector<float> & got) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        num += double(ref[i] - got[i]) * double(ref[i] - got[i]);
        den += double(ref[i]) * double(ref[i]);
    }
    return num / den;
}

TEST(PagedAttention, EqualsPerSequenceAttentionOnReference) {
    auto ref = backend_create("cpu-ref");
    ASSERT_TRUE(ref.ok());
    for (DType kv : {DType::f32, DType::bf16, DType::q8_0})
        for (int window : {0, 16}) {
            ASSERT_TRUE((*ref)->supports({Op::attention_paged, DType::f32, kv}));
            EXPECT_EQ(run_paged(**ref, kv, window), run_per_sequence(**ref, kv, window))
                << dtype_name(kv) << " window " << window;
        }
}

TEST(PagedAttention, FastMatchesReference) {
    auto ref = backend_create("cpu-ref");
    auto fast = backend_create("cpu");
    ASSERT_TRUE(ref.ok() && fast.ok());
    for (DType kv : {DType::f32, DType::bf16, DType::q8_0})
        for (int window : {0, 16}) {
            ASSERT_TRUE((*fast)->supports({Op::attention_paged, DType::f32, kv}));
            // f32 scores and softmax on both; SIMD summation order and exp differ.
            EXPECT_LE(nmse(run_paged(**ref, kv, window), run_paged(**fast, kv, window)), 1e-10)
                << dtype_name(kv) << " window " << window;
        }
}

TEST(PagedAttention, BadTablesAreErrors) {
    auto b = backend_create("cpu");
    ASSERT_TRUE(b.ok());
    auto kp = (*b)->alloc(DType::f32, {kPages * kPage, kHkv, kD});
    auto q = (*b)->alloc(DType::f32, {1, kHq, kD});
    auto out = (*b)->alloc(DType::f32, {1, kHq, kD});
    Tensor pos = put_i32(**b, {3}, {1}), seq = put_i32(**b, {0}, {1});
    Tensor pages = put_i32(**b, {0, 1}, {1, 2});
    AttentionDesc desc;
    // A page size that does not divide the pool, and pages given as a vector.
    Status s1 = (*b)->attention_paged(*q, *kp, *kp, pos, seq, pages, 7, desc, *out);
    EXPECT_EQ(s1.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s1.error().message.find("page_size"), std::string::npos) << s1.error().message;
    Status s2 = (*b)->attention_paged(*q, *kp, *kp, pos, seq, put_i32(**b, {0, 1}, {2}), 8, desc,
                                      *out);
    EXPECT_EQ(s2.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace gemma
