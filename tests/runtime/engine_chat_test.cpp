// End to end on tiny-gemma4-chat (random weights: determinism, batched == solo, cache hits,
// stop tokens and strings, constraints, cancellation; not meaningful text), and gemdesk-cli run.
#include "runtime/engine_chat.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "runtime/scheduler.h"
#include "runtime_util.h"

using namespace gemma;
using namespace gemma::runtime;
using rt_test::kChat;

namespace {

struct Reply {
    std::string content, reasoning, raw;
    std::vector<StreamEvent> events;
    StreamEvent last;
};

Reply drain(Result<std::unique_ptr<ResponseStream>> s) {
    Reply r;
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return r;
    r.last = stream_drain(**s, [&](const StreamEvent & ev) {
        r.events.push_back(ev);
        if (ev.kind == StreamEvent::Kind::content) r.content += ev.text;
        if (ev.kind == StreamEvent::Kind::reasoning) r.reasoning += ev.text;
        if (ev.kind == StreamEvent::Kind::token) r.raw += ev.text;
    });
    return r;
}

chat::ChatMessage msg(const std::string & role, const std::string & text) {
    chat::ChatMessage m;
    m.role = role;
    m.content.kind = chat::MessageContent::Kind::text;
    m.content.text = text;
    return m;
}

ChatGenerateRequest ask(const std::string & text, int max_tokens) {
    ChatGenerateRequest r;
    r.chat.messages.push_back(msg("user", text));
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0.0f;
    r.sampling.top_logprobs = 0;  // token events carry the raw text
    return r;
}

class EngineChat : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        EngineOptions o;
        o.n_ctx = 512;
        o.max_seqs = 4;
        o.max_step_tokens = 32;
        o.prefill_chunk = 16;
        auto e = ChatEngine::load(kChat, o);
        ASSERT_TRUE(e.ok()) << e.error().message;
        engine_ = e->release();
    }
    static void TearDownTestSuite() {
        delete engine_;
        engine_ = nullptr;
    }
    static ChatEngine * engine_;
};
ChatEngine * EngineChat::engine_ = nullptr;

}  // namespace

TEST_F(EngineChat, LoadsInfoAndStopIds) {
    ASSERT_NE(engine_, nullptr);
    EXPECT_EQ(engine_->info().vocab_size, 4096);
    EXPECT_EQ(engine_->info().context_length, 512);
    // generation_config.json: [1, 6, 14] = <eos>, <turn|>, <|tool_response>.
    EXPECT_EQ(engine_->stop_ids(), (std::vector<int32_t>{1, 6, 14}));
}

TEST_F(EngineChat, GreedyIsDeterministicAndBatchedEqualsSolo) {
    ASSERT_NE(engine_, nullptr);
    const char * prompts[] = {"Hello!", "Write a poem about the sea.", "What is 2+2?", "Hi"};
    std::vector<std::string> solo;
    for (const char * p : prompts) {
        auto r = ask(p, 12);
        r.use_prefix_cache = false;
        solo.push_back(drain(engine_->generate(r)).raw);
    }
    EXPECT_EQ(drain(engine_->generate(ask(prompts[0], 12))).raw, solo[0]);
    std::vector<std::unique_ptr<ResponseStream>> streams;
    for (const char * p : prompts) {
        auto r = ask(p, 12);
        r.use_prefix_cache = false;
        auto s = engine_->generate(r);
        ASSERT_TRUE(s.ok());
        streams.push_back(std::move(*s));
    }
    for (size_t i = 0; i < streams.size(); ++i) {
        Reply r;
        r.last = stream_drain(*streams[i], [&](const StreamEvent & ev) {
            if (ev.kind == StreamEvent::Kind::token) r.raw += ev.text;
        });
        EXPECT_EQ(r.raw, solo[i]) << "request " << i;
        EXPECT_EQ(r.last.kind, StreamEvent::Kind::finish);
    }
}

// logit_bias forcing <turn|> (a stop id from generation_config.json) ends the reply at once.
TEST_F(EngineChat, StopTokenEndsTheReply) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("Hello!", 20);
    r.sampling.logit_bias = {{6, 100.0f}};
    Reply out = drain(engine_->generate(r));
    EXPECT_EQ(out.last.kind, StreamEvent::Kind::finish);
    EXPECT_EQ(out.last.finish, FinishReason::stop);
    EXPECT_EQ(out.content, "");
    EXPECT_EQ(out.last.usage.completion_tokens, 1);
}

TEST_F(EngineChat, StopStringsCutTheContent) {
    ASSERT_NE(engine_, nullptr);
    TextGenerateRequest t;
    t.prompt = "<bos>Once upon a time";
    t.max_tokens = 16;
    t.sampling.temperature = 0.0f;
    t.use_prefix_cache = false;
    Reply full = drain(engine_->complete(t));
    ASSERT_GE(full.content.size(), 6u);
    EXPECT_EQ(full.last.finish, FinishReason::length);
    std::string stop = full.content.substr(full.content.size() / 2, 3);
    t.stop = {stop};
    Reply cut = drain(engine_->complete(t));
    EXPECT_EQ(cut.last.finish, FinishReason::stop);
    EXPECT_EQ(cut.content, full.content.substr(0, full.content.find(stop)));
}

// Turn 2 starts with turn 1's prompt: served from the prefix cache, same tokens as cold.
TEST_F(EngineChat, NextTurnReusesTheCache) {
    ASSERT_NE(engine_, nullptr);
    auto r1 = ask("Tell me a story.", 6);
    Reply t1 = drain(engine_->generate(r1));
    auto prompt1 = engine_->render(r1.chat);
    ASSERT_TRUE(prompt1.ok());
    auto ids1 = engine_->tokenizer().encode(*prompt1);
    ASSERT_TRUE(ids1.ok());
    ChatGenerateRequest r2 = r1;
    r2.chat.messages.push_back(msg("assistant", t1.content));
    r2.chat.messages.push_back(msg("user", "And then?"));
    Reply hot = drain(engine_->generate(r2));
    EXPECT_GE(hot.last.usage.cached_tokens, int(ids1->size()));
    r2.use_prefix_cache = false;
    Reply cold = drain(engine_->generate(r2));
    EXPECT_EQ(cold.last.usage.cached_tokens, 0);
    EXPECT_EQ(hot.raw, cold.raw);
}

// Whether text is a prefix of some JSON text (output cut by max_tokens): nlohmann's parser either
// accepts it or fails only at the end of the input.
static bool is_json_prefix(const std::string & text) {
    try {
        nlohmann::json j = nlohmann::json::parse(text);
        return !j.is_discarded();
    } catch (const nlohmann::json::parse_error & e) {
        return e.byte == text.size() + 1;
    }
}

TEST_F(EngineChat, JsonObjectConstraint) {
    ASSERT_NE(engine_, nullptr);
    for (uint64_t seed : {1u, 2u, 3u}) {
        auto r = ask("Reply in JSON.", 40);
        r.json_object = true;
        r.sampling.temperature = 1.0f;
        r.sampling.has_seed = true;
        r.sampling.seed = seed;
        Reply out = drain(engine_->generate(r));
        ASSERT_EQ(out.last.kind, StreamEvent::Kind::finish) << out.last.error.message;
        EXPECT_TRUE(is_json_prefix(out.raw)) << out.raw;
        if (out.last.finish == FinishReason::stop) {
            auto j = nlohmann::json::parse(out.raw, nullptr, false);
            EXPECT_TRUE(j.is_object()) << out.raw;
        }
    }
}

TEST_F(EngineChat, ToolChoiceRequiredStartsWithACall) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("What is the weather in Paris?", 40);  // the shortest valid call needs 21
    chat::ToolDeclaration tool;
    tool.name = "get_weather";
    tool.description = "Weather for a city";
    tool.parameters =
        chat::Json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})");
    r.chat.tools.push_back(tool);
    r.tool_choice = ToolChoice::required;
    Reply out = drain(engine_->generate(r));
    EXPECT_EQ(out.raw.rfind("<|tool_call>call:", 0), 0u) << out.raw;
}

TEST_F(EngineChat, CancelEndsTheStream) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("Go on forever.", 400);
    auto s = engine_->generate(r);
    ASSERT_TRUE(s.ok());
    StreamEvent ev;
    ASSERT_TRUE((*s)->next(ev, std::chrono::seconds(30)));
    (*s)->cancel();
    StreamEvent last = stream_drain(**s, nullptr);
    EXPECT_EQ(last.kind, StreamEvent::Kind::finish);
    EXPECT_EQ(last.finish, FinishReason::cancelled);
    EXPECT_LT(last.usage.completion_tokens, 400);
}

TEST_F(EngineChat, ErrorsAreValues) {
    ASSERT_NE(engine_, nullptr);
    auto r = ask("x", 4);
    r.sampling.top_p = 2.0f;
    EXPECT_EQ(engine_->generate(r).error().code, ErrorCode::invalid_argument);
    std::string big;
    for (int i = 0; i < 600; ++i) big += "word ";
    EXPECT_EQ(engine_->generate(ask(big, 4)).error().code, ErrorCode::context_full);
    auto img = ask("x", 4);
    img.chat.messages[0].content.kind = chat::MessageContent::Kind::parts;
    img.chat.messages[0].content.parts = {{"image", ""}};  // an image part without its bytes
    EXPECT_EQ(engine_->generate(img).error().code, ErrorCode::invalid_argument);
    EXPECT_FALSE(ChatEngine::load(std::string(GEMMA_TEST_DATA_DIR) + "/nope").ok());
}

namespace {

std::pair<int, std::string> run_cli(const std::string & args) {
    std::string cmd = std::string(GEMMA_BIN_DIR) + "/gemdesk-cli " + args + " 2>/dev/null";
    FILE * p = popen(cmd.c_str(), "r");
    if (!p) return {-1, ""};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

}  // namespace

TEST(CliRun, SameSeedSameOutput) {
    std::string base = "run --model " + kChat + " --prompt Hello --max-tokens 12 ";
    auto a = run_cli(base + "--seed 5"), b = run_cli(base + "--seed 5"),
         c = run_cli(base + "--seed 6");
    EXPECT_EQ(a.first, 0);
    EXPECT_FALSE(a.second.empty());
    EXPECT_EQ(a.second, b.second);
    EXPECT_NE(a.second, c.second);
    EXPECT_EQ(run_cli("run --prompt x").first, 2);
    EXPECT_EQ(run_cli("run --model /nonexistent --prompt x").first, 2);
    EXPECT_EQ(run_cli("run --model " + kChat + " --prompt x --temperature -1").first, 2);
}

TEST(CliChat, JsonEventsPerTurn) {
    std::string cmd = "sh -c \"printf 'Hi\\nMore\\n' | " + std::string(GEMMA_BIN_DIR) +
                      "/gemdesk-cli chat --json --max-tokens 4 --seed 1 --model " + kChat + "\"";
    FILE * p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::vector<nlohmann::json> finishes;
    char line[8192];
    while (fgets(line, sizeof line, p)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << line;
        if (j["type"] == "finish") finishes.push_back(j);
    }
    EXPECT_EQ(pclose(p), 0);
    ASSERT_EQ(finishes.size(), 2u);
    EXPECT_GT(finishes[1]["usage"]["cached_tokens"].get<int>(), 0) << "turn 2 reuses turn 1";
}
