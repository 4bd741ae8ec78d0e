// Every `render` case of tests/data/tiny-gemma4-chat/golden_chat.json (rendered by Jinja2 from the
// checkpoint's chat_template.jinja) must come out of the native renderer byte for byte, or fail
// with the template's own error text.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "runtime/chat_request.h"
#include "runtime/chat_template.h"

namespace gemma::chat {
namespace {

const std::string kChatDir = std::string(GEMMA_TEST_DATA_DIR) + "/tiny-gemma4-chat";

std::string read_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// golden_chat.json stores each case's name, expected text and error, but not the request that
// produced it. These requests were reconstructed from the names and texts, and each was checked to
// reproduce the golden text when rendered with Jinja2 from the fixture's chat_template.jinja.
#define WX_TOOL                                                                                    \
    R"({"type":"function","function":{"name":"get_weather","description":"Current weather for a )" \
    R"(city","parameters":{"type":"object","properties":{"city":{"type":"string","description":)"  \
    R"("City name"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}})"

const std::map<std::string, std::string> kRequests = {
    {"single_user", R"({"messages":[{"role":"user","content":"Hello!"}]})"},
    {"multi_turn", R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":)"
                   R"("Hello, how can I help?"},{"role":"user","content":"Tell me a joke."}]})"},
    {"system_prompt", R"({"messages":[{"role":"system","content":"You are terse."},)"
                      R"({"role":"user","content":"Why is the sky blue?"}]})"},
    {"thinking_on", R"({"messages":[{"role":"user","content":"What is 17*23?"}],)"
                    R"("chat_template_kwargs":{"enable_thinking":true}})"},
    {"thinking_on_with_system", R"({"messages":[{"role":"system","content":"Be careful."},)"
                                R"({"role":"user","content":"Plan a trip."}],)"
                                R"("chat_template_kwargs":{"enable_thinking":true}})"},
    {"tools_declared",
     R"({"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[)" WX_TOOL "]}"},
    {"tool_call_and_result",
     R"({"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"",)"
     R"("tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather",)"
     R"("arguments":{"city":"Paris","unit":"celsius"}}}]},{"role":"tool","tool_call_id":"call_1",)"
     R"("content":"{\"temp\": 21, \"sky\": \"clear\"}"}],"tools":[)" WX_TOOL "]}"},
    {"assistant_reasoning_dropped",
     R"({"messages":[{"role":"user","content":"Q1"},{"role":"assistant","content":"A1",)"
     R"("reasoning_content":"Thinking about Q1."},{"role":"user","content":"Q2"}]})"},
    {"content_parts_image", R"({"messages":[{"role":"user","content":[{"type":"image"},)"
                            R"({"type":"text","text":"What is in this picture?"}]}]})"},
    {"content_parts_audio", R"({"messages":[{"role":"user","content":[{"type":"audio"},)"
                            R"({"type":"text","text":"Transcribe this audio."}]}]})"},
    {"nested_tool_schema",
     R"({"messages":[{"role":"user","content":"find my notes"}],"tools":[{"type":"function",)"
     R"("function":{"name":"search_files","description":"Find files","parameters":{"type":"object",)"
     R"("properties":{"query":{"type":"string"},"max_results":{"type":"integer"},"extensions":)"
     R"({"type":"array","items":{"type":"string"}},"options":{"type":"object","properties":)"
     R"({"case_sensitive":{"type":"boolean"},"depth":{"type":"number","nullable":true}}}},)"
     R"("required":["query"]}}}]})"},
    {"string_arguments_rejected",
     R"({"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[)"
     R"({"id":"c1","type":"function","function":{"name":"get_weather",)"
     R"("arguments":"{\"city\": \"Rome\"}"}}]}],"tools":[)" WX_TOOL "]}"},
};

Result<std::string> render_request(const std::string & request_text) {
    auto request = chat_request_parse(request_text);
    if (!request.ok()) return request.error();
    auto info = chat_template_inspect(read_file(kChatDir + "/chat_template.jinja"));
    if (!info.ok()) return info.error();
    return chat_render(*request, *info);
}

TEST(ChatRenderGolden, EveryRenderCaseMatches) {
    auto golden = nlohmann::json::parse(read_file(kChatDir + "/golden_chat.json"));
    ASSERT_TRUE(golden.contains("render"));
    ASSERT_EQ(golden["render"].size(), kRequests.size())
        << "golden_chat.json gained or lost render cases";
    for (const auto & c : golden["render"]) {
        std::string name = c["name"].get<std::string>();
        SCOPED_TRACE(name);
        auto it = kRequests.find(name);
        ASSERT_NE(it, kRequests.end()) << "no request for golden case " << name;
        auto text = render_request(it->second);
        if (c["text"].is_string()) {
            ASSERT_TRUE(text.ok()) << text.error().message;
            EXPECT_EQ(*text, c["text"].get<std::string>());
        } else {
            ASSERT_FALSE(text.ok()) << "expected the template error, got: " << *text;
            EXPECT_EQ(text.error().code, ErrorCode::invalid_argument);
            EXPECT_EQ(text.error().message, c["error"].get<std::string>());
        }
    }
}

TEST(ChatRenderGolden, FixtureTemplateIsTheSmallJulyVariant) {
    auto info = chat_template_inspect(read_file(kChatDir + "/chat_template.jinja"));
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_FALSE(info->empty_thought_when_off);  // E2B/E4B: no empty thought block (spec §0.1)
    EXPECT_TRUE(info->july_revision);
}

TEST(ChatRenderGolden, LoadsTemplateFromModelDir) {
    auto text = chat_template_load(kChatDir);
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(*text, read_file(kChatDir + "/chat_template.jinja"));
    auto missing = chat_template_load(kChatDir + "/no-such-dir");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(ChatRenderGolden, RejectsNonGemmaTemplate) {
    auto info =
        chat_template_inspect("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}");
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, ErrorCode::unsupported);
    EXPECT_NE(info.error().message.find("Gemma 4"), std::string::npos);
}

}  // namespace
}  // namespace gemma::chat
