// /v1/models and /v1/chat/completions against the fake engine over real HTTP: response shapes
// per the vLLM reference (spec §4.3-4.5), stream/non-stream agreement, tools, stop, logprobs.
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

struct Chat {
    std::string content, reasoning;
    json tool_calls = json::array();  // merged by index
    std::string finish;
    json usage;
    bool done = false;
    bool first_is_role = false;
};

// Merges streamed chunks the way OpenAI clients do.
Chat merge_stream(const std::string & body) {
    Chat c;
    auto chunks = sse_data(body, &c.done);
    for (size_t i = 0; i < chunks.size(); ++i) {
        const json & chunk = chunks[i];
        if (chunk.contains("usage") && !chunk["usage"].is_null()) c.usage = chunk["usage"];
        if (chunk["choices"].empty()) continue;
        const json & choice = chunk["choices"][0];
        const json & d = choice["delta"];
        if (i == 0) c.first_is_role = d.value("role", "") == "assistant";
        if (d.contains("content") && d["content"].is_string())
            c.content += d["content"].get<std::string>();
        if (d.contains("reasoning") && d["reasoning"].is_string())
            c.reasoning += d["reasoning"].get<std::string>();
        if (d.contains("tool_calls"))
            for (const auto & tc : d["tool_calls"]) {
                size_t idx = tc["index"];
                while (c.tool_calls.size() <= idx)
                    c.tool_calls.push_back({{"function", {{"name", ""}, {"arguments", ""}}}});
                if (tc.contains("id")) c.tool_calls[idx]["id"] = tc["id"];
                if (tc["function"].contains("name"))
                    c.tool_calls[idx]["function"]["name"] = tc["function"]["name"];
                c.tool_calls[idx]["function"]["arguments"] =
                    c.tool_calls[idx]["function"]["arguments"].get<std::string>() +
                    tc["function"].value("arguments", "");
            }
        if (!choice["finish_reason"].is_null()) c.finish = choice["finish_reason"];
    }
    return c;
}

TEST(ServerChat, ModelsListsTheServedModelAndUnknownIdIs404) {
    TestServer s;
    auto res = s.client().Get("/v1/models");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    json body = parse(res->body);
    EXPECT_EQ(body["object"], "list");
    ASSERT_EQ(body["data"].size(), 1u);
    EXPECT_EQ(body["data"][0]["id"], "tiny-gemma4-chat");
    EXPECT_EQ(body["data"][0]["object"], "model");
    auto missing = s.client().Get("/v1/models/gpt-4");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(parse(missing->body)["error"]["code"], "model_not_found");
}

TEST(ServerChat, NonStreamReturnsMessageFinishAndUsage) {
    TestServer s;
    auto res = s.post("/v1/chat/completions", user_chat("hello there"));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json body = parse(res->body);
    EXPECT_EQ(body["object"], "chat.completion");
    EXPECT_EQ(body["model"], "tiny-gemma4-chat");
    EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
    const json & choice = body["choices"][0];
    EXPECT_EQ(choice["message"]["role"], "assistant");
    EXPECT_EQ(choice["message"]["content"], "Echo: hello there");
    EXPECT_TRUE(choice["message"]["reasoning"].is_null());
    EXPECT_FALSE(choice["message"].contains("tool_calls"));
    EXPECT_EQ(choice["finish_reason"], "stop");
    EXPECT_EQ(body["usage"]["completion_tokens"], 3);  // "Echo: " "hello " "there"
    EXPECT_EQ(body["usage"]["total_tokens"], body["usage"]["prompt_tokens"].get<int>() +
                                                 body["usage"]["completion_tokens"].get<int>());
}

TEST(ServerChat, StreamDeltasConcatenateToTheNonStreamResult) {
    TestServer s;
    json req = user_chat("stream me please");
    req["chat_template_kwargs"] = {{"enable_thinking", true}};
    auto whole = s.post("/v1/chat/completions", req);
    req["stream"] = true;
    req["stream_options"] = {{"include_usage", true}};
    auto streamed = s.post("/v1/chat/completions", req);
    ASSERT_TRUE(whole && streamed);
    ASSERT_EQ(streamed->status, 200);
    EXPECT_NE(streamed->get_header_value("Content-Type").find("text/event-stream"),
              std::string::npos);
    json msg = parse(whole->body)["choices"][0]["message"];
    Chat c = merge_stream(streamed->body);
    EXPECT_TRUE(c.done);
    EXPECT_TRUE(c.first_is_role);
    EXPECT_EQ(c.content, msg["content"]);
    EXPECT_EQ(c.reasoning, msg["reasoning"]);
    EXPECT_EQ(msg["reasoning"], msg["reasoning_content"]);
    EXPECT_FALSE(c.reasoning.empty());
    EXPECT_EQ(c.finish, "stop");
    EXPECT_EQ(c.usage, parse(whole->body)["usage"]);
}

TEST(ServerChat, ToolChoiceRequiredReturnsAValidCall) {
    TestServer s;
    json req = user_chat("What is the weather?");
    req["tools"] = json::array({weather_tool()});
    req["tool_choice"] = "required";
    auto res = s.post("/v1/chat/completions", req);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json choice = parse(res->body)["choices"][0];
    EXPECT_EQ(choice["finish_reason"], "tool_calls");
    EXPECT_TRUE(choice["message"]["content"].is_null());
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
    json call = choice["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["id"].get<std::string>().rfind("chatcmpl-tool-", 0), 0u);
    EXPECT_EQ(call["function"]["name"], "get_weather");
    ASSERT_TRUE(call["function"]["arguments"].is_string());  // a JSON string, not an object (A1)
    json args = parse(call["function"]["arguments"]);
    ASSERT_TRUE(args.is_object());
    EXPECT_TRUE(args["city"].is_string());
    EXPECT_TRUE(args["days"].is_number_integer());
    EXPECT_GE(args["days"].get<int>(), 1);

    req["stream"] = true;
    auto streamed = s.post("/v1/chat/completions", req);
    Chat c = merge_stream(streamed->body);
    ASSERT_EQ(c.tool_calls.size(), 1u);
    EXPECT_EQ(c.finish, "tool_calls");
    EXPECT_EQ(c.tool_calls[0]["function"]["name"], "get_weather");
    EXPECT_EQ(parse(c.tool_calls[0]["function"]["arguments"]), args);
}

TEST(ServerChat, ToolChoiceNoneNeverReturnsToolCalls) {
    TestServer s;
    json req = user_chat("please use a tool");  // the fake calls a tool for this under "auto"
    req["tools"] = json::array({weather_tool()});
    auto with_auto = s.post("/v1/chat/completions", req);
    ASSERT_EQ(parse(with_auto->body)["choices"][0]["finish_reason"], "tool_calls");
    req["tool_choice"] = "none";
    auto res = s.post("/v1/chat/completions", req);
    json choice = parse(res->body)["choices"][0];
    EXPECT_FALSE(choice["message"].contains("tool_calls"));
    EXPECT_EQ(choice["finish_reason"], "stop");
}

TEST(ServerChat, NamedToolChoiceCallsThatToolAndUndeclaredNameIs422) {
    TestServer s;
    json req = user_chat("What time is it?");
    req["tools"] = json::array({weather_tool(), time_tool()});
    req["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
    json choice = parse(s.post("/v1/chat/completions", req)->body)["choices"][0];
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
    EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["name"], "get_time");
    EXPECT_EQ(
        parse(
            choice["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>())["zone"],
        "UTC");
    req["tool_choice"]["function"]["name"] = "launch_rocket";
    auto bad = s.post("/v1/chat/completions", req);
    EXPECT_EQ(bad->status, 422);
    EXPECT_EQ(parse(bad->body)["error"]["param"], "tool_choice");
}

TEST(ServerChat, ParallelToolCallsFalseKeepsOnlyTheFirst) {
    TestServer s;
    json req = user_chat("use all tools");
    req["tools"] = json::array({weather_tool(), time_tool()});
    json calls =
        parse(s.post("/v1/chat/completions", req)->body)["choices"][0]["message"]["tool_calls"];
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_NE(calls[0]["id"], calls[1]["id"]);
    req["stream"] = true;
    Chat c = merge_stream(s.post("/v1/chat/completions", req)->body);
    ASSERT_EQ(c.tool_calls.size(), 2u);  // indices 0 and 1
    EXPECT_EQ(c.tool_calls[1]["function"]["name"], "get_time");
    req["stream"] = false;
    req["parallel_tool_calls"] = false;
    calls = parse(s.post("/v1/chat/completions", req)->body)["choices"][0]["message"]["tool_calls"];
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
}

TEST(ServerChat, StopStringSpanningTokensEndsContentBeforeIt) {
    TestServer s;
    json req = user_chat("hello there friend");
    req["stop"] = json::array({"lo th"});  // spans the tokens "hello " and "there "
    json choice = parse(s.post("/v1/chat/completions", req)->body)["choices"][0];
    EXPECT_EQ(choice["message"]["content"], "Echo: hel");
    EXPECT_EQ(choice["finish_reason"], "stop");
    req["stream"] = true;
    Chat c = merge_stream(s.post("/v1/chat/completions", req)->body);
    EXPECT_EQ(c.content, "Echo: hel");
    EXPECT_EQ(c.finish, "stop");
}

TEST(ServerChat, MaxTokensEndsWithLength) {
    TestServer s;
    json req = user_chat("one two three four");
    req["max_completion_tokens"] = 2;
    json body = parse(s.post("/v1/chat/completions", req)->body);
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(body["choices"][0]["message"]["content"], "Echo: one ");
    EXPECT_EQ(body["usage"]["completion_tokens"], 2);
}

TEST(ServerChat, LogprobsCoverEveryContentToken) {
    TestServer s;
    json req = user_chat("alpha beta");
    req["logprobs"] = true;
    req["top_logprobs"] = 2;
    json choice = parse(s.post("/v1/chat/completions", req)->body)["choices"][0];
    std::string joined;
    for (const auto & t : choice["logprobs"]["content"]) {
        joined += t["token"].get<std::string>();
        EXPECT_LE(t["logprob"].get<double>(), 0.0);
        EXPECT_EQ(t["top_logprobs"].size(), 2u);
        EXPECT_EQ(t["bytes"].size(), t["token"].get<std::string>().size());
    }
    EXPECT_EQ(joined, choice["message"]["content"]);
    req.erase("logprobs");
    EXPECT_EQ(s.post("/v1/chat/completions", req)->status, 400);  // top_logprobs needs logprobs
}

TEST(ServerChat, ResponseFormatJsonSchemaYieldsConformingJson) {
    TestServer s;
    json req = user_chat("give me a person");
    req["response_format"] = {
        {"type", "json_schema"},
        {"json_schema",
         {{"name", "person"},
          {"schema",
           {{"type", "object"},
            {"properties", {{"name", {{"type", "string"}}}, {"age", {{"type", "integer"}}}}},
            {"required", {"name", "age"}}}}}}};
    json content =
        parse(parse(s.post("/v1/chat/completions", req)->body)["choices"][0]["message"]["content"]
                  .get<std::string>());
    ASSERT_TRUE(content.is_object());
    EXPECT_TRUE(content["name"].is_string());
    EXPECT_TRUE(content["age"].is_number_integer());
}

TEST(ServerChat, HistoryToolCallArgumentsMustBeJson) {
    TestServer s;
    json req = user_chat("x");
    req["messages"].push_back(
        {{"role", "assistant"},
         {"content", nullptr},
         {"reasoning_content", "thinking about Oslo"},
         {"tool_calls",
          {{{"id", "a"},
            {"type", "function"},
            {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Oslo\"}"}}}}}}});
    req["messages"].push_back({{"role", "tool"}, {"tool_call_id", "a"}, {"content", "-3C"}});
    req["tools"] = json::array({weather_tool()});
    EXPECT_EQ(s.post("/v1/chat/completions", req)->status, 200);
    req["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{city: Oslo";
    auto bad = s.post("/v1/chat/completions", req);
    EXPECT_EQ(bad->status, 400);
    EXPECT_EQ(parse(bad->body)["error"]["param"], "messages[1].tool_calls[0].function.arguments");
}

TEST(ServerChat, CompletionsEndpointStreamsAndNot) {
    TestServer s;
    json req = {{"model", "tiny-gemma4-chat"}, {"prompt", "once upon a time"}, {"max_tokens", 3}};
    json body = parse(s.post("/v1/completions", req)->body);
    EXPECT_EQ(body["object"], "text_completion");
    EXPECT_EQ(body["choices"][0]["text"], "Echo: once upon ");
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    req["stream"] = true;
    bool done = false;
    std::string text;
    std::string finish;
    for (const auto & chunk : sse_data(s.post("/v1/completions", req)->body, &done)) {
        text += chunk["choices"][0]["text"].get<std::string>();
        if (!chunk["choices"][0]["finish_reason"].is_null())
            finish = chunk["choices"][0]["finish_reason"];
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(text, body["choices"][0]["text"]);
    EXPECT_EQ(finish, "length");
}

}  // namespace
}  // namespace gemdesk::server::testing
