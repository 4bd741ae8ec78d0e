// Spec gemma4-chat-protocol §6.2 non-streaming parsing checklist (P1-P24) and §6.4 A1/A2, as a
// table: completion text -> content / reasoning / tool calls. Arguments compare as JSON values
// (the spec: clients must not byte-compare argument strings).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/tool_protocol.h"

namespace gemma::chat {
namespace {

struct Call {
    std::string name;
    std::string args;  // expected JSON
};

struct ParseCase {
    const char * id;
    std::string text;
    std::optional<std::string> content;    // nullopt = null
    std::optional<std::string> reasoning;  // nullopt = null
    std::vector<Call> calls;
    ChatParserOptions options = {};
};

ChatParserOptions in_reasoning() {
    ChatParserOptions o;
    o.start_in_reasoning = true;
    return o;
}

ChatParserOptions declared(std::vector<std::string> names) {
    ChatParserOptions o;
    o.declared_tools = std::move(names);
    return o;
}

const std::string kP8 = R"(<|tool_call>call:get_weather{location:<|"|>London<|"|>}<tool_call|>)";

const std::vector<ParseCase> kCases = {
    {"P1",
     "Hello, how can I help you today?",
     "Hello, how can I help you today?",
     std::nullopt,
     {}},
    {"P2",
     "<|channel>thought\nActual reasoning here<channel|>Final answer",
     "Final answer",
     "Actual reasoning here",
     {}},
    {"P3", "<|channel>thought\nLine1\nLine2<channel|>Answer", "Answer", "Line1\nLine2", {}},
    {"P4", "<|channel>thought\n<channel|>", std::nullopt, std::nullopt, {}},
    {"P5", "<|channel>thousand reasons<channel|>Done", "Done", "thousand reasons", {}},
    {"P6",
     "<|channel>This is a reasoning section",
     std::nullopt,
     "This is a reasoning section",
     {}},
    {"P7",
     "I need to answer<channel|>The answer is 42",
     "The answer is 42",
     "I need to answer",
     {},
     in_reasoning()},
    {"P8", kP8, std::nullopt, std::nullopt, {{"get_weather", R"({"location":"London"})"}}},
    {"P9",
     R"(Let me check the weather for you. <|tool_call>call:get_weather{location:<|"|>Paris<|"|>}<tool_call|>)",
     "Let me check the weather for you.",
     std::nullopt,
     {{"get_weather", R"({"location":"Paris"})"}}},
    {"P10",
     R"(<|tool_call>call:get_weather{location:<|"|>Paris<|"|>}<tool_call|><|tool_call>call:get_time{timezone:<|"|>CET<|"|>}<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"get_weather", R"({"location":"Paris"})"}, {"get_time", R"({"timezone":"CET"})"}}},
    {"P11",
     R"(<|tool_call>call:complex_function{nested:{inner:<|"|>value<|"|>},list:[<|"|>a<|"|>,<|"|>b<|"|>]}<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"complex_function", R"({"nested":{"inner":"value"},"list":["a","b"]})"}}},
    {"P12",
     "<|tool_call>call:set_status{is_active:true,count:42,score:3.14}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"set_status", R"({"is_active":true,"count":42,"score":3.14})"}}},
    {"P13",
     "<|tool_call>call:f{param:null}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"param":null})"}}},
    {"P14",
     "<|tool_call>call:get_status{}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"get_status", "{}"}}},
    {"P15",
     "<|tool_call>call:get-weather{}<tool_call|><|tool_call>call:weather.get{}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"get-weather", "{}"}, {"weather.get", "{}"}}},
    {"P16",
     R"(<|tool_call>call:get_weather{location:<|"|>London)",
     R"(<|tool_call>call:get_weather{location:<|"|>London)",
     std::nullopt,
     {}},
    {"P17",
     R"(<|tool_call>call:upd{record_map:{<|"|>3<|"|>:<|"|>new text<|"|>}}<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"upd", R"({"record_map":{"3":"new text"}})"}}},
    {"P18",
     "<|tool_call>call:note{text:<|\"|>a, b } c ] d : e\nline2<|\"|>}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"note", R"({"text":"a, b } c ] d : e\nline2"})"}}},
    {"P19",
     R"(<|channel>thought
I need to find files<channel|><|tool_call>call:find{path:<|"|>research<|"|>}<tool_call|>)",
     std::nullopt,
     "I need to find files",
     {{"find", R"({"path":"research"})"}}},
    {"P20 tool_response",
     kP8 + "<|tool_response>",
     std::nullopt,
     std::nullopt,
     {{"get_weather", R"({"location":"London"})"}}},
    {"P20 extra close",
     kP8 + "<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"get_weather", R"({"location":"London"})"}}},
    {"P21",
     R"(<|tool_call>call:gdb{args:<|"|>-batch<|"|>}<turn|>)",
     std::nullopt,
     std::nullopt,
     {{"gdb", R"({"args":"-batch"})"}}},
    {"P22 declared",
     "<|channel>thought\nList it.<channel|>call:bash{command:<|\"|>ls<|\"|>}",
     std::nullopt,
     "List it.",
     {{"bash", R"({"command":"ls"})"}},
     declared({"bash"})},
    {"P22 undeclared",
     "<|channel>thought\nList it.<channel|>call:bash{command:<|\"|>ls<|\"|>}",
     R"(call:bash{command:<|"|>ls<|"|>})",
     "List it.",
     {}},
    {"P23",
     "The literal token <|tool_call> appears here",
     "The literal token <|tool_call> appears here",
     std::nullopt,
     {}},
    // P24: the spec leaves the choice open; we follow vLLM's offline util (content "Hi").
    {"P24", "thought\nHi", "Hi", std::nullopt, {}},
    // §3.1 observed sequences and §3.4/§3.6 tolerances.
    {"3.1 transformers",
     "<|channel>thought\nLet me check.\n<channel|>The answer is 12.<turn|>",
     "The answer is 12.",
     "Let me check.",
     {}},
    {"3.6 eos closer",
     "<|tool_call>call:f{a:1}<eos>",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"a":1})"}}},
    {"3.6 :call: opener",
     "<|tool_call>:call:f{a:1}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"a":1})"}}},
    {"3.6 json and python strings, = separator",
     R"(<|tool_call>call:f{a:["x",'y'],b="z"}<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"a":["x","y"],"b":"z"})"}}},
    {"3.6 unterminated last string",
     R"(<|tool_call>call:f{a:<|"|>open<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"a":"open"})"}}},
    {"3.6 missing final brace",
     R"(<|tool_call>call:f{a:{b:1}<tool_call|>)",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"a":{"b":1}})"}}},
    {"3.4 call ends reasoning",
     "<|channel>thought\nhmm<|tool_call>call:f{}<tool_call|>",
     std::nullopt,
     "hmm",
     {{"f", "{}"}}},
    {"3.4 stray close swallowed", "Hi<channel|> there", "Hi there", std::nullopt, {}},
    {"3.5.5 content after call",
     "<|tool_call>call:f{}<tool_call|><div>",
     "<div>",
     std::nullopt,
     {{"f", "{}"}}},
    {"stop ends the reply", "Done.<turn|>ignored", "Done.", std::nullopt, {}},
    {"bad call kept as content",
     "<|tool_call>call:f{a b}<tool_call|>",
     "<|tool_call>call:f{a b}",
     std::nullopt,
     {}},
    {"leading zeros stay a string",
     "<|tool_call>call:f{zip:01234,n:-7,x:1e3}<tool_call|>",
     std::nullopt,
     std::nullopt,
     {{"f", R"({"zip":"01234","n":-7,"x":1000.0})"}}},
};

TEST(ToolParse, SpecChecklist) {
    for (const auto & c : kCases) {
        SCOPED_TRACE(c.id);
        ChatParserOptions options = c.options;
        options.id_seed = 7;
        ParsedReply r = chat_parse_reply(c.text, options);
        Json j = chat_reply_to_json(r);
        EXPECT_EQ(j["content"], c.content ? Json(*c.content) : Json());
        EXPECT_EQ(j["reasoning"], c.reasoning ? Json(*c.reasoning) : Json());
        EXPECT_EQ(j["reasoning_content"], j["reasoning"]);
        ASSERT_EQ(r.tool_calls.size(), c.calls.size());
        for (size_t i = 0; i < c.calls.size(); ++i) {
            EXPECT_EQ(r.tool_calls[i].index, static_cast<int>(i));
            EXPECT_EQ(r.tool_calls[i].name, c.calls[i].name);
            EXPECT_EQ(Json::parse(r.tool_calls[i].arguments), Json::parse(c.calls[i].args));
        }
    }
}

TEST(ToolParse, P12NumbersKeepIntFloatDistinction) {
    auto r = chat_parse_reply(
        "<|tool_call>call:set_status{is_active:true,count:42,score:3.14}<tool_call|>");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    Json args = Json::parse(r.tool_calls[0].arguments);
    EXPECT_TRUE(args["count"].is_number_integer());
    EXPECT_TRUE(args["score"].is_number_float());
    EXPECT_TRUE(args["is_active"].is_boolean());
}

TEST(ToolParse, A1ToolCallShape) {
    auto r = chat_parse_reply(kP8);
    EXPECT_EQ(chat_finish_reason(r, "stop"), "tool_calls");
    EXPECT_EQ(chat_finish_reason(chat_parse_reply("Hi"), "length"), "length");
    Json j = chat_reply_to_json(r);
    EXPECT_TRUE(j["content"].is_null());
    ASSERT_EQ(j["tool_calls"].size(), 1u);
    EXPECT_EQ(j["tool_calls"][0]["type"], "function");
    EXPECT_TRUE(j["tool_calls"][0]["function"]["arguments"].is_string());
    EXPECT_EQ(j["tool_calls"][0]["function"]["name"], "get_weather");
}

TEST(ToolParse, A2IdsAreUniqueAndVllmShaped) {
    std::set<std::string> ids;
    for (int run = 0; run < 20; ++run) {
        auto r = chat_parse_reply(kP8 + kP8);  // default options: ids from random_device
        for (const auto & c : r.tool_calls) {
            ASSERT_EQ(c.id.rfind("chatcmpl-tool-", 0), 0u) << c.id;
            std::string hex = c.id.substr(14);
            EXPECT_EQ(hex.size(), 32u);
            EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << c.id;
            ids.insert(c.id);
        }
    }
    EXPECT_EQ(ids.size(), 40u);
}

TEST(ToolParse, InitialStateFromPromptTail) {
    // §3.4: reasoning only when the prompt ends inside an open channel (post-tool cue, R15).
    auto post_tool = chat_parser_options_for_prompt(
        "<bos><|turn>user\nq<turn|>\n<|turn>model\n<|tool_call>call:f{}<tool_call|><|tool_response>"
        "response:f{value:1}"
        "<tool_response|><|channel>thought\n");
    EXPECT_TRUE(post_tool.start_in_reasoning);
    auto plain = chat_parser_options_for_prompt(
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nq<turn|>\n<|turn>model\n");
    EXPECT_FALSE(plain.start_in_reasoning);
    EXPECT_FALSE(plain.start_in_reasoning_label);
    // Large variant with thinking off: the empty block is closed (R35).
    auto large = chat_parser_options_for_prompt(
        "<bos><|turn>user\nHello<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
    EXPECT_FALSE(large.start_in_reasoning);
    // A replayed thought in history is closed, so it does not count.
    auto replay = chat_parser_options_for_prompt(
        "<|turn>model\n<|channel>thought\nR\n<channel|><|tool_call>call:f{}<tool_call|><|tool_"
        "response>x<tool_response|>");
    EXPECT_FALSE(replay.start_in_reasoning);
    EXPECT_EQ(chat_parse_reply("I need to answer<channel|>The answer is 42", post_tool).reasoning,
              "I need to answer");
}

}  // namespace
}  // namespace gemma::chat
