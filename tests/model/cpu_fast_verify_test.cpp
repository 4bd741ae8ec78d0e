// The fixtures through the fast CPU backend: `gemdesk-cli verify --backend cpu` (a separate
// process, as users run it) must pass every golden case at the fp32 tolerance (1e-4 relative).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";
const std::string kData = GEMMA_TEST_DATA_DIR;

struct CliRun {
    int exit_code = -1;
    std::string output;  // stdout + stderr
};

CliRun run_cli(const std::string & args) {
    CliRun r;
    FILE * p = popen((kCli + " " + args + " 2>&1").c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

CliRun verify(const std::string & fixture) {
    std::string dir = kData + "/" + fixture;
    return run_cli("verify --backend cpu --tolerance 1e-4 --model " + dir + " --golden " + dir +
                   "/golden.safetensors");
}

}  // namespace

TEST(CpuFastVerify, TinyFixturePassesOnCpuBackend) {
    ASSERT_TRUE(std::filesystem::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    CliRun r = verify("tiny-gemma4");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    // Every golden of the fixture: 7 hidden states, text/decode logits, image.*, audio.*, mm.*.
    EXPECT_NE(r.output.find("verify: 19 passed, 0 failed"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST(CpuFastVerify, ChatFixturePassesOnCpuBackend) {
    ASSERT_TRUE(std::filesystem::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    CliRun r = verify("tiny-gemma4-chat");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("verify: 1 passed, 0 failed"), std::string::npos) << r.output;
}

// The backend name reaches the model: an unknown one is a usage error naming the known backends.
TEST(CpuFastVerify, UnknownBackendIsAUsageError) {
    ASSERT_TRUE(std::filesystem::exists(kCli)) << "build gemdesk-cli first: " << kCli;
    std::string dir = kData + "/tiny-gemma4";
    CliRun r = run_cli("verify --backend nope --model " + dir + " --golden " + dir +
                       "/golden.safetensors");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("cpu"), std::string::npos) << r.output;
}
