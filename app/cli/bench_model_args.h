// The model options `gemdesk-cli bench` and `bench --image` share: where the weights come from
// (--synthetic PRESET or --model DIR), --backend, --weights, --kv-cache and --ple-host.
#pragma once

#include <string>

#include "common/args.h"
#include "core/dtype.h"
#include "model/gemma4/weights.h"

namespace gemdesk::cli {

struct BenchModelArgs {
    std::string synthetic, model_dir, backend = "cpu";
    gemma::gemma4::WeightType weights = gemma::gemma4::WeightType::stored;
    gemma::DType kv_cache = gemma::DType::f32;
    bool ple_host = false;  // --ple-host: the per-layer embedding table stays in host memory
};

// Reads those options into `m` (its fields are the defaults); "" when they are usable, else the
// message naming the bad option. `args` must list "ple-host" as a flag.
std::string parse_bench_model_args(const Args & args, BenchModelArgs & m);

}  // namespace gemdesk::cli
