// Constrained decoding end to end on tiny-gemma4-chat (random weights, so the model on its own
// never produces a valid call): tool_choice required / named always yields calls whose arguments
// validate against the tool's schema, and response_format json_schema always yields JSON that
// validates, across seeds, temperatures, thinking on/off and tight token budgets.
#include <gtest/gtest.h>

#include "constraint_validator.h"
#include "runtime/engine_chat.h"
#include "runtime_util.h"

using namespace gemma;
using namespace gemma::runtime;
using constraint_test::Json;
using constraint_test::validate;

namespace {

struct Reply {
    std::string content, reasoning;
    std::vector<StreamToolCall> calls;
    StreamEvent last;
};

Reply drain(Result<std::unique_ptr<ResponseStream>> s) {
    Reply r;
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return r;
    r.last = stream_drain(**s, [&](const StreamEvent & ev) {
        if (ev.kind == StreamEvent::Kind::content) r.content += ev.text;
        if (ev.kind == StreamEvent::Kind::reasoning) r.reasoning += ev.text;
        if (ev.kind == StreamEvent::Kind::tool_call) r.calls.push_back(ev.tool_call);
    });
    return r;
}

chat::ToolDeclaration tool(const std::string & name, const char * params) {
    chat::ToolDeclaration t;
    t.name = name;
    t.description = "test tool " + name;
    t.parameters = chat::Json::parse(params);
    return t;
}

const char * kWeather = R"({"type":"object","properties":{
    "city":{"type":"string","minLength":1,"maxLength":20},
    "unit":{"type":"string","enum":["celsius","fahrenheit"]},
    "days":{"type":"integer","minimum":1,"maximum":14},
    "hourly":{"type":"boolean"},
    "coords":{"type":"object","properties":{"lat":{"type":"number"},"lon":{"type":"number"}},
              "required":["lat","lon"]},
    "tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},
    "required":["city","unit"]})";
const char * kTime = R"({"type":"object","properties":{"zone":{"enum":["UTC","CET","PST"]}},
    "required":["zone"],"additionalProperties":false})";

ChatGenerateRequest ask(const std::string & text, int max_tokens, uint64_t seed, float temp) {
    ChatGenerateRequest r;
    chat::ChatMessage m;
    m.role = "user";
    m.content.kind = chat::MessageContent::Kind::text;
    m.content.text = text;
    r.chat.messages.push_back(m);
    r.chat.tools = {tool("get_weather", kWeather), tool("get_time", kTime)};
    r.max_tokens = max_tokens;
    r.sampling.temperature = temp;
    r.sampling.has_seed = true;
    r.sampling.seed = seed;
    return r;
}

class ConstraintEngine : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        EngineOptions o;
        o.n_ctx = 512;
        o.max_seqs = 4;
        o.max_step_tokens = 32;
        o.prefill_chunk = 32;
        auto e = ChatEngine::load(rt_test::kChat, o);
        ASSERT_TRUE(e.ok()) << e.error().message;
        engine_ = e->release();
    }
    static void TearDownTestSuite() {
        delete engine_;
        engine_ = nullptr;
    }
    static ChatEngine * engine_;

    // Each call names a declared tool and its arguments validate against that tool's schema.
    static void expect_valid_calls(const Reply & out, const std::string & only = "") {
        ASSERT_EQ(out.last.kind, StreamEvent::Kind::finish) << out.last.error.message;
        EXPECT_EQ(out.last.finish, FinishReason::tool_calls) << out.content;
        ASSERT_GE(out.calls.size(), 1u) << "content: " << out.content;
        EXPECT_EQ(out.content, "");
        for (const StreamToolCall & c : out.calls) {
            ASSERT_TRUE(c.name == "get_weather" || c.name == "get_time") << c.name;
            if (!only.empty()) {
                EXPECT_EQ(c.name, only);
            }
            Json args = Json::parse(c.arguments, nullptr, false);
            ASSERT_FALSE(args.is_discarded()) << c.arguments;
            Json schema = Json::parse(c.name == "get_weather" ? kWeather : kTime);
            EXPECT_EQ(validate(schema, args), "") << c.name << " " << c.arguments;
            EXPECT_EQ(c.id.rfind("chatcmpl-tool-", 0), 0u);
        }
    }
};
ChatEngine * ConstraintEngine::engine_ = nullptr;

}  // namespace

TEST_F(ConstraintEngine, RequiredToolChoiceAlwaysGivesValidCalls) {
    ASSERT_NE(engine_, nullptr);
    int n = 0;
    for (uint64_t seed = 1; seed <= 4; ++seed)
        for (float temp : {0.0f, 0.8f, 1.5f})
            for (bool think : {false, true}) {
                auto r = ask("What's the weather in Oslo?", 120, seed, temp);
                r.tool_choice = ToolChoice::required;
                r.parallel_tool_calls = seed % 2 == 0;
                r.chat.enable_thinking = think;
                Reply out = drain(engine_->generate(r));
                SCOPED_TRACE(gemma::format("seed %d temp %.1f think %d", int(seed), temp, think));
                expect_valid_calls(out);
                if (!r.parallel_tool_calls) {
                    EXPECT_EQ(out.calls.size(), 1u);
                }
                EXPECT_LE(out.last.usage.completion_tokens, 120);
                n += int(out.calls.size());
            }
    EXPECT_GE(n, 24);
}

TEST_F(ConstraintEngine, NamedToolChoiceCallsThatTool) {
    ASSERT_NE(engine_, nullptr);
    for (uint64_t seed = 1; seed <= 4; ++seed)
        for (const char * name : {"get_weather", "get_time"}) {
            auto r = ask("Tell me something.", 100, seed, 1.0f);
            r.tool_choice = ToolChoice::named;
            r.tool_name = name;
            Reply out = drain(engine_->generate(r));
            SCOPED_TRACE(gemma::format("seed %d", int(seed)));
            expect_valid_calls(out, name);
            EXPECT_EQ(out.calls.size(), 1u);
        }
    auto r = ask("x", 100, 1, 1.0f);
    r.tool_choice = ToolChoice::named;
    r.tool_name = "nope";
    auto s = engine_->generate(r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
}

TEST_F(ConstraintEngine, JsonSchemaOutputParsesAndValidates) {
    ASSERT_NE(engine_, nullptr);
    const Json schema = Json::parse(R"({"type":"object","properties":{
        "title":{"type":"string","maxLength":30},"year":{"type":"integer"},
        "genres":{"type":"array","items":{"enum":["drama","comedy","horror"]},"minItems":1},
        "rating":{"type":["number","null"]},"seen":{"type":"boolean"}},
        "required":["title","year","genres"],"additionalProperties":false})");
    for (uint64_t seed = 1; seed <= 4; ++seed)
        for (float temp : {0.0f, 1.0f})
            for (bool think : {false, true}) {
                auto r = ask("Describe a film as JSON.", 90, seed, temp);
                r.chat.tools.clear();
                r.json_schema = schema;
                r.chat.enable_thinking = think;
                Reply out = drain(engine_->generate(r));
                SCOPED_TRACE(gemma::format("seed %d temp %.1f think %d", int(seed), temp, think));
                ASSERT_EQ(out.last.kind, StreamEvent::Kind::finish) << out.last.error.message;
                EXPECT_EQ(out.last.finish, FinishReason::stop);
                Json j = Json::parse(out.content, nullptr, false);
                ASSERT_FALSE(j.is_discarded()) << out.content;
                EXPECT_EQ(validate(schema, j), "") << out.content;
            }
}

// With exactly the budget of the shortest reply, the constraint steers to it; one token less is
// refused up front with a message naming max_tokens.
TEST_F(ConstraintEngine, TightBudgetsStillFinishValid) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("Time?", 0, 7, 1.0f);
    r.chat.tools = {tool("get_time", kTime)};
    r.tool_choice = ToolChoice::required;
    r.parallel_tool_calls = false;
    r.max_tokens = 1;
    auto refused = engine_->generate(r);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("max_tokens"), std::string::npos);
    // <|tool_call> call: get_time { zone: <|"|> UTC <|"|> } <tool_call|>: 1+5+8+1+5+1+3+1+1+1 = 27
    for (int budget : {27, 30, 40}) {
        r.max_tokens = budget;
        Reply out = drain(engine_->generate(r));
        expect_valid_calls(out, "get_time");
        EXPECT_LE(out.last.usage.completion_tokens, budget);
    }
    r.max_tokens = 26;
    EXPECT_FALSE(engine_->generate(r).ok());
}

TEST_F(ConstraintEngine, UnsupportedSchemasAreRefusedByName) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("x", 50, 1, 1.0f);
    r.chat.tools.clear();
    r.json_schema = chat::Json::parse(
        R"({"type":"object","properties":{"s":{"type":"string","pattern":"^[a-z]+$"}}})");
    auto s = engine_->generate(r);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::unsupported);
    EXPECT_NE(s.error().message.find("pattern"), std::string::npos) << s.error().message;
    auto t = ask("x", 50, 1, 1.0f);
    t.chat.tools = {
        tool("f", R"({"type":"object","properties":{"n":{"type":"integer","multipleOf":2}}})")};
    t.tool_choice = ToolChoice::required;
    auto u = engine_->generate(t);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.error().code, ErrorCode::unsupported);
    EXPECT_NE(u.error().message.find("multipleOf"), std::string::npos) << u.error().message;
}
