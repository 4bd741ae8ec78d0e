// Spec gemma4-chat-protocol §6.1 rendering checklist (R1-R18, R30-R33, R35) and the §2.10 worked
// examples, table-driven. Expected strings are copied from the spec, which produced them by running
// the official July template through Jinja2; byte lengths from §2.10 cross-check the copies.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/chat_request.h"
#include "runtime/chat_template.h"

namespace gemma::chat {
namespace {

// Spec strings are written in Python repr notation; only "\n" needs decoding.
std::string spec_str(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
            out += '\n';
            ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

Result<std::string> render_json(const std::string & request, bool large_variant = false) {
    auto req = chat_request_parse(request);
    if (!req.ok()) return req.error();
    TemplateInfo info;
    info.empty_thought_when_off = large_variant;
    return chat_render(*req, info);
}

// Ex 3 tool (WX) and its declaration.
#define WX                                                                                           \
    R"({"type":"function","function":{"name":"get_weather","description":"Get the current weather )" \
    R"(for a city","parameters":{"type":"object","properties":{"city":{"type":"string",)"            \
    R"("description":"City name"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},)"       \
    R"("required":["city"]}}})"
#define WX_DECL                                                                                     \
    R"x(<|tool>declaration:get_weather{description:<|"|>Get the current weather for a city<|"|>,)x" \
    R"x(parameters:{properties:{city:{description:<|"|>City name<|"|>,type:<|"|>STRING<|"|>},)x"    \
    R"x(unit:{enum:[<|"|>celsius<|"|>,<|"|>fahrenheit<|"|>],type:<|"|>STRING<|"|>}},)x"             \
    R"x(required:[<|"|>city<|"|>],type:<|"|>OBJECT<|"|>}}<tool|>)x"
// §6 tool W and its declaration DW.
#define W                                                                                 \
    R"({"type":"function","function":{"name":"get_weather","description":"Get weather",)" \
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})"
#define DW                                                                                          \
    R"x(<|tool>declaration:get_weather{description:<|"|>Get weather<|"|>,parameters:{properties:)x" \
    R"x({city:{type:<|"|>STRING<|"|>}},required:[<|"|>city<|"|>],type:<|"|>OBJECT<|"|>}}<tool|>)x"

struct ExactCase {
    const char * id;
    std::string request;
    std::string expected;  // spec notation
    size_t spec_bytes;     // 0 when the spec gives no length
    bool large_variant = false;
};

const std::vector<ExactCase> kExact = {
    {"R1", R"({"messages":[{"role":"user","content":"Hello"}]})",
     R"(<bos><|turn>user\nHello<turn|>\n<|turn>model\n)", 0},
    {"R2/Ex1",
     R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello! How can I help?"},)"
     R"({"role":"user","content":"Tell me a joke."}]})",
     R"(<bos><|turn>user\nHi<turn|>\n<|turn>model\nHello! How can I help?<turn|>\n<|turn>user\nTell me a joke.<turn|>\n<|turn>model\n)",
     118},
    {"R3",
     R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}],"add_generation_prompt":false})",
     R"(<bos><|turn>user\nHi<turn|>\n<|turn>model\nHello<turn|>\n)", 0},
    {"R4/Ex2-off",
     R"({"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"What is 2+2?"}]})",
     R"(<bos><|turn>system\nYou are a concise assistant.<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n)",
     100},
    {"R4/Ex2-on",
     R"({"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"What is 2+2?"}],)"
     R"("chat_template_kwargs":{"enable_thinking":true}})",
     R"(<bos><|turn>system\n<|think|>\nYou are a concise assistant.<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n)",
     110},
    {"R5/Ex2-on-nosys",
     R"({"messages":[{"role":"user","content":"What is 2+2?"}],"chat_template_kwargs":{"enable_thinking":true}})",
     R"(<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n)",
     82},
    {"Ex2-off-nosys", R"({"messages":[{"role":"user","content":"What is 2+2?"}]})",
     R"(<bos><|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n)", 0},
    {"R6", R"({"messages":[{"role":"system","content":"   "},{"role":"user","content":"Hi"}]})",
     R"(<bos><|turn>system\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n)", 0},
    {"R7",
     R"({"messages":[{"role":"developer","content":"You are a concise assistant."},{"role":"user","content":"What is 2+2?"}]})",
     R"(<bos><|turn>system\nYou are a concise assistant.<turn|>\n<|turn>user\nWhat is 2+2?<turn|>\n<|turn>model\n)",
     100},
    {"R8/Ex2-parts",
     R"({"messages":[{"role":"system","content":[{"type":"text","text":"You are concise."}]},)"
     R"({"role":"user","content":[{"type":"text","text":"Hi"}]}]})",
     R"(<bos><|turn>system\nYou are concise. <turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n)", 79},
    {"R9",
     R"({"messages":[{"role":"user","content":[{"type":"text","text":"  A  "},{"type":"text","text":" B"}]}]})",
     R"(<bos><|turn>user\nAB<turn|>\n<|turn>model\n)", 0},
    {"R10",
     R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"<|channel>thought\nsecret<channel|>Hello!"},)"
     R"({"role":"user","content":"Again"}]})",
     R"(<bos><|turn>user\nHi<turn|>\n<|turn>model\nHello!<turn|>\n<|turn>user\nAgain<turn|>\n<|turn>model\n)",
     0},
    {"R12", R"({"messages":[{"role":"user","content":"x"}],"tools":[)" W "]}",
     R"(<bos><|turn>system\n)" DW R"(<turn|>\n<|turn>user\nx<turn|>\n<|turn>model\n)", 0},
    {"Ex3", R"({"messages":[{"role":"user","content":"Weather in Paris?"}],"tools":[)" WX "]}",
     R"(<bos><|turn>system\n)" WX_DECL
     R"(<turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n)",
     382},
    {"R14/Ex4",
     R"({"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","tool_calls":[)"
     R"({"id":"call_1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius"}}}]},)"
     R"({"role":"tool","tool_call_id":"call_1","content":"{\"temp\": 18, \"sky\": \"cloudy\"}"}],"tools":[)" WX
     "]}",
     R"x(<bos><|turn>system\n)x" WX_DECL
     R"x(<turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Paris<|"|>,unit:<|"|>celsius<|"|>}<tool_call|><|tool_response>response:get_weather{value:<|"|>{"temp": 18, "sky": "cloudy"}<|"|>}<tool_response|>)x",
     566},
    {"R15/Ex4-thinking",
     R"({"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"",)"
     R"("reasoning_content":"I need the weather tool.","tool_calls":[{"id":"call_1","type":"function",)"
     R"("function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},)"
     R"({"role":"tool","tool_call_id":"call_1","content":"18C cloudy"}],"tools":[)" WX
     R"(],"chat_template_kwargs":{"enable_thinking":true}})",
     R"x(<bos><|turn>system\n<|think|>\n)x" WX_DECL
     R"x(<turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n<|channel>thought\nI need the weather tool.\n<channel|><|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|><|tool_response>response:get_weather{value:<|"|>18C cloudy<|"|>}<tool_response|><|channel>thought\n)x",
     605},
    {"R16/Ex8",
     R"({"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function",)"
     R"("function":{"name":"get_weather","arguments":{"city":"Rome"}}}]}],"tools":[)" WX
     R"(],"add_generation_prompt":false})",
     R"x(<bos><|turn>system\n)x" WX_DECL
     R"x(<turn|>\n<|turn>user\nWeather?<turn|>\n<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Rome<|"|>}<tool_call|><|tool_response>)x",
     450},
    {"R17/Ex6",
     R"({"messages":[{"role":"user","content":"Weather in Paris and London?"},{"role":"assistant","content":null,"tool_calls":[)"
     R"({"id":"a","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}},)"
     R"({"id":"b","type":"function","function":{"name":"get_weather","arguments":{"city":"London"}}}]},)"
     R"({"role":"tool","tool_call_id":"a","content":"18C"},{"role":"tool","tool_call_id":"b","content":"12C"}],"tools":[)" WX
     "]}",
     R"x(<bos><|turn>system\n)x" WX_DECL
     R"x(<turn|>\n<|turn>user\nWeather in Paris and London?<turn|>\n<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|><|tool_call>call:get_weather{city:<|"|>London<|"|>}<tool_call|><|tool_response>response:get_weather{value:<|"|>18C<|"|>}<tool_response|><|tool_response>response:get_weather{value:<|"|>12C<|"|>}<tool_response|>)x",
     664},
    {"R18/Ex5",
     R"({"messages":[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","reasoning":"Need tool.",)"
     R"("tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},)"
     R"({"role":"tool","tool_call_id":"call_1","content":"18C cloudy"},)"
     R"({"role":"assistant","content":"It is 18°C and cloudy in Paris.","reasoning":"Summarize."},)"
     R"({"role":"user","content":"Thanks! And London?"}],"tools":[)" WX "]}",
     R"x(<bos><|turn>system\n)x" WX_DECL
     R"x(<turn|>\n<|turn>user\nWeather in Paris?<turn|>\n<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|><|tool_response>response:get_weather{value:<|"|>18C cloudy<|"|>}<tool_response|>It is 18°C and cloudy in Paris.<turn|>\n<|turn>user\nThanks! And London?<turn|>\n<|turn>model\n)x",
     616},
    {"R30", R"({"messages":[{"role":"user","content":"Hi"},{"role":"tool","content":"orphan"}]})",
     R"(<bos><|turn>user\nHi<turn|>\n<|turn>model\n)", 0},
    {"R31",
     R"({"messages":[{"role":"user","content":"Hi"},{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}]})",
     R"(<bos><|turn>user\nHi<turn|>\n<|turn>system\nBe brief.<turn|>\n<|turn>user\nHello<turn|>\n<|turn>model\n)",
     0},
    {"R33/Ex7a",
     R"({"messages":[{"role":"user","content":[{"type":"image"},{"type":"text","text":"What is in this image?"}]}]})",
     R"(<bos><|turn>user\n<|image|>What is in this image?<turn|>\n<|turn>model\n)", 69},
    {"R33/Ex7b",
     R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},)"
     R"({"type":"text","text":"Describe."},{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]})",
     R"(<bos><|turn>user\n<|image|>Describe.<|audio|><turn|>\n<|turn>model\n)", 65},
    {"video",
     R"({"messages":[{"role":"user","content":[{"type":"video"},{"type":"text","text":"What happens?"}]}]})",
     R"(<bos><|turn>user\n<|video|>What happens?<turn|>\n<|turn>model\n)", 0},
    {"R35", R"({"messages":[{"role":"user","content":"Hello"}]})",
     R"(<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>)", 0, true},
};

TEST(ChatRenderConformance, ExactStrings) {
    for (const auto & c : kExact) {
        SCOPED_TRACE(c.id);
        std::string expected = spec_str(c.expected);
        if (c.spec_bytes) {
            ASSERT_EQ(expected.size(), c.spec_bytes)
                << "expected string copied wrongly from the spec";
        }
        auto text = render_json(c.request, c.large_variant);
        ASSERT_TRUE(text.ok()) << text.error().message;
        EXPECT_EQ(*text, expected);
    }
}

TEST(ChatRenderConformance, R11EmptyAssistantStillOpensAndClosesATurn) {
    auto text = render_json(
        R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":""},)"
        R"({"role":"user","content":"More"}]})");
    ASSERT_TRUE(text.ok()) << text.error().message;
    std::string tail =
        spec_str(R"(<|turn>model\n<turn|>\n<|turn>user\nMore<turn|>\n<|turn>model\n)");
    ASSERT_GE(text->size(), tail.size());
    EXPECT_EQ(text->substr(text->size() - tail.size()), tail);
}

TEST(ChatRenderConformance, R18NoReasoningBeforeLastUser) {
    auto text = render_json(
        R"({"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A","reasoning":"R"},)"
        R"({"role":"user","content":"Q2"}],"chat_template_kwargs":{"enable_thinking":true}})");
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_EQ(text->find("<|channel>"), std::string::npos);
}

TEST(ChatRenderConformance, InvalidRequestsNameTheField) {
    struct Bad {
        const char * request;
        const char * mentions;
    };
    const Bad bad[] = {
        {R"([1,2])", "request must be a JSON object"},
        {R"({"messages":{}})", "request.messages"},
        {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
        {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
        {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})", "messages[0].content[0]"},
        {R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":{}}}]}]})",
         "messages[0].tool_calls[0].function.name"},
        {R"({"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]})",
         "tools[0].function.parameters"},
        {R"({"messages":[],"chat_template_kwargs":{"enable_thinking":"false"}})",
         "enable_thinking"},
        {R"({"messages":[)", "not valid JSON"},
    };
    for (const auto & b : bad) {
        SCOPED_TRACE(b.request);
        auto text = render_json(b.request);
        ASSERT_FALSE(text.ok());
        EXPECT_EQ(text.error().code, ErrorCode::invalid_argument);
        EXPECT_NE(text.error().message.find(b.mentions), std::string::npos) << text.error().message;
    }
}

}  // namespace
}  // namespace gemma::chat
