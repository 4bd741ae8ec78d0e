// Spec §6.3 streaming checklist (S1-S13): chunk lists fed to ChatOutputParser, and the chunking
// invariance S13 relies on: the same text in many random chunkings (fixed seeds, incl. 1-byte
// chunks) must give exactly the unchunked result.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "runtime/tool_protocol.h"

namespace gemma::chat {
namespace {

struct Streamed {
    ParsedReply reply;
    std::vector<ChatEvent> events;
};

Streamed stream(const std::vector<std::string> & chunks, ChatParserOptions options = {}) {
    options.id_seed = 11;
    ChatOutputParser parser(options);
    Streamed s;
    auto take = [&](std::vector<ChatEvent> events) {
        for (auto & e : events) {
            chat_reply_apply(s.reply, e);
            s.events.push_back(std::move(e));
        }
    };
    for (const auto & c : chunks) take(parser.feed(c));
    take(parser.finish());
    return s;
}

Json args_of(const ParsedReply & r, size_t i) {
    EXPECT_GT(r.tool_calls.size(), i);
    return r.tool_calls.size() > i ? Json::parse(r.tool_calls[i].arguments) : Json();
}

TEST(ToolStream, S1StringSplitAcrossChunks) {
    auto s = stream({"<|tool_call>", "call:get_weather{", "location:<|\"|>Paris", ", France",
                     "<|\"|>}", "<tool_call|>"});
    ASSERT_EQ(s.reply.tool_calls.size(), 1u);
    EXPECT_EQ(s.reply.tool_calls[0].name, "get_weather");
    EXPECT_EQ(args_of(s.reply, 0), Json::parse(R"({"location":"Paris, France"})"));
}

TEST(ToolStream, S2PartialEscapeTokenNeverLeaks) {
    auto s =
        stream({"<|tool_call>", "call:todo{", "content:<|\"|>Buy milk<|", "\"|>}", "<tool_call|>"});
    EXPECT_EQ(args_of(s.reply, 0), Json::parse(R"({"content":"Buy milk"})"));
    for (const auto & e : s.events) {
        EXPECT_EQ(e.text.find("<|"), std::string::npos);
        EXPECT_EQ(e.call.arguments.find("<|"), std::string::npos);
    }
}

TEST(ToolStream, S3toS5SplitScalars) {
    auto s3 = stream({"<|tool_call>", "call:search{input:{all:tru", "e}}", "<tool_call|>"});
    EXPECT_EQ(args_of(s3.reply, 0), Json::parse(R"({"input":{"all":true}})"));
    auto s4 = stream({"<|tool_call>", "call:set{count:4", "2}", "<tool_call|>"});
    EXPECT_EQ(args_of(s4.reply, 0), Json::parse(R"({"count":42})"));
    EXPECT_TRUE(args_of(s4.reply, 0)["count"].is_number_integer());
    auto s5 = stream({"<|tool_call>", "call:f{left:108.", "2,right:22.8}", "<tool_call|>"});
    EXPECT_EQ(args_of(s5.reply, 0), Json::parse(R"({"left":108.2,"right":22.8})"));
}

TEST(ToolStream, S6TrailingBoolAppearsOnce) {
    auto s = stream({"<|tool_call>", "call:edit{path:<|\"|>a.txt<|\"|>,replace_all:", "false}",
                     "<tool_call|>"});
    std::string args = s.reply.tool_calls.at(0).arguments;
    EXPECT_EQ(args.find("replace_all"), args.rfind("replace_all"));
    EXPECT_EQ(args_of(s.reply, 0)["replace_all"], Json(false));
}

TEST(ToolStream, S7ContentAfterCallNotDuplicated) {
    auto s = stream({"<|tool_call>", "call:f{}", "<tool_call|><", "div>"});
    EXPECT_EQ(s.reply.content, "<div>");
}

TEST(ToolStream, S8TokenByTokenThoughtThenCall) {
    auto s =
        stream({"<|channel>", "thought", "\n", "I", " need", " to", " find", " files", "<channel|>",
                "<|tool_call>", "call:find{", "path:<|\"|>research<|\"|>}", "<tool_call|>"});
    EXPECT_EQ(s.reply.reasoning, "I need to find files");
    EXPECT_EQ(s.reply.content, "");
    EXPECT_EQ(args_of(s.reply, 0), Json::parse(R"({"path":"research"})"));
}

TEST(ToolStream, S9WholeTextAsOneDeltaMatchesS8) {
    auto s =
        stream({"<|channel>thought\nI need to find "
                "files<channel|><|tool_call>call:find{path:<|\"|>research<|\"|>}<tool_call|>"});
    EXPECT_EQ(s.reply.reasoning, "I need to find files");
    EXPECT_EQ(s.reply.content, "");
    EXPECT_EQ(args_of(s.reply, 0), Json::parse(R"({"path":"research"})"));
}

TEST(ToolStream, S10PromptOpenedTheThoughtNeverContentFirst) {
    auto options = chat_parser_options_for_prompt(
        "<|turn>model\n<|tool_response>response:f{value:1}<tool_response|><|channel>thought\n");
    auto s = stream({"I need", " to answer", "<channel|>", "The answer is 42"}, options);
    EXPECT_EQ(s.reply.reasoning, "I need to answer");
    EXPECT_EQ(s.reply.content, "The answer is 42");
    ASSERT_FALSE(s.events.empty());
    EXPECT_EQ(s.events.front().kind, ChatEvent::Kind::reasoning);
}

TEST(ToolStream, S11ThinkingOnButNoChannelIsAllContent) {
    auto options = chat_parser_options_for_prompt(
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n");
    auto s = stream({"Hello", " there", "!"}, options);
    EXPECT_EQ(s.reply.content, "Hello there!");
    EXPECT_EQ(s.reply.reasoning, "");
}

TEST(ToolStream, S12PartialChannelTokenIsHeldBack) {
    ChatOutputParser parser;
    std::string first;
    for (const auto & e : parser.feed("Answer: <|chan")) first += e.text;
    EXPECT_EQ(first.find('<'), std::string::npos) << first;
    ParsedReply r;
    r.content = first;
    for (const auto & e : parser.feed("nel>thought\nwhy<channel|>ok")) chat_reply_apply(r, e);
    for (const auto & e : parser.finish()) chat_reply_apply(r, e);
    EXPECT_EQ(r.content, "Answer:ok");
    EXPECT_EQ(r.reasoning, "why");
}

TEST(ToolStream, ContentStreamsBeforeTheEnd) {
    ChatOutputParser parser;
    auto events = parser.feed("Hello wor");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].text, "Hello wor");
    events = parser.feed("ld <turn|>");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].text, "ld");
    EXPECT_TRUE(parser.stopped());
}

// Texts covering every parser path; each must parse the same in any chunking (S13).
const std::vector<std::string> kCorpus = {
    "Hello, how can I help you today?",
    "<|channel>thought\nActual reasoning here<channel|>Final answer",
    "<|channel>thought\n<channel|>",
    "<|channel>thousand reasons<channel|>Done",
    "<|channel>This is a reasoning section",
    "<|channel>thought<channel|>x",
    "Let me check the weather for you. "
    "<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>}<tool_call|>",
    "<|tool_call>call:a{x:1}<tool_call|><|tool_call>call:b{y:[1,2,{z:<|\"|>w<|\"|>}]}<tool_call|><|"
    "tool_response>",
    "<|tool_call>call:get_weather{location:<|\"|>London",
    "<|tool_call>call:gdb{args:<|\"|>-batch<|\"|>}<turn|>trailing",
    "<|channel>thought\nplan<channel|>  call:bash{command:<|\"|>ls -la<|\"|>} and more",
    "The literal token <|tool_call> appears here <|tool_call",
    "thought\nHi there\n\n",
    "thought",
    "  \n<|channel>thought\n  spaced  \n<channel|>\n\n  Answer  \n<turn|>",
    "<|tool_call>:call:f{a:[\"x\",'y'],b=\"z\",c:<|\"|>line1\nline2<|\"|>}<tool_call|>after<eos>",
    "A <|tool_call>call:f{a:{b:1}<tool_call|> B<channel|> C",
    "<|channel>thought\nhmm<|tool_call>call:f{}<tool_call|><tool_call|><div>",
    "<|tool_call>call:a{}<|tool_call>call:b{}<tool_call|>",
    "<|tool_call>call:f{a b}<tool_call|>x",
    "x <|tool_call> call: y",
    "héllo ✓ <|channel>thought\nünï<channel|>cödé",
};

std::vector<std::string> random_chunks(const std::string & text, std::mt19937 & rng,
                                       size_t max_len) {
    std::vector<std::string> chunks;
    std::uniform_int_distribution<size_t> len(1, max_len);
    for (size_t i = 0; i < text.size();) {
        size_t n = std::min(len(rng), text.size() - i);
        chunks.push_back(text.substr(i, n));
        i += n;
    }
    return chunks;
}

void expect_same(const ParsedReply & a, const ParsedReply & b) {
    EXPECT_EQ(a.content, b.content);
    EXPECT_EQ(a.reasoning, b.reasoning);
    ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size());
    for (size_t i = 0; i < a.tool_calls.size(); ++i) {
        EXPECT_EQ(a.tool_calls[i].index, b.tool_calls[i].index);
        EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id);
        EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name);
        EXPECT_EQ(a.tool_calls[i].arguments, b.tool_calls[i].arguments);
    }
}

TEST(ToolStream, S13AnyChunkingGivesTheUnchunkedResult) {
    for (bool declared : {false, true}) {
        ChatParserOptions options;
        options.id_seed = 11;
        if (declared) options.declared_tools = {"bash", "f"};
        for (const auto & text : kCorpus) {
            SCOPED_TRACE(text);
            ParsedReply whole = chat_parse_reply(text, options);
            std::vector<std::string> bytes;
            for (char c : text) bytes.emplace_back(1, c);
            expect_same(stream(bytes, options).reply, whole);
            for (unsigned seed = 1; seed <= 60; ++seed) {
                std::mt19937 rng(seed);
                expect_same(stream(random_chunks(text, rng, 1 + seed % 9), options).reply, whole);
            }
        }
    }
}

TEST(ToolStream, S13ChunkingInvarianceFromReasoningStart) {
    ChatParserOptions options;
    options.start_in_reasoning = true;
    options.id_seed = 11;
    const std::string text = "  I need\nto answer \n<channel|>\nThe answer is 42<turn|>";
    ParsedReply whole = chat_parse_reply(text, options);
    EXPECT_EQ(whole.reasoning, "I need\nto answer");
    EXPECT_EQ(whole.content, "The answer is 42");
    for (unsigned seed = 1; seed <= 60; ++seed) {
        std::mt19937 rng(seed);
        expect_same(stream(random_chunks(text, rng, 1 + seed % 5), options).reply, whole);
    }
}

}  // namespace
}  // namespace gemma::chat
