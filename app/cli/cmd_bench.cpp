// gemdesk-cli bench: text-decoder speed on a backend (issues #3, #5): a prefill of P tokens and G
// greedy decode steps per stream, on random weights of a preset's real shapes (--synthetic e4b,
// built in memory, no file) or a checkpoint (--model DIR). Reports TTFT, prefill and decode tok/s
// and peak RSS, per stream and aggregate, and the KV cache's memory (--kv-cache f32|bf16|q8_0);
// --json prints one JSON object instead of text. --weights q8_0|q4_0 quantizes the matrices
// (synthetic: generated straight into blocks). Scheduled runs (C > 1) sample greedily or with
// Gemma's defaults (--sampling gemma) and report how many rows were sampled from device
// candidates (--device-top-k K, 0 = off) and how many read a whole logits row. --image BUDGET
// times an image turn instead (cmd_bench_image.cpp).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli/bench_image.h"
#include "cli/bench_model_args.h"
#include "cli/commands.h"
#include "common/args.h"
#include "core/kv_quant.h"
#include "core/registry.h"
#include "model/gemma4/text.h"
#include "runtime/engine.h"
#include "runtime/scheduler.h"

namespace gemdesk::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace g4 = gemma::gemma4;

// C > 1 runs the streams as concurrent requests through the runtime scheduler.
constexpr const char * kConcurrencyMode =
    "runtime scheduler: continuous batching (decode steps batched, prefill chunked alongside)";

struct BenchOptions : BenchModelArgs {
    // batch 0: as the engine chooses on a GPU (kDeviceStepTokens), else 256 (the CPU figures).
    int prompt = 128, gen = 32, concurrency = 1, batch = 0, warmup = 1;
    uint64_t seed = 1;
    bool json = false;
    std::string sampling = "greedy";  // scheduled runs: greedy | gemma (T 1, top_k 64, top_p 0.95)
    int device_top_k = 64;            // SchedulerOptions::device_top_k
};

struct Stream {
    g4::KvCache kv;
    std::vector<int32_t> prompt;
    int32_t next = 0;
    double ttft_s = 0, prefill_s = 0, decode_s = 0;
};

struct BenchResult {
    std::string model, backend;
    double build_s = 0, weight_gib = 0, decode_wall_s = 0, ple_host_gib = 0;
    // Scheduled runs: aggregate decode rate while every stream is decoding (after the last first
    // token, before the first stream finishes); 0 when that window is empty.
    double steady_tok_s = 0, steady_window_s = 0;
    long peak_rss_kib = -1;
    size_t kv_bytes = 0;  // every stream's KV cache, or the scheduler's pool
    // Scheduled runs: sampled rows taken from device candidates / from whole logits rows.
    uint64_t rows_candidates = 0, rows_full = 0;
    std::vector<Stream> streams;
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// VmHWM (peak resident set) of this process from /proc/self/status; -1 when unavailable.
long peak_rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

double weight_gib(const g4::TextWeights & w) {
    return double(g4::text_weight_bytes(w)) / double(1ull << 30);
}

gemma::Result<std::unique_ptr<g4::TextModel>> build_model(const BenchOptions & o,
                                                          gemma::Backend & backend) {
    g4::TextModelOptions mo;
    mo.max_batch = std::max(o.concurrency, std::min(o.batch, o.prompt));
    mo.max_logit_rows = o.concurrency;
    mo.weights = o.weights;
    mo.ple_on_host = o.ple_host;
    if (!o.model_dir.empty()) return g4::load_text_model(o.model_dir, backend, mo);
    auto cfg = g4::preset_config(o.synthetic);
    if (!cfg.ok()) return cfg.error();
    return g4::make_synthetic_text_model(*cfg, backend, o.seed, mo);
}

// Greedy next token from the logits of the last forward.
gemma::Result<int32_t> argmax_logits(g4::TextModel & m, const gemma::Tensor & logits) {
    auto v = g4::read_f32(m.backend(), logits);
    if (!v.ok()) return v.error();
    size_t best = 0;
    for (size_t i = 1; i < v->size(); ++i)
        if ((*v)[i] > (*v)[best]) best = i;
    return int32_t(best);
}

// The whole prompt in chunks of the model's max batch; TTFT counts from `t_arrival`.
gemma::Status prefill(g4::TextModel & m, Stream & s, Clock::time_point t_arrival) {
    auto t0 = Clock::now();
    size_t chunk = size_t(m.options().max_batch);
    gemma::Tensor logits;
    for (size_t i = 0; i < s.prompt.size(); i += chunk) {
        size_t n = std::min(chunk, s.prompt.size() - i);
        auto r = m.forward({std::span<const int32_t>(s.prompt.data() + i, n), {}, false}, s.kv);
        if (!r.ok()) return r.error();
        logits = *r;
    }
    auto next = argmax_logits(m, logits);
    if (!next.ok()) return next.error();
    s.next = *next;
    s.prefill_s = seconds_since(t0);
    s.ttft_s = seconds_since(t_arrival);
    return gemma::Status::success();
}

gemma::Status decode_step(g4::TextModel & m, Stream & s) {
    auto t0 = Clock::now();
    auto r = m.forward({std::span<const int32_t>(&s.next, 1), {}, false}, s.kv);
    if (!r.ok()) return r.error();
    auto next = argmax_logits(m, *r);
    if (!next.ok()) return next.error();
    s.next = *next;
    s.decode_s += seconds_since(t0);
    return gemma::Status::success();
}

// Times one scheduler request: arrival, first token (TTFT) and last token.
class TimingSink : public gemma::runtime::TokenSink {
public:
    bool on_token(const gemma::runtime::SampleResult &) override {
        std::lock_guard<std::mutex> lock(mu_);
        last = Clock::now();
        if (n++ == 0) first = last;
        times.push_back(last);
        return false;
    }
    void on_finish(gemma::runtime::FinishReason, const gemma::runtime::Usage &,
                   const gemma::Error * e) override {
        std::lock_guard<std::mutex> lock(mu_);
        if (e) error = *e;
        done_ = true;
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return done_; });
    }
    Clock::time_point first, last;
    std::vector<Clock::time_point> times;
    int n = 0;
    std::optional<gemma::Error> error;

private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
};

// Every stream is a request to the scheduler; the first token comes from the prefill, then G
// batched decode steps. Per-stream prefill time is its TTFT (chunks are interleaved).
gemma::Status run_streams_scheduled(const BenchOptions & o, g4::TextModel & m, BenchResult & res) {
    gemma::runtime::SchedulerOptions so;
    so.n_ctx = o.prompt + o.gen + 2;
    so.max_seqs = o.concurrency;
    so.max_step_tokens = so.prefill_chunk = m.options().max_batch;
    so.max_cached = 0;
    so.snapshot_prompts = false;
    so.kv_type = o.kv_cache;
    so.device_top_k = o.device_top_k;
    auto sched = gemma::runtime::Scheduler::create(m, so);
    if (!sched.ok()) return sched.error();
    res.kv_bytes = (*sched)->stats().kv_bytes;
    std::vector<std::shared_ptr<TimingSink>> sinks;
    auto t_arrival = Clock::now();
    for (Stream & s : res.streams) {
        gemma::runtime::TokenRequest r;
        r.prompt = s.prompt;
        r.max_tokens = o.gen + 1;
        r.sampling.temperature = 0.0f;
        if (o.sampling == "gemma") {  // Gemma 4's generation_config defaults, seeded per stream
            r.sampling.temperature = 1.0f;
            r.sampling.top_k = 64;
            r.sampling.top_p = 0.95f;
            r.sampling.has_seed = true;
            r.sampling.seed = o.seed + uint64_t(&s - res.streams.data());
        }
        r.use_prefix_cache = false;
        sinks.push_back(std::make_shared<TimingSink>());
        auto id = (*sched)->submit(std::move(r), sinks.back());
        if (!id.ok()) return id.error();
    }
    Clock::time_point first = Clock::time_point::max(), last = t_arrival;
    for (size_t i = 0; i < sinks.size(); ++i) {
        sinks[i]->wait();
        if (sinks[i]->error) return *sinks[i]->error;
        Stream & s = res.streams[i];
        s.ttft_s = s.prefill_s = std::chrono::duration<double>(sinks[i]->first - t_arrival).count();
        first = std::min(first, sinks[i]->first);
        last = std::max(last, sinks[i]->last);
    }
    res.decode_wall_s = std::chrono::duration<double>(last - first).count();
    const gemma::runtime::SchedulerStats stats = (*sched)->stats();
    res.rows_candidates = stats.rows_candidates;
    res.rows_full = stats.rows_full;
    Clock::time_point w0 = first, w1 = last;
    for (const auto & sink : sinks) {
        w0 = std::max(w0, sink->first);
        w1 = std::min(w1, sink->last);
    }
    if (w1 > w0) {
        size_t in_window = 0;
        for (const auto & sink : sinks)
            for (Clock::time_point t : sink->times) in_window += t > w0 && t <= w1 ? 1 : 0;
        res.steady_window_s = std::chrono::duration<double>(w1 - w0).count();
        res.steady_tok_s = double(in_window) / res.steady_window_s;
    }
    return gemma::Status::success();
}

// Untimed passes first (one prefill of the prompt length and a few decode steps on their own
// cache): the first use of a kernel, a cuBLAS heuristic or a CUDA graph costs far more than
// later ones, and a running app has paid that before a user's request arrives.
gemma::Status warm_up(const BenchOptions & o, g4::TextModel & m) {
    for (int w = 0; w < o.warmup; ++w) {
        auto kv = m.make_kv_cache(o.prompt + 8, 0, o.kv_cache);
        if (!kv.ok()) return kv.error();
        Stream s{std::move(*kv), std::vector<int32_t>(size_t(o.prompt), 3), 0, 0, 0, 0};
        GEMMA_TRY(prefill(m, s, Clock::now()));
        for (int step = 0; step < 8; ++step) GEMMA_TRY(decode_step(m, s));
    }
    return gemma::Status::success();
}

gemma::Status run_streams(const BenchOptions & o, g4::TextModel & m, BenchResult & res) {
    GEMMA_TRY(warm_up(o, m));
    std::mt19937 rng(uint32_t(o.seed));
    std::uniform_int_distribution<int32_t> tok(3, m.config().text.vocab_size - 1);
    for (int c = 0; c < o.concurrency; ++c) {
        g4::KvCache kv;  // concurrency > 1: the scheduler keeps its own pool
        if (o.concurrency == 1) {
            auto made = m.make_kv_cache(o.prompt + o.gen, 0, o.kv_cache);
            if (!made.ok()) return made.error();
            kv = std::move(*made);
            res.kv_bytes += kv.bytes();
        }
        Stream s{std::move(kv), {}, 0, 0, 0, 0};
        s.prompt.push_back(m.config().text.bos_token_id);
        while (int(s.prompt.size()) < o.prompt) s.prompt.push_back(tok(rng));
        res.streams.push_back(std::move(s));
    }
    if (o.concurrency > 1) return run_streams_scheduled(o, m, res);
    auto t_arrival = Clock::now();  // every stream's request arrives at once
    for (Stream & s : res.streams) GEMMA_TRY(prefill(m, s, t_arrival));
    auto t_decode = Clock::now();
    for (int step = 0; step < o.gen; ++step)
        for (Stream & s : res.streams) GEMMA_TRY(decode_step(m, s));
    res.decode_wall_s = seconds_since(t_decode);
    return gemma::Status::success();
}

void print_text(const BenchOptions & o, const BenchResult & r) {
    std::printf("bench: model %s (%.2f GiB of %s weights, built/loaded in %.1f s)\n",
                r.model.c_str(), r.weight_gib, g4::weight_type_name(o.weights), r.build_s);
    if (o.ple_host)
        std::printf("bench: per-layer embedding table in host memory: %.2f GiB of the weights\n",
                    r.ple_host_gib);
    std::printf("bench: backend %s; prompt %d, gen %d, concurrency %d, %d warm-up pass(es)%s%s\n",
                r.backend.c_str(), o.prompt, o.gen, o.concurrency, o.warmup,
                o.concurrency > 1 ? "; " : "", o.concurrency > 1 ? kConcurrencyMode : "");
    double prefill_total = 0;
    for (size_t i = 0; i < r.streams.size(); ++i) {
        const Stream & s = r.streams[i];
        prefill_total += s.prefill_s;
        std::printf("stream %zu: TTFT %.3f s, prefill %.2f tok/s, decode %.2f tok/s\n", i, s.ttft_s,
                    o.prompt / s.prefill_s, o.gen / r.decode_wall_s);
    }
    std::printf("aggregate: prefill %.2f tok/s, decode %.2f tok/s, peak RSS %.2f GiB\n",
                o.prompt * o.concurrency / prefill_total, o.gen * o.concurrency / r.decode_wall_s,
                r.peak_rss_kib / 1048576.0);
    if (r.steady_window_s > 0)
        std::printf("aggregate while all %d streams decode: %.2f tok/s (%.3f s window)\n",
                    o.concurrency, r.steady_tok_s, r.steady_window_s);
    std::printf("kv cache: %s, %.2f MiB\n", gemma::dtype_name(o.kv_cache),
                double(r.kv_bytes) / double(1 << 20));
    if (o.concurrency > 1)
        std::printf(
            "sampling: %s; rows sampled from device candidates (device_top_k %d): %llu, "
            "from whole logits rows read back: %llu\n",
            o.sampling == "gemma" ? "gemma defaults (T 1, top_k 64, top_p 0.95)" : "greedy",
            o.device_top_k, (unsigned long long)r.rows_candidates, (unsigned long long)r.rows_full);
}

void print_json(const BenchOptions & o, const BenchResult & r) {
    nlohmann::json j;
    j["model"] = r.model;
    j["backend"] = r.backend;
    j["weights_gib"] = r.weight_gib;
    j["weights"] = g4::weight_type_name(o.weights);
    j["ple_on_host"] = o.ple_host;
    j["ple_host_gib"] = r.ple_host_gib;
    j["build_s"] = r.build_s;
    j["prompt_tokens"] = o.prompt;
    j["gen_tokens"] = o.gen;
    j["concurrency"] = o.concurrency;
    j["warmup_passes"] = o.warmup;
    j["concurrency_mode"] = o.concurrency > 1 ? kConcurrencyMode : "single stream";
    double prefill_total = 0;
    for (const Stream & s : r.streams) {
        prefill_total += s.prefill_s;
        j["streams"].push_back({{"ttft_s", s.ttft_s},
                                {"prefill_tok_s", o.prompt / s.prefill_s},
                                {"decode_tok_s", o.gen / r.decode_wall_s}});
    }
    j["aggregate"] = {{"prefill_tok_s", o.prompt * o.concurrency / prefill_total},
                      {"decode_tok_s", o.gen * o.concurrency / r.decode_wall_s}};
    if (r.steady_window_s > 0) j["aggregate"]["decode_all_streams_tok_s"] = r.steady_tok_s;
    j["peak_rss_kib"] = r.peak_rss_kib;
    j["kv_cache"] = gemma::dtype_name(o.kv_cache);
    j["kv_cache_bytes"] = r.kv_bytes;
    if (o.concurrency > 1)
        j["sampling"] = {{"mode", o.sampling},
                         {"device_top_k", o.device_top_k},
                         {"rows_from_candidates", r.rows_candidates},
                         {"rows_from_whole_logits", r.rows_full}};
    std::printf("%s\n", j.dump(2).c_str());
}

int usage(const std::string & msg) {
    std::fprintf(stderr,
                 "gemdesk-cli bench: %s\nusage: gemdesk-cli bench (--synthetic e4b|tiny | --model "
                 "DIR) [--backend B] [--prompt P] [--gen G] [--concurrency C] [--batch N (0: 1024 on a GPU, 256 on the CPU)] "
                 "[--seed S] [--weights bf16|q8_0|q4_0] [--ple-host] "
                 "[--warmup W (untimed passes, default 1)] "
                 "[--kv-cache f32|bf16|q8_0] [--sampling greedy|gemma] [--device-top-k K] "
                 "[--json]\n"
                 "       gemdesk-cli bench --image BUDGET ... (image -> first token; see "
                 "gemdesk-cli bench --image 0)\n",
                 msg.c_str());
    return 2;
}

// Parses and checks the options; an empty string means they are usable.
std::string parse_options(int argc, char ** argv, BenchOptions & o) {
    Args args(argc, argv, {"json", "ple-host"});
    std::string bad = args.check_known({"synthetic", "model", "backend", "prompt", "gen",
                                        "concurrency", "batch", "seed", "warmup", "json", "weights",
                                        "kv-cache", "ple-host", "sampling", "device-top-k"});
    if (!bad.empty()) return bad;
    o.prompt = int(args.get_int("prompt", o.prompt));
    o.gen = int(args.get_int("gen", o.gen));
    o.concurrency = int(args.get_int("concurrency", o.concurrency));
    o.batch = int(args.get_int("batch", o.batch));
    o.seed = uint64_t(args.get_int("seed", int64_t(o.seed)));
    o.warmup = int(args.get_int("warmup", o.warmup));
    o.json = args.has("json");
    o.sampling = args.get("sampling", o.sampling);
    o.device_top_k = int(args.get_int("device-top-k", o.device_top_k));
    if (!args.error().empty()) return args.error();
    if (std::string bad_model = parse_bench_model_args(args, o); !bad_model.empty())
        return bad_model;
    if (o.prompt < 1 || o.gen < 1 || o.concurrency < 1 || o.batch < 0)
        return "--prompt, --gen and --concurrency must be at least 1, --batch 0 (auto) or more";
    if (o.warmup < 0) return "--warmup must be 0 or more";
    if (o.sampling != "greedy" && o.sampling != "gemma")
        return "--sampling must be greedy or gemma (T 1, top_k 64, top_p 0.95)";
    if (o.device_top_k < 0 || o.device_top_k > gemma::kTopKMax)
        return gemma::format("--device-top-k must be in [0, %d] (0: read whole logits rows)",
                             gemma::kTopKMax);
    return "";
}

}  // namespace

int cmd_bench(int argc, char ** argv) {
    for (int i = 1; i < argc; ++i)  // an image turn is its own benchmark (cmd_bench_image.cpp)
        if (std::string(argv[i]) == "--image" || std::string(argv[i]).rfind("--image=", 0) == 0)
            return cmd_bench_image(argc, argv);
    BenchOptions o;
    std::string bad = parse_options(argc, argv, o);
    if (!bad.empty()) return usage(bad);
    auto backend = gemma::backend_create(o.backend);
    if (!backend.ok()) return usage(backend.error().message);
    BenchResult res;
    res.model = o.model_dir.empty() ? "synthetic " + o.synthetic : o.model_dir;
    res.backend = (*backend)->info().name + " (" + (*backend)->info().description + ")";
    if (o.batch == 0)
        o.batch = (*backend)->info().where == gemma::Where::device ? gemma::runtime::kDeviceStepTokens : 256;
    auto t_build = Clock::now();
    auto model = build_model(o, **backend);
    if (!model.ok()) {
        std::fprintf(stderr, "gemdesk-cli bench: cannot build the model: %s\n",
                     model.error().message.c_str());
        return 1;
    }
    res.build_s = seconds_since(t_build);
    res.weight_gib = weight_gib((*model)->weights());
    if (o.ple_host)
        res.ple_host_gib = double((*model)->weights().ple_embed.nbytes()) / double(1ull << 30);
    gemma::Status st = run_streams(o, **model, res);
    if (!st.ok()) {
        std::fprintf(stderr, "gemdesk-cli bench: run failed: %s\n", st.error().message.c_str());
        return 1;
    }
    res.peak_rss_kib = peak_rss_kib();
    if (o.json)
        print_json(o, res);
    else
        print_text(o, res);
    return 0;
}

}  // namespace gemdesk::cli
