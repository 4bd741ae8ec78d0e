// The E4B geometry end to end on synthetic weights (16 GB of bf16 in host memory, minutes on the
// scalar reference), so it runs only with GEMMA_RUN_E4B_SYNTHETIC=1 and is skipped otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "core/registry.h"
#include "model/gemma4/text.h"

using namespace gemma;
using namespace gemma::gemma4;

TEST(TextE4bSynthetic, PrefillAndDecodeRun) {
    if (std::getenv("GEMMA_RUN_E4B_SYNTHETIC") == nullptr)
        GTEST_SKIP() << "set GEMMA_RUN_E4B_SYNTHETIC=1 (needs ~17 GB RAM and minutes)";
    auto cfg = preset_config("e4b");
    ASSERT_TRUE(cfg.ok());
    auto backend = backend_create("cpu-ref").value();
    auto m = make_synthetic_text_model(*cfg, *backend, 1, {4, 1});
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto kv = (*m)->make_kv_cache(1024);
    ASSERT_TRUE(kv.ok());
    int owners = 0;
    for (int l = 0; l < 42; ++l) {
        if (kv->layers[size_t(l)].k.empty()) continue;
        ++owners;
        bool full = (l + 1) % 6 == 0;
        EXPECT_EQ(kv->layers[size_t(l)].k.shape, (Shape{full ? 1024 : 512 + 4 - 1, 2, full ? 512 : 256}));
    }
    EXPECT_EQ(owners, 24);  // spec §1.4
    std::vector<int32_t> prompt = {2, 105, 2364, 107};
    auto a = (*m)->forward({prompt, {}, false}, *kv);
    ASSERT_TRUE(a.ok()) << a.error().message;
    int32_t next = 1000;
    auto b = (*m)->forward({std::span<const int32_t>(&next, 1), {}, false}, *kv);
    ASSERT_TRUE(b.ok()) << b.error().message;
    std::vector<float> logits = *read_f32(*backend, *b);
    ASSERT_EQ(logits.size(), 262144u);
    double sq = 0;
    for (float v : logits) {
        ASSERT_TRUE(std::isfinite(v));
        ASSERT_LT(std::fabs(v), 30.0f);
        sq += double(v) * v;
    }
    EXPECT_GT(sq, 0.0);
}
