// Paged KV pool and TextModel::forward_batch against the reference goldens of tiny-gemma4: the
// golden forced decode (64 positions, window 8: far past the sliding window) run in batched steps
// next to other sequences, with blocks interleaved so attention reads through the gather path;
// forks sharing blocks (copy-on-write), resume rules and the context_full error.
#include <gtest/gtest.h>

#include "batched_golden.h"
#include "runtime_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace rt_test;

TEST(KvPool, BatchedForcedDecodeMatchesGoldenPaged) {
    batched_forced_decode_matches_golden("cpu-ref", true);
    batched_forced_decode_matches_golden("cpu", true);
}

TEST(KvPool, BatchedForcedDecodeMatchesGoldenPerSequence) {
    batched_forced_decode_matches_golden("cpu-ref", false, false);
    batched_forced_decode_matches_golden("cpu", false, false);
}

// A fork shares the prompt's blocks; both continue with different tokens (copy-on-write of the
// shared partial block) and each matches a solo run on its own KvCache exactly.
TEST(KvPool, ForkSharesBlocksAndCopiesOnWrite) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load_model(kTiny, {16, 2});
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("text.input_ids");
    ids.resize(14);  // 3.5 blocks of 4: the fork shares a partial block
    auto pool = l.model->make_kv_pool(
        {.n_ctx = 32, .max_chunk = 16, .block_size = 4, .n_blocks = 16, .n_rings = 2});
    ASSERT_TRUE(pool.ok());
    KvSeq a = *(*pool)->seq_new();
    ASSERT_TRUE((*pool)->seq_reserve(a, 14).ok());
    SeqChunk pre{&a, ids};
    ASSERT_TRUE(l.model->forward_batch(std::span(&pre, 1), **pool).ok());
    auto forked = (*pool)->seq_fork(a, 14);
    ASSERT_TRUE(forked.ok());
    KvSeq b = std::move(*forked);
    EXPECT_EQ(b.blocks, a.blocks);
    EXPECT_EQ((*pool)->n_free_blocks(), 12);
    const int32_t ta[3] = {11, 12, 13}, tb[3] = {300, 301, 302};
    std::vector<std::vector<float>> got_a, got_b;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE((*pool)->seq_reserve(a, 1).ok());
        ASSERT_TRUE((*pool)->seq_reserve(b, 1).ok());
        SeqChunk chunks[2] = {{&a, std::span(&ta[i], 1)}, {&b, std::span(&tb[i], 1)}};
        auto out = l.model->forward_batch(chunks, **pool);
        ASSERT_TRUE(out.ok()) << out.error().message;
        got_a.push_back(row_of(*l.backend, *out, 0));
        got_b.push_back(row_of(*l.backend, *out, 1));
    }
    EXPECT_NE(a.blocks[3], b.blocks[3]) << "the shared partial block was not copied on write";
    EXPECT_EQ(a.blocks[0], b.blocks[0]);
    for (const auto & [toks, got] : {std::pair{ta, &got_a}, std::pair{tb, &got_b}}) {
        auto kv = l.model->make_kv_cache(32, 16);
        ASSERT_TRUE(kv.ok());
        ASSERT_TRUE(l.model->forward({ids, {}, false}, *kv).ok());
        for (int i = 0; i < 3; ++i) {
            auto solo = l.model->forward({std::span(&toks[i], 1), {}, false}, *kv);
            ASSERT_TRUE(solo.ok());
            EXPECT_EQ(*read_f32(*l.backend, *solo), (*got)[size_t(i)]) << "token " << i;
        }
    }
    (*pool)->seq_release(a);
    (*pool)->seq_release(b);
    EXPECT_EQ((*pool)->n_free_blocks(), 16);
}

TEST(KvPool, ResumeRuleAndContextFull) {
    Loaded l = load_model(kTiny, {8, 1});
    ASSERT_NE(l.model, nullptr);
    // Ring = window 8 + chunk 4 - 1 = 11 slots: a sequence may drop at most 11 - 8 = 3 positions.
    auto pool = l.model->make_kv_pool(
        {.n_ctx = 20, .max_chunk = 4, .block_size = 4, .n_blocks = 8, .n_rings = 1});
    ASSERT_TRUE(pool.ok());
    EXPECT_EQ((*pool)->ring_slots(), 11);
    KvSeq s = *(*pool)->seq_new();
    EXPECT_EQ((*pool)->seq_new().error().code, ErrorCode::out_of_memory);
    s.n_past = 16;
    ASSERT_TRUE((*pool)->seq_reserve(s, 0).ok());
    EXPECT_TRUE((*pool)->seq_can_resume(s, 16));
    EXPECT_TRUE((*pool)->seq_can_resume(s, 13));
    EXPECT_FALSE((*pool)->seq_can_resume(s, 12));
    EXPECT_FALSE((*pool)->seq_can_resume(s, 17));
    s.n_past = 0;
    ASSERT_TRUE((*pool)->seq_reserve(s, 20).ok());
    s.n_past = 20;
    Status full = (*pool)->seq_reserve(s, 1);
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().code, ErrorCode::context_full);
    EXPECT_NE(full.error().message.find("context full"), std::string::npos);
    (*pool)->seq_release(s);
    // A context beyond the model's max_position_embeddings is refused up front.
    auto big = l.model->make_kv_pool({.n_ctx = l.model->config().text.max_position_embeddings + 1});
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().code, ErrorCode::invalid_argument);
}

TEST(KvPool, ForwardBatchRejectsUnreservedAndOversizedChunks) {
    Loaded l = load_model(kTiny, {8, 1});
    ASSERT_NE(l.model, nullptr);
    auto pool = l.model->make_kv_pool(
        {.n_ctx = 32, .max_chunk = 4, .block_size = 4, .n_blocks = 8, .n_rings = 2});
    ASSERT_TRUE(pool.ok());
    KvSeq s = *(*pool)->seq_new();
    std::vector<int32_t> ids{2, 3, 4};
    SeqChunk c{&s, ids};
    EXPECT_EQ(l.model->forward_batch(std::span(&c, 1), **pool).error().code,
              ErrorCode::invalid_argument);
    ASSERT_TRUE((*pool)->seq_reserve(s, 3).ok());
    SeqChunk two[2] = {c, c};  // same sequence twice
    EXPECT_EQ(l.model->forward_batch(two, **pool).error().code, ErrorCode::invalid_argument);
    std::vector<int32_t> five{2, 3, 4, 5, 6};
    SeqChunk big{&s, five};
    EXPECT_EQ(l.model->forward_batch(std::span(&big, 1), **pool).error().code,
              ErrorCode::invalid_argument);
    EXPECT_TRUE(l.model->forward_batch(std::span(&c, 1), **pool).ok());
    (*pool)->seq_release(s);
}
