// gemdesk-cli tokenize: JSON lines {"text": ...} on stdin -> {"ids": [...]} on stdout, one line
// per input line, flushed per line (no BOS: the chat template writes <bos>). With --bench FILE,
// measures encode throughput on that text instead.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "common/args.h"
#include "tokenizer/tokenizer.h"

namespace gemdesk::cli {

namespace {

using gemma::tok::TokenId;
using gemma::tok::Tokenizer;

constexpr const char * kUsage =
    "usage: gemdesk-cli tokenize (--model DIR | --tokenizer FILE) [--bench TEXTFILE] < jsonl\n";

bool all_space(const std::string & s) {
    return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

// Reads stdin to the end; returns the exit code.
int run_lines(const Tokenizer & tok) {
    std::string line, out;
    for (long long n_line = 1; std::getline(std::cin, line); ++n_line) {
        if (all_space(line)) continue;
        const auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!doc.is_object() || !doc.contains("text") || !doc["text"].is_string()) {
            std::fprintf(stderr,
                         "gemdesk-cli tokenize: line %lld: expected a JSON object with a string "
                         "field \"text\", e.g. {\"text\": \"Hello\"}\n",
                         n_line);
            return 1;
        }
        auto ids = tok.encode(doc["text"].get_ref<const std::string &>());
        if (!ids) {
            std::fprintf(stderr, "gemdesk-cli tokenize: line %lld: %s\n", n_line,
                         ids.error().message.c_str());
            return 1;
        }
        out.assign("{\"ids\":[");
        for (size_t i = 0; i < ids->size(); ++i) {
            if (i) out.push_back(',');
            out.append(std::to_string((*ids)[i]));
        }
        out.append("]}\n");
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
    }
    return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One cold-cache pass (the first encode after loading), then the best of three warm passes.
int run_bench(const Tokenizer & tok, const std::string & path, double load_s, int argc,
              char ** argv) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "gemdesk-cli tokenize: cannot open bench text %s\n", path.c_str());
        return 1;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    const double mb = static_cast<double>(text.size()) / 1e6;
    double best = 0, cold = 0;
    size_t n_tokens = 0;
    for (int pass = 0; pass < 4; ++pass) {
        const auto t0 = std::chrono::steady_clock::now();
        auto ids = tok.encode(text);
        const double s = seconds_since(t0);
        if (!ids) {
            std::fprintf(stderr, "gemdesk-cli tokenize: %s: %s\n", path.c_str(),
                         ids.error().message.c_str());
            return 1;
        }
        n_tokens = ids->size();
        if (pass == 0) cold = mb / s;
        if (pass > 0 && mb / s > best) best = mb / s;
    }
    std::printf("command: gemdesk-cli");
    for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
    std::printf("\ntokenizer: %s (vocabulary %d, loaded in %.2f s)\n", tok.source().c_str(),
                tok.vocab_size(), load_s);
    std::printf("text: %s, %.2f MB, %zu tokens (%.2f bytes/token)\n", path.c_str(), mb, n_tokens,
                static_cast<double>(text.size()) / static_cast<double>(n_tokens ? n_tokens : 1));
    std::printf(
        "encode, 1 thread: %.1f MB/s first pass (cold cache), %.1f MB/s best of 3 warm passes\n",
        cold, best);
    return 0;
}

}  // namespace

int cmd_tokenize(int argc, char ** argv) {
    Args args(argc, argv, {});
    std::string err = args.check_known({"model", "tokenizer", "bench"});
    if (err.empty()) err = args.error();
    if (err.empty() && args.has("model") == args.has("tokenizer")) {
        err = "give exactly one of --model DIR or --tokenizer FILE";
    }
    if (!err.empty() || !args.positional().empty()) {
        std::fprintf(stderr, "gemdesk-cli tokenize: %s\n%s",
                     err.empty() ? "unexpected argument" : err.c_str(), kUsage);
        return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto tok = args.has("model") ? gemma::tok::load_tokenizer(args.get("model"))
                                 : gemma::tok::load_tokenizer_file(args.get("tokenizer"));
    if (!tok) {
        std::fprintf(stderr, "gemdesk-cli tokenize: %s\n", tok.error().message.c_str());
        return 1;
    }
    if (args.has("bench"))
        return run_bench(**tok, args.get("bench"), seconds_since(t0), argc, argv);
    return run_lines(**tok);
}

}  // namespace gemdesk::cli
