// The golden forced decode of tiny-gemma4 (64 positions, window 8: far past the sliding window)
// run by TextModel::forward_batch next to two other sequences with interleaved pool blocks, on a
// named backend. Shared by kv_pool_test.cpp (cpu-ref: paged attention; cpu: per sequence) and
// kv_pool_gpu_test.cpp (CUDA paged attention).
#pragma once

#include <gtest/gtest.h>

#include "runtime_util.h"

namespace rt_test {

using namespace gemma;
using namespace gemma::gemma4;

// Host logits row r of a forward_batch result.
inline std::vector<float> row_of(Backend & b, const Tensor & logits, int r) {
    return *read_f32(b, tensor_rows(logits, r, 1));
}

// Sequence A follows the golden prompt + forced tokens; sequences B and C run other tokens in the
// same steps. Blocks of 4 positions are handed out alternately, so A's blocks are not contiguous.
// With paged attention every layer attends through the page tables in one call
// (Op::attention_paged); without (allow_paged false) per sequence through gathered views.
inline void batched_forced_decode_matches_golden(const std::string & backend, bool want_paged,
                                                 bool allow_paged = true) {
    Golden g = open_golden(kTiny);
    ASSERT_NE(g.src, nullptr);
    Loaded l = load_model(kTiny, {64, 4}, backend);
    ASSERT_NE(l.model, nullptr);
    std::vector<int32_t> ids = g.ids("text.input_ids"), forced = g.ids("decode.forced_tokens");
    Tensor ref = g.get("decode.forced_logits");
    const int64_t V = ref.dim(1);
    auto pool = l.model->make_kv_pool(
        {.n_ctx = 80,
         .max_chunk = 7,
         .block_size = 4,
         .n_blocks = 64,
         .n_rings = 3,
         .paged_attention = allow_paged});
    ASSERT_TRUE(pool.ok()) << pool.error().message;
    EXPECT_EQ((*pool)->paged(), want_paged) << backend;
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

}  // namespace rt_test
