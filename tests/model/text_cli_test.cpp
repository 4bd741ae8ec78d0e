// Runs the built gemdesk-cli verify (GEMMA_BIN_DIR) as a separate process: exit code and summary
// line on the fixtures, a clear error and no crash on a corrupt model dir, and its peak RSS.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "text_util.h"

using namespace text_test;
namespace fs = std::filesystem;

namespace {

const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";

struct RunResult {
    int exit_code = -1;
    bool signaled = false;
    std::string output;  // stdout + stderr
};

RunResult run(const std::string & args) {
    RunResult r;
    std::string cmd = kCli + " " + args + " 2>&1";
    FILE * p = popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int status = pclose(p);
    r.signaled = WIFSIGNALED(status);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

bool ends_with_line(const std::string & out, const std::string & line) {
    return out.size() >= line.size() + 1 &&
           out.compare(out.size() - line.size() - 1, line.size() + 1, line + "\n") == 0;
}

}  // namespace

TEST(TextCli, VerifyTinyFixturePasses) {
    ASSERT_TRUE(fs::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    RunResult r = run("verify --model " + kTiny + " --golden " + kTiny + "/golden.safetensors");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // 7 hidden states + text.logits + decode.forced_logits + decode.logits, 4 image.*, 3 audio.*,
    // mm.logits and mm_image.logits: every golden output of the fixture, none skipped.
    EXPECT_TRUE(ends_with_line(r.output, "verify: 19 passed, 0 failed")) << r.output;
    for (const char * name :
         {"image.pixel_values", "image.position_ids", "image.soft_tokens",
          "audio.input_features_mask", "audio.soft_tokens", "mm.logits", "mm_image.logits"})
        EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
    EXPECT_EQ(r.output.find("SKIP"), std::string::npos) << r.output;
    // The audio goldens reproduce transformers' eager (inverted) audio mask; verify says so.
    EXPECT_NE(r.output.find("audio mask: hf_eager, as the fixture's reference"), std::string::npos)
        << r.output;
}

TEST(TextCli, VerifyChatFixturePasses) {
    RunResult r = run("verify --model " + kChat + " --golden " + kChat + "/golden.safetensors");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(ends_with_line(r.output, "verify: 1 passed, 0 failed")) << r.output;
}

TEST(TextCli, VerifyWrongGoldenFails) {
    RunResult r = run("verify --model " + kChat + " --golden " + kTiny + "/golden.safetensors");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST(TextCli, CorruptModelDirGivesErrorNotCrash) {
    fs::path dir = fs::temp_directory_path() / ("gemma_cli_bad_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(kTiny + "/config.json", dir / "config.json",
                  fs::copy_options::overwrite_existing);
    {
        std::ifstream in(kTiny + "/model.safetensors", std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream out(dir / "model.safetensors", std::ios::binary);
        out.write(bytes.data(), std::streamsize(bytes.size() / 2));  // truncated checkpoint
    }
    RunResult r =
        run("verify --model " + dir.string() + " --golden " + kTiny + "/golden.safetensors");
    EXPECT_FALSE(r.signaled) << r.output;
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("cannot load the model"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("model.safetensors"), std::string::npos) << r.output;
    fs::remove_all(dir);
}

TEST(TextCli, BadUsage) {
    RunResult r = run("verify --model " + kTiny);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("--golden"), std::string::npos) << r.output;
    RunResult b = run("verify --model " + kTiny + " --golden " + kTiny +
                      "/golden.safetensors --backend nope");
    EXPECT_EQ(b.exit_code, 2) << b.output;
    EXPECT_NE(b.output.find("unknown backend 'nope'"), std::string::npos) << b.output;
}

// Memory: the weights are mapped, not copied, so verify on the tiny fixture peaks far below
// 50 MB. verify prints its own VmHWM (its address space only; a parent's RUSAGE_CHILDREN would also
// count the test process copied by fork before exec).
TEST(TextCli, VerifyPeakRssUnder50MB) {
    RunResult r = run("verify --model " + kTiny + " --golden " + kTiny + "/golden.safetensors");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto at = r.output.find("peak RSS: ");
    ASSERT_NE(at, std::string::npos) << r.output;
    long kib = std::stol(r.output.substr(at + 10));
    EXPECT_GT(kib, 1024) << r.output;  // a real reading: the binary alone maps more than 1 MiB
    EXPECT_LT(kib, 50 * 1024) << "peak RSS " << kib << " KiB";
}
