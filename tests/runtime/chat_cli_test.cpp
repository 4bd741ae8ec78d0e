// Runs the built gemdesk-cli (GEMMA_BIN_DIR): `render` on a golden_chat.json case must print the
// golden text exactly (no newline added) and exit 0; an invalid request must exit 1 with the
// template's message on stderr; `parse` must print the OpenAI message JSON.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "runtime/chat_types.h"

namespace gemma::chat {
namespace {

const std::string kChatDir = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4-chat";
const std::string kCli = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli";

std::string read_file(const std::filesystem::path & path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct CliRun {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `gemdesk-cli ARGS < stdin_text` through the shell, capturing stdout and stderr.
CliRun run_cli(const std::string & args, const std::string & stdin_text) {
    static int counter = 0;
    auto dir = std::filesystem::temp_directory_path() /
               ("gemdesk_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "in", std::ios::binary) << stdin_text;
    std::string cmd = "'" + kCli + "' " + args + " < '" + (dir / "in").string() + "' > '" +
                      (dir / "out").string() + "' 2> '" + (dir / "err").string() + "'";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(dir / "out");
    r.err = read_file(dir / "err");
    std::filesystem::remove_all(dir);
    return r;
}

Json golden_case(const std::string & name) {
    Json golden = Json::parse(read_file(kChatDir + "/golden_chat.json"));
    for (const auto & c : golden["render"]) {
        if (c["name"] == name) return c;
    }
    ADD_FAILURE() << "golden case " << name << " missing";
    return Json();
}

class ChatCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(kCli))
            GTEST_SKIP() << kCli << " not built (cmake --build build --target gemdesk-cli)";
    }
};

TEST_F(ChatCli, RenderPrintsTheGoldenTextExactly) {
    // Request reconstructed for golden case "system_prompt" (see chat_render_golden_test.cpp).
    CliRun r = run_cli(
        "render --model '" + kChatDir + "'",
        R"({"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Why is the sky blue?"}]})");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, golden_case("system_prompt")["text"].get<std::string>());
    EXPECT_EQ(r.err, "");
}

TEST_F(ChatCli, RenderRejectsStringArgumentsWithTheTemplateError) {
    CliRun r = run_cli(
        "render --model '" + kChatDir + "'",
        R"({"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[{"id":"c1",)"
        R"("type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\"}"}}]}]})");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(golden_case("string_arguments_rejected")["error"].get<std::string>()),
              std::string::npos)
        << r.err;
}

TEST_F(ChatCli, RenderRejectsMalformedJsonAndBadUsage) {
    CliRun bad_json = run_cli("render --model '" + kChatDir + "'", R"({"messages": [)");
    EXPECT_EQ(bad_json.exit_code, 1);
    EXPECT_NE(bad_json.err.find("not valid JSON"), std::string::npos) << bad_json.err;
    CliRun no_model = run_cli("render", "{}");
    EXPECT_EQ(no_model.exit_code, 2);
    EXPECT_NE(no_model.err.find("--model"), std::string::npos) << no_model.err;
    CliRun not_gemma =
        run_cli("render --model '" + std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4'", "{}");
    EXPECT_EQ(not_gemma.exit_code, 1);
    EXPECT_NE(not_gemma.err.find("chat_template"), std::string::npos) << not_gemma.err;
}

TEST_F(ChatCli, ParsePrintsTheMessageJson) {
    CliRun r = run_cli("parse",
                       "<|channel>thought\nI need to find "
                       "files<channel|><|tool_call>call:find{path:<|\"|>research<|\"|>}"
                       "<tool_call|><|tool_response>");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Json j = Json::parse(r.out);
    EXPECT_TRUE(j["content"].is_null());
    EXPECT_EQ(j["reasoning_content"], "I need to find files");
    EXPECT_EQ(j["reasoning"], "I need to find files");
    ASSERT_EQ(j["tool_calls"].size(), 1u);
    EXPECT_EQ(j["tool_calls"][0]["type"], "function");
    EXPECT_EQ(j["tool_calls"][0]["function"]["name"], "find");
    EXPECT_EQ(Json::parse(j["tool_calls"][0]["function"]["arguments"].get<std::string>()),
              Json::parse(R"({"path":"research"})"));
    EXPECT_EQ(j["tool_calls"][0]["id"].get<std::string>().rfind("chatcmpl-tool-", 0), 0u);
}

TEST_F(ChatCli, ParseUsesThePromptTail) {
    auto prompt =
        std::filesystem::temp_directory_path() / ("gemdesk_prompt_" + std::to_string(::getpid()));
    std::ofstream(prompt)
        << "<|turn>model\n<|tool_response>response:f{value:1}<tool_response|><|channel>thought\n";
    CliRun r = run_cli("parse --prompt-file '" + prompt.string() + "'",
                       "I need to answer<channel|>The answer is 42");
    std::filesystem::remove(prompt);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Json j = Json::parse(r.out);
    EXPECT_EQ(j["reasoning_content"], "I need to answer");
    EXPECT_EQ(j["content"], "The answer is 42");
}

}  // namespace
}  // namespace gemma::chat
