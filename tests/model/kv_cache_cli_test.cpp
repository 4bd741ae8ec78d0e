// The --kv-cache flag of the built gemdesk-cli (GEMMA_BIN_DIR): run with a q8_0 cache answers the
// same greedy text as f32 on the tiny chat model, bench reports the cache's memory (34/128 of
// f32 for q8_0, 1/2 for bf16), and a bad value exits 2 naming it and the choices.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "text_util.h"

using namespace text_test;

namespace {

const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";

struct CliResult {
    int exit_code = -1;
    std::string out;  // stdout only (stderr goes to err)
    std::string err;
};

CliResult run_cli(const std::string & args) {
    CliResult r;
    std::string err_path = testing::TempDir() + "kv_cache_cli_err_" + std::to_string(::getpid());
    std::string cmd = kCli + " " + args + " 2> '" + err_path + "'";
    FILE * p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (FILE * e = fopen(err_path.c_str(), "r")) {
        while ((n = fread(buf.data(), 1, buf.size(), e)) > 0) r.err.append(buf.data(), n);
        fclose(e);
    }
    std::remove(err_path.c_str());
    return r;
}

}  // namespace

// Greedy, 8 tokens: the q8_0 cache changes the logits slightly (tests/runtime bounds them) but
// not the tokens picked here.
TEST(KvCacheCli, RunWithQ8CacheAnswersLikeF32) {
    std::string args = "run --model " + kChat +
                       " --prompt 'Hello there' --max-tokens 8 "
                       "--temperature 0 --kv-cache ";
    CliResult f32 = run_cli(args + "f32"), q8 = run_cli(args + "q8_0");
    ASSERT_EQ(f32.exit_code, 0) << f32.err;
    ASSERT_EQ(q8.exit_code, 0) << q8.err;
    EXPECT_GT(q8.out.size(), size_t(1));
    EXPECT_EQ(q8.out, f32.out);
}

TEST(KvCacheCli, BenchReportsKvMemory) {
    size_t bytes[3] = {};
    const char * types[3] = {"f32", "bf16", "q8_0"};
    for (int i = 0; i < 3; ++i) {
        CliResult r = run_cli("bench --model " + kTiny +
                              " --backend cpu --prompt 40 --gen 8 "
                              "--json --kv-cache " +
                              types[i]);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r.out;
        EXPECT_EQ(j.value("kv_cache", ""), types[i]);
        bytes[i] = j.value("kv_cache_bytes", size_t(0));
    }
    EXPECT_GT(bytes[0], size_t(0));
    EXPECT_EQ(bytes[1] * 2, bytes[0]);
    EXPECT_EQ(bytes[2] * 128, bytes[0] * 34);
}

TEST(KvCacheCli, BadValueIsAUsageError) {
    for (const std::string & cmd : {"run --model " + kChat + " --prompt hi --kv-cache q4_0",
                                    "chat --model " + kChat + " --kv-cache fp8",
                                    "bench --model " + kTiny + " --kv-cache int8"}) {
        CliResult r = run_cli(cmd);
        EXPECT_EQ(r.exit_code, 2) << cmd;
        EXPECT_NE(r.err.find("--kv-cache"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("use f32, bf16 or q8_0"), std::string::npos) << r.err;
    }
}
