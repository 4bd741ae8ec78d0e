// POST /v1/messages (Anthropic shape) on the fake engine: content blocks, tool_use, thinking,
// stop sequences, the streaming event sequence and Anthropic error bodies.
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

json message_request(const std::string & text) {
    return {{"model", "tiny-gemma4-chat"},
            {"max_tokens", 64},
            {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
}

TEST(ServerAnthropic, TextAnswerWithUsage) {
    TestServer s;
    auto res = s.post("/v1/messages", message_request("hi claude"));
    ASSERT_EQ(res->status, 200) << res->body;
    json body = parse(res->body);
    EXPECT_EQ(body["type"], "message");
    EXPECT_EQ(body["role"], "assistant");
    ASSERT_EQ(body["content"].size(), 1u);
    EXPECT_EQ(body["content"][0], json({{"type", "text"}, {"text", "Echo: hi claude"}}));
    EXPECT_EQ(body["stop_reason"], "end_turn");
    EXPECT_EQ(body["usage"]["output_tokens"], 3);
}

TEST(ServerAnthropic, ThinkingAndToolUseBlocks) {
    TestServer s;
    json req = message_request("weather in Oslo?");
    req["thinking"] = {{"type", "enabled"}, {"budget_tokens", 1024}};
    json schema = {{"type", "object"},
                   {"properties", {{"city", {{"type", "string"}}}}},
                   {"required", {"city"}}};
    json tool = {{"name", "get_weather"}, {"input_schema", schema}};
    req["tools"] = json::array({tool});
    req["tool_choice"] = {{"type", "any"}};
    json body = parse(s.post("/v1/messages", req)->body);
    ASSERT_EQ(body["content"].size(), 2u) << body.dump();
    EXPECT_EQ(body["content"][0]["type"], "thinking");
    EXPECT_FALSE(body["content"][0]["thinking"].get<std::string>().empty());
    EXPECT_EQ(body["content"][1]["type"], "tool_use");
    EXPECT_EQ(body["content"][1]["name"], "get_weather");
    EXPECT_TRUE(body["content"][1]["input"]["city"].is_string());
    EXPECT_EQ(body["stop_reason"], "tool_use");
}

TEST(ServerAnthropic, ToolResultHistoryIsAccepted) {
    TestServer s;
    json req = message_request("x");
    req["system"] = "Be brief.";
    req["messages"] = json::array(
        {{{"role", "user"}, {"content", "weather?"}},
         {{"role", "assistant"},
          {"content",
           {{{"type", "tool_use"},
             {"id", "t1"},
             {"name", "get_weather"},
             {"input", {{"city", "Rome"}}}}}}},
         {{"role", "user"},
          {"content", {{{"type", "tool_result"}, {"tool_use_id", "t1"}, {"content", "sunny"}}}}}});
    req["tools"] = json::array({{{"name", "get_weather"}, {"input_schema", {{"type", "object"}}}}});
    EXPECT_EQ(s.post("/v1/messages", req)->status, 200);
}

TEST(ServerAnthropic, StopSequenceIsReported) {
    TestServer s;
    json req = message_request("alpha beta gamma");
    req["stop_sequences"] = json::array({"gamma"});
    json body = parse(s.post("/v1/messages", req)->body);
    EXPECT_EQ(body["content"][0]["text"], "Echo: alpha beta ");
    EXPECT_EQ(body["stop_reason"], "stop_sequence");
    EXPECT_EQ(body["stop_sequence"], "gamma");
}

TEST(ServerAnthropic, StreamFollowsTheEventSequenceAndMatchesNonStream) {
    TestServer s;
    json req = message_request("stream this");
    req["thinking"] = {{"type", "enabled"}, {"budget_tokens", 1024}};
    json whole = parse(s.post("/v1/messages", req)->body);
    req["stream"] = true;
    auto res = s.post("/v1/messages", req);
    ASSERT_EQ(res->status, 200);
    std::vector<std::string> names = sse_event_names(res->body);
    ASSERT_GE(names.size(), 7u);
    EXPECT_EQ(names.front(), "message_start");
    EXPECT_EQ(names[1], "content_block_start");
    EXPECT_EQ(names[names.size() - 3], "content_block_stop");
    EXPECT_EQ(names[names.size() - 2], "message_delta");
    EXPECT_EQ(names.back(), "message_stop");
    std::string thinking, text;
    std::string stop_reason;
    for (const auto & e : sse_data(res->body)) {
        if (e["type"] == "content_block_delta") {
            if (e["delta"]["type"] == "thinking_delta")
                thinking += e["delta"]["thinking"].get<std::string>();
            if (e["delta"]["type"] == "text_delta") text += e["delta"]["text"].get<std::string>();
        }
        if (e["type"] == "message_delta") stop_reason = e["delta"]["stop_reason"];
    }
    EXPECT_EQ(thinking, whole["content"][0]["thinking"]);
    EXPECT_EQ(text, whole["content"][1]["text"]);
    EXPECT_EQ(stop_reason, whole["stop_reason"]);
}

TEST(ServerAnthropic, ErrorsUseTheAnthropicShape) {
    TestServer s;
    json req = message_request("x");
    req.erase("max_tokens");
    auto res = s.post("/v1/messages", req);
    EXPECT_EQ(res->status, 400);
    json body = parse(res->body);
    EXPECT_EQ(body["type"], "error");
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_NE(body["error"]["message"].get<std::string>().find("max_tokens"), std::string::npos);
}

}  // namespace
}  // namespace gemdesk::server::testing
