// The model options shared by the benchmarks (bench_model_args.h).
#include "cli/bench_model_args.h"

#include "core/kv_quant.h"

namespace gemdesk::cli {

std::string parse_bench_model_args(const Args & args, BenchModelArgs & m) {
    m.synthetic = args.get("synthetic");
    m.model_dir = args.get("model");
    m.backend = args.get("backend", m.backend);
    m.ple_host = args.has("ple-host");
    if (args.has("weights")) {
        auto w = gemma::gemma4::parse_weight_type(args.get("weights"));
        if (!w.ok()) return w.error().message;
        m.weights = *w;
    }
    auto kv = gemma::kv_cache_dtype_parse(args.get("kv-cache", "f32"));
    if (!kv.ok()) return "--kv-cache: " + kv.error().message;
    m.kv_cache = *kv;
    if (m.synthetic.empty() == m.model_dir.empty())
        return "give exactly one of --synthetic PRESET or --model DIR";
    return "";
}

}  // namespace gemdesk::cli
