// Stop ids come from the checkpoint's generation_config.json (spec §1.3): on the fixture they must
// be exactly <eos>, <turn|> and <|tool_response>, whose ids golden_chat.json records separately.
#include "runtime/chat_stop_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/chat_types.h"

namespace gemma::chat {
namespace {

const std::string kChatDir = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4-chat";

class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("gemma_stop_ids_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    void write(const std::string & name, const std::string & text) const {
        std::ofstream(path_ / name) << text;
    }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

TEST(ChatStopTokens, FixtureStopsOnEosTurnEndAndToolResponse) {
    auto ids = chat_stop_ids_read(kChatDir);
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    std::ifstream f(kChatDir + "/golden_chat.json");
    Json special = Json::parse(f)["special_ids"];
    std::vector<int32_t> expected = {
        special["eos_token"].get<int32_t>(), special["eot_token"].get<int32_t>(),
        special["str_token"].get<int32_t>()};  // <eos>, <turn|>, <|tool_response>
    EXPECT_EQ(*ids, expected);
}

TEST(ChatStopTokens, ScalarEosAndMerge) {
    TempDir dir;
    dir.write("generation_config.json", R"({"bos_token_id": 2, "eos_token_id": 1})");
    auto ids = chat_stop_ids_read(dir.str());
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    EXPECT_EQ(*ids, std::vector<int32_t>({1}));
    EXPECT_EQ(chat_stop_ids_merge(*ids, {106, 1, 50}), std::vector<int32_t>({1, 106, 50}));
}

TEST(ChatStopTokens, FallsBackToConfigJson) {
    TempDir dir;
    dir.write("config.json", R"({"text_config": {"eos_token_id": [1, 106, 1]}})");
    auto ids = chat_stop_ids_read(dir.str());
    ASSERT_TRUE(ids.ok()) << ids.error().message;
    EXPECT_EQ(*ids, std::vector<int32_t>({1, 106}));
}

TEST(ChatStopTokens, BadFilesAreErrors) {
    TempDir missing;
    auto none = chat_stop_ids_read(missing.str());
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().code, ErrorCode::not_found);

    for (const char * text :
         {"{not json", R"({"eos_token_id": "1"})", R"({"eos_token_id": [1, -2]})",
          R"({"eos_token_id": []})", "[1, 106]"}) {
        SCOPED_TRACE(text);
        TempDir dir;
        dir.write("generation_config.json", text);
        auto ids = chat_stop_ids_read(dir.str());
        ASSERT_FALSE(ids.ok());
        EXPECT_EQ(ids.error().code, ErrorCode::corrupt_file);
        EXPECT_NE(ids.error().message.find("generation_config.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace gemma::chat
