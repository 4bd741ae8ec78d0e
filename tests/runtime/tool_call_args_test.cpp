// Gemma call syntax -> JSON (spec §3.2 mapping, §3.6 recovery), and the failure cases: without a
// closing token nothing is repaired, and malformed text is an error, never a crash.
#include "runtime/tool_call_args.h"

#include <gtest/gtest.h>

#include <string>

namespace gemma::chat {
namespace {

Json parse_ok(const std::string & text, bool repair = false) {
    auto call = tool_call_parse(text, repair);
    EXPECT_TRUE(call.ok()) << text << ": " << (call.ok() ? "" : call.error().message);
    return call.ok() ? call->arguments : Json();
}

TEST(ToolCallArgs, ScalarMapping) {
    // §3.2: STR verbatim, true/false, null (also none/nil, any case), int without '.', float with.
    Json a = parse_ok(
        R"(f{s:<|"|>a "q" {x}<|"|>,t:true,f:FALSE,n:null,m:None,k:nil,i:-12,x:2.50,e:1.5e3})");
    EXPECT_EQ(
        a,
        Json::parse(
            R"({"s":"a \"q\" {x}","t":true,"f":false,"n":null,"m":null,"k":null,"i":-12,"x":2.5,"e":1500.0})"));
    EXPECT_TRUE(a["i"].is_number_integer());
    EXPECT_TRUE(a["x"].is_number_float());
}

TEST(ToolCallArgs, NestedAndEmpty) {
    EXPECT_EQ(parse_ok("f{}"), Json::object());
    EXPECT_EQ(parse_ok(" f { a : [ ] , b : { } } "), Json::parse(R"({"a":[],"b":{}})"));
    EXPECT_EQ(parse_ok(R"(f{a:[[1,2],[<|"|>x<|"|>]],b:{c:{d:null}}})"),
              Json::parse(R"({"a":[[1,2],["x"]],"b":{"c":{"d":null}}})"));
}

TEST(ToolCallArgs, KeyOrderIsKept) {
    auto call = tool_call_parse("f{zeta:1,alpha:2}", false);
    ASSERT_TRUE(call.ok());
    EXPECT_EQ(tool_args_dump(call->arguments), R"({"zeta":1,"alpha":2})");
}

TEST(ToolCallArgs, Recovery) {
    EXPECT_EQ(parse_ok(R"(f{<|"|>3<|"|>:1,"k":"v\n",'p':'it\'s'})"),
              Json::parse(R"({"3":1,"k":"v\n","p":"it's"})"));
    EXPECT_EQ(parse_ok("f{a=1,b=<|\"|>x<|\"|>,}"), Json::parse(R"({"a":1,"b":"x"})"));
    EXPECT_EQ(parse_ok("f{word:hello there}"), Json::parse(R"({"word":"hello there"})"));
    // Only with repair (a closing token was seen): unterminated last string, missing brackets.
    EXPECT_EQ(parse_ok(R"(f{a:<|"|>tail)", true), Json::parse(R"({"a":"tail"})"));
    EXPECT_EQ(parse_ok("f{a:[1,2", true), Json::parse(R"({"a":[1,2]})"));
    EXPECT_EQ(parse_ok("f", true), Json::object());
}

TEST(ToolCallArgs, ErrorsWithoutRepair) {
    for (const char * bad : {R"(f{a:<|"|>tail)", "f{a:[1,2", "f{a:1", "f", "f{a:1}x", "{a:1}",
                             "bad name{a:1}", "f{:1}", "f{a}", "f{a:}"}) {
        SCOPED_TRACE(bad);
        auto call = tool_call_parse(bad, false);
        ASSERT_FALSE(call.ok());
        EXPECT_EQ(call.error().code, ErrorCode::invalid_argument);
        EXPECT_FALSE(call.error().message.empty());
    }
}

TEST(ToolCallArgs, InvalidUtf8IsReplacedNotThrown) {
    auto call = tool_call_parse("f{s:<|\"|>\xff\xfe<|\"|>}", false);
    ASSERT_TRUE(call.ok());
    std::string dumped = tool_args_dump(call->arguments);
    EXPECT_TRUE(Json::parse(dumped)["s"].is_string());
}

TEST(ToolCallArgs, BareObjectEnd) {
    EXPECT_EQ(tool_call_object_end("f{a:{b:<|\"|>}<|\"|>}}rest"), std::optional<size_t>(20));
    EXPECT_EQ(tool_call_object_end("f{a:[1,{b:2}"), std::nullopt);
    EXPECT_EQ(tool_call_object_end("f"), std::nullopt);
}

}  // namespace
}  // namespace gemma::chat
