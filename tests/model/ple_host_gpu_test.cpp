// The per-layer embedding table left in host memory (TextModelOptions::ple_on_host) on CUDA:
// get_rows then gathers each step's rows over the bus; the logits must equal those with the table
// in device memory bit for bit (same values, same kernels after the gather), for stored and for
// q4_0 weights (the host table keeps the GGUF block layout, the device copy is planar). Also the
// table really stays on the host. Skipped without a GPU.
#include <gtest/gtest.h>

#include "text_util.h"

using namespace gemma;
using namespace gemma::gemma4;
using namespace text_test;

namespace {

Result<std::vector<float>> prompt_logits(Backend & backend, WeightType wt, bool ple_on_host,
                                         Where * ple_where) {
    Golden g = open_golden(kTiny);
    if (!g.src) return make_error(ErrorCode::not_found, "tiny golden file missing");
    TextModelOptions mo{64, 64};
    mo.weights = wt;
    mo.ple_on_host = ple_on_host;
    auto m = load_text_model(kTiny, backend, mo);
    if (!m.ok()) return m.error();
    *ple_where = (*m)->weights().ple_embed.where;
    std::vector<int32_t> ids = g.ids("text.input_ids");
    auto kv = (*m)->make_kv_cache(int(ids.size()));
    if (!kv.ok()) return kv.error();
    auto l = (*m)->forward({ids, {}, true}, *kv);
    if (!l.ok()) return l.error();
    return read_f32(backend, *l);
}

}  // namespace

TEST(PleHostGpu, HostTableGivesTheSameLogits) {
    auto gpu = backend_create("cuda-f32");
    if (!gpu.ok()) GTEST_SKIP() << "cuda unavailable: " << gpu.error().message;
    for (WeightType wt : {WeightType::stored, WeightType::q4_0}) {
        Where dev_where = Where::host, host_where = Where::device;
        auto on_device = prompt_logits(**gpu, wt, false, &dev_where);
        auto on_host = prompt_logits(**gpu, wt, true, &host_where);
        ASSERT_TRUE(on_device.ok()) << on_device.error().message;
        ASSERT_TRUE(on_host.ok()) << on_host.error().message;
        EXPECT_EQ(dev_where, Where::device) << weight_type_name(wt);
        EXPECT_EQ(host_where, Where::host) << weight_type_name(wt);
        EXPECT_EQ(*on_device, *on_host) << weight_type_name(wt);
    }
}
