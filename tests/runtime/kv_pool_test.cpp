// Paged KV pool and TextModel::forward_batch against the reference goldens of tiny-gemma4: the
// golden forced decode (64 positions, window 8: far past the sliding window) run in batched steps
// next to other sequences, with blocks interleaved so attention reads through the gather path;
// forks sharing blocks (copy-on-write), resume rules and the context_full error.
#include <gtest/gtest.h>

#include "runtime_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace rt_test;

namespace {

// Host logits row r of a forward_batch result.
std::vector<float> row_of(Backend & b, const Tensor & logits, int r) {
    return *read_f32(b, tensor_rows(logits, r, 1));
}

}  // namespace

// Sequence A follows the golden prompt + forced tokens; sequences B and C run other tokens in the
// same steps. Blocks of 4 positions are handed out alternately, so A's blocks are not contiguous.
TEST(KvPool, BatchedForcedDecodeMatchesGolden) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load_model(kTiny, {64, 4});
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("text.input_ids"), forced = g.ids("decode.forced_tokens");
    Tensor ref = g.get("decode.forced_logits");
    const int64_t V = ref.dim(1);
    auto pool = l.model->make_kv_pool(
        {.n_ctx = 80, .max_chunk = 7, .block_size = 4, .n_blocks = 64, .n_rings = 3});
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    KvSeq a = *(*pool)->seq_new(), b = *(*pool)->seq_new(), c = *(*pool)->seq_new();
    std::vector<int32_t> other(ids.rbegin(), ids.rend());
    // Prefill in chunks of 7 (A), 5 (B), 3 (C) in the same steps.
    size_t pa = 0, pb = 0, pc = 0;
    std::vector<float> last_a;
    while (pa < ids.size()) {
        size_t na = std::min<size_t>(7, ids.size() - pa),
               nb = std::min<size_t>(5, other.size() - pb),
               nc = std::min<size_t>(3, other.size() - pc);
        std::vector<SeqChunk> chunks;
        ASSERT_TRUE((*pool)->seq_reserve(a, int(na)).ok());
        chunks.push_back(
            {&a, std::span<const int32_t>(ids).subspan(pa, na), {}, {}, pa + na == ids.size()});
        if (nb > 0) {
            ASSERT_TRUE((*pool)->seq_reserve(b, int(nb)).ok());
            chunks.push_back({&b, std::span<const int32_t>(other).subspan(pb, nb), {}, {}, true});
        }
        if (nc > 0) {
            ASSERT_TRUE((*pool)->seq_reserve(c, int(nc)).ok());
            chunks.push_back({&c, std::span<const int32_t>(other).subspan(pc, nc), {}, {}, false});
        }
        auto out = l.model->forward_batch(chunks, **pool);
        ASSERT_TRUE(out.ok()) << out.error().message;
        if (chunks[0].want_logits) last_a = row_of(*l.backend, *out, 0);
        pa += na, pb += nb, pc += nc;
    }
    bool interleaved = false;
    for (size_t i = 1; i < a.blocks.size(); ++i) interleaved |= a.blocks[i] != a.blocks[i - 1] + 1;
    EXPECT_TRUE(interleaved) << "test setup: A's blocks should not be contiguous";
    EXPECT_LT(rel_error(last_a.data(), ref.ptr<float>(), size_t(V)), kTol) << "prompt logits";
    int32_t tb = 7;
    for (size_t i = 0; i < forced.size(); ++i) {
        ASSERT_TRUE((*pool)->seq_reserve(b, 1).ok());
        ASSERT_TRUE((*pool)->seq_reserve(a, 1).ok());
        SeqChunk chunks[2] = {{&b, std::span<const int32_t>(&tb, 1)},
                              {&a, std::span<const int32_t>(&forced[i], 1)}};
        auto out = l.model->forward_batch(chunks, **pool);
        ASSERT_TRUE(out.ok()) << out.error().message;
        std::vector<float> row = row_of(*l.backend, *out, 1);
        double err = rel_error(row.data(), ref.ptr<float>() + int64_t(i + 1) * V, size_t(V));
        EXPECT_LT(err, kTol) << "decode.forced_logits row " << i + 1;
    }
    EXPECT_EQ(a.n_past, int(ids.size() + forced.size()));
    for (KvSeq * s : {&a, &b, &c}) (*pool)->seq_release(*s);
    EXPECT_EQ((*pool)->n_free_blocks(), 64);
    EXPECT_EQ((*pool)->n_free_rings(), 3);
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
