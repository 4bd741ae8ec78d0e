// gemdesk-cli run / chat with --image and --audio on tiny-gemma4-chat (the built binary in
// GEMMA_BIN_DIR): success exits 0; a corrupt image exits 1 naming the file; a missing file exits 2;
// chat --json reports prompt tokens with the image expanded (260 soft tokens at the default
// budget, spec table) and serves the second turn from the prefix cache.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

const std::string kData = std::string(GEMMA_TEST_DATA_DIR);
const std::string kChatDir = kData + "/tiny-gemma4-chat";
const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";

std::string slurp(const std::filesystem::path & p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct CliRun {
    int exit_code = -1;
    std::string out, err;
};

class MediaCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("gemdesk_media_cli_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // `gemdesk-cli ARGS < stdin_text`, stdout and stderr captured.
    CliRun run(const std::string & args, const std::string & stdin_text = "") {
        std::ofstream(dir_ / "in", std::ios::binary) << stdin_text;
        std::string cmd = "'" + kCli + "' " + args + " < '" + (dir_ / "in").string() + "' > '" +
                          (dir_ / "out").string() + "' 2> '" + (dir_ / "err").string() + "'";
        int status = std::system(cmd.c_str());
        CliRun r;
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        r.out = slurp(dir_ / "out");
        r.err = slurp(dir_ / "err");
        return r;
    }
    std::filesystem::path dir_;
};

const std::string kGreedy = " --model '" + kChatDir + "' --temperature 0 --max-tokens 3 --ctx 1024";

}  // namespace

TEST_F(MediaCli, RunWithImageAndAudio) {
    CliRun r = run("run" + kGreedy + " --prompt 'What is in these?' --image '" + kData +
                   "/tiny-gemma4/image.png' --audio '" + kData + "/tiny-gemma4/audio.wav'");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
}

TEST_F(MediaCli, RunWithCorruptOrMissingImage) {
    std::ofstream(dir_ / "broken.png", std::ios::binary) << "\x89PNG\r\n\x1a\n not really";
    CliRun bad =
        run("run" + kGreedy + " --prompt hi --image '" + (dir_ / "broken.png").string() + "'");
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    EXPECT_NE(bad.err.find("broken.png"), std::string::npos) << bad.err;
    CliRun missing =
        run("run" + kGreedy + " --prompt hi --image '" + (dir_ / "nope.png").string() + "'");
    EXPECT_EQ(missing.exit_code, 2) << missing.err;
    EXPECT_NE(missing.err.find("nope.png"), std::string::npos) << missing.err;
    CliRun budget = run("run" + kGreedy + " --prompt hi --image-budget 100");
    EXPECT_EQ(budget.exit_code, 2) << budget.err;
}

// The image goes with the first message only; the second turn reuses the first turn's KV.
TEST_F(MediaCli, ChatJsonWithImage) {
    CliRun r = run("chat --json" + kGreedy + " --image '" + kData + "/tiny-gemma4/image.png'",
                   "Describe it.\nAnd then?\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<nlohmann::json> finishes;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        auto ev = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(ev.is_discarded()) << line;
        ASSERT_NE(ev["type"], "error") << line;
        if (ev["type"] == "finish") finishes.push_back(ev);
    }
    ASSERT_EQ(finishes.size(), 2u) << r.out;
    const int p1 = finishes[0]["usage"]["prompt_tokens"].get<int>();
    EXPECT_GT(p1, 260) << "the image's 260 soft tokens are part of the prompt";
    EXPECT_GE(finishes[1]["usage"]["cached_tokens"].get<int>(), p1);
}
