// `gemdesk-cli tokenize` end to end: JSON lines in, reference ids out in order; a bad line is
// reported by number with exit code 1. Skipped when the CLI has not been built.
#include <sys/wait.h>

#include <filesystem>

#include "test_util.h"

using namespace gemma::tok;
using namespace gemma::tok::test;

namespace {

namespace fs = std::filesystem;

struct CliRun {
    int exit_code = -1;
    std::vector<std::string> out_lines;
    std::string err;
};

class Cli : public ::testing::Test {
protected:
    void SetUp() override {
        bin_ = fs::path(GEMMA_BIN_DIR) / "gemdesk-cli";
        if (!fs::exists(bin_))
            GTEST_SKIP() << bin_ << " is not built (cmake --build build --target gemdesk-cli)";
        dir_ = fs::temp_directory_path() / ("gemma_tok_cli_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty()) fs::remove_all(dir_);
    }
    CliRun run(const std::string & args, const std::string & stdin_text) {
        std::ofstream(dir_ / "in.jsonl", std::ios::binary) << stdin_text;
        const std::string cmd = "\"" + bin_.string() + "\" tokenize " + args + " < \"" +
                                (dir_ / "in.jsonl").string() + "\" > \"" + (dir_ / "out").string() +
                                "\" 2> \"" + (dir_ / "err").string() + "\"";
        const int status = std::system(cmd.c_str());
        CliRun r;
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        std::ifstream out(dir_ / "out");
        for (std::string line; std::getline(out, line);) r.out_lines.push_back(line);
        std::ifstream err(dir_ / "err");
        r.err.assign(std::istreambuf_iterator<char>(err), {});
        return r;
    }
    fs::path bin_, dir_;
};

}  // namespace

TEST_F(Cli, GoldenTextsGiveReferenceIdsInOrder) {
    const auto golden = chat_golden();
    for (const char * args : {"--model", "--tokenizer"}) {
        const std::string where =
            std::string(args) == "--model" ? kChatDir : chat_tokenizer_path("tokenizer.model");
        std::string in;
        for (const auto & c : golden["tokenize"])
            in += nlohmann::json{{"text", c["text"]}}.dump() + "\n";
        const CliRun r = run(std::string(args) + " \"" + where + "\"", in);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ASSERT_EQ(r.out_lines.size(), golden["tokenize"].size());
        for (size_t i = 0; i < r.out_lines.size(); ++i) {
            const auto line = nlohmann::json::parse(r.out_lines[i]);
            EXPECT_EQ(line["ids"], golden["tokenize"][i]["ids"]) << args << " line " << i + 1;
        }
    }
}

TEST_F(Cli, BadLineIsReportedByNumber) {
    const CliRun r =
        run("--model \"" + kChatDir + "\"",
            "{\"text\": \"a\"}\n{\"text\": \"<bos>\"}\n{\"txt\": 1}\n{\"text\": \"b\"}\n");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
    ASSERT_EQ(r.out_lines.size(), 2u) << "lines before the bad one are answered";
    EXPECT_EQ(r.out_lines[1], "{\"ids\":[2]}");
}

TEST_F(Cli, UsageAndLoadErrors) {
    EXPECT_EQ(run("", "").exit_code, 2);
    const CliRun r = run("--model \"" + (dir_ / "missing").string() + "\"", "");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}
