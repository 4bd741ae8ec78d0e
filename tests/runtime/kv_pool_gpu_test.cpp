// The batched golden forced decode on CUDA: every layer attends for all sequences in one paged
// attention launch (cuda-f32: f32 products, so the reference tolerance applies). Skipped without
// a GPU.
#include "batched_golden.h"
#include "core/registry.h"

using namespace rt_test;

TEST(KvPoolGpu, BatchedForcedDecodeMatchesGoldenPagedCuda) {
    auto probe = gemma::backend_create("cuda-f32");
    if (!probe.ok()) GTEST_SKIP() << probe.error().message;
    probe->reset();
    batched_forced_decode_matches_golden("cuda-f32", true);
}
