// Spec §6.1 rendering checklist, tool half: declarations (R13, R37), tool calls and results
// (R19-R29, R32), string arguments (R34, A8), thinking replay (R19-R21, A7, A9). Expected pieces
// are copied from the spec (strings produced there by Jinja2 from the July template); "…" in a
// pattern stands for any text, as in the spec.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/chat_request.h"
#include "runtime/chat_template.h"

namespace gemma::chat {
namespace {

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

// Pattern match where "…" matches any text; pieces must appear in order, anchored at the ends
// unless the pattern starts/ends with "…".
bool spec_match(const std::string & text, std::string_view pattern_spec) {
    std::string pattern = spec_str(pattern_spec);
    const std::string ell = "…";
    std::vector<std::string> pieces;
    size_t pos = 0;
    while (true) {
        size_t e = pattern.find(ell, pos);
        pieces.push_back(pattern.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
        if (e == std::string::npos) break;
        pos = e + ell.size();
    }
    size_t at = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
        const std::string & p = pieces[i];
        if (i == 0) {
            if (text.compare(0, p.size(), p) != 0) return false;
            at = p.size();
        } else if (i + 1 == pieces.size()) {
            return text.size() >= at + p.size() &&
                   text.compare(text.size() - p.size(), p.size(), p) == 0;
        } else {
            size_t f = text.find(p, at);
            if (f == std::string::npos) return false;
            at = f + p.size();
        }
    }
    return at == text.size();
}

Result<std::string> render_json(const std::string & request, ChatRequestOptions options = {}) {
    auto req = chat_request_parse(request, options);
    if (!req.ok()) return req.error();
    return chat_render(*req);
}

std::string one_tool(const std::string & function_json) {
    return R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":)" +
           function_json + "}]}";
}

struct PatternCase {
    const char * id;
    std::string request;
    std::string pattern;  // spec notation, "…" = anything
    bool normalize = false;
};

const std::vector<PatternCase> kCases = {
    // R13: declaration edge cases of §2.4.
    {"R13 no parameters", one_tool(R"({"name":"now","description":"Current time"})"),
     R"x(…<|tool>declaration:now{description:<|"|>Current time<|"|>}<tool|>…)x"},
    {"R13 empty properties",
     one_tool(
         R"({"name":"now","description":"Current time","parameters":{"type":"object","properties":{}}})"),
     R"x(…<|tool>declaration:now{description:<|"|>Current time<|"|>,parameters:{type:<|"|>OBJECT<|"|>}}<tool|>…)x"},
    {"R13 nullable/array/nested/type-named",
     one_tool(
         R"({"name":"f","description":"d","parameters":{"type":"object","properties":{)"
         R"("n":{"type":"integer","nullable":true},"opts":{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]},)"
         R"("tags":{"type":"array","items":{"type":"string"}},"type":{"type":"string","description":"kind"}}}})"),
     R"x(…<|tool>declaration:f{description:<|"|>d<|"|>,parameters:{properties:{n:{nullable:true,type:<|"|>INTEGER<|"|>},opts:{properties:{a:{type:<|"|>BOOLEAN<|"|>}},required:[<|"|>a<|"|>],type:<|"|>OBJECT<|"|>},tags:{items:{type:<|"|>STRING<|"|>},type:<|"|>ARRAY<|"|>},type:{description:<|"|>kind<|"|>,type:<|"|>STRING<|"|>}},type:<|"|>OBJECT<|"|>}}<tool|>…)x"},
    {"R13 array of objects",
     one_tool(
         R"({"name":"f","description":"d","parameters":{"type":"object","properties":{"e":{"type":"array",)"
         R"("description":"E","items":{"type":"object","properties":{"id":{"type":"string"},"count":{"type":"number"}},)"
         R"("required":["id"]}}}}})"),
     R"x(…e:{description:<|"|>E<|"|>,items:{properties:{count:{type:<|"|>NUMBER<|"|>},id:{type:<|"|>STRING<|"|>}},required:[<|"|>id<|"|>],type:<|"|>OBJECT<|"|>},type:<|"|>ARRAY<|"|>}…)x"},
    // §2.4 rules 4-5: anyOf -> empty type; default/minimum dropped; enum dropped for non-strings;
    // a list type prints Python's list repr.
    {"R13 anyOf/default/int enum/list type",
     one_tool(
         R"({"name":"f","description":"d","parameters":{"type":"object","properties":{)"
         R"("u":{"anyOf":[{"type":"string"},{"type":"null"}]},"v":{"type":"integer","default":3,"minimum":0,"enum":[1,2]},)"
         R"("w":{"type":["string","null"]}}}})"),
     R"x(…properties:{u:{type:<|"|><|"|>},v:{type:<|"|>INTEGER<|"|>},w:{type:<|"|>['STRING', 'NULL']<|"|>}},type:<|"|>OBJECT<|"|>}}<tool|>…)x"},
    // R37: parameters without "type": the template's unbalanced output, and our normalisation.
    {"R37 template",
     one_tool(
         R"({"name":"f","description":"d","parameters":{"properties":{"a":{"type":"string"}},"required":["a"]}})"),
     R"x(…required:[<|"|>a<|"|>],}<tool|>…)x"},
    {"R37 normalized",
     one_tool(
         R"({"name":"f","description":"d","parameters":{"properties":{"a":{"type":"string"}},"required":["a"]}})"),
     R"x(…required:[<|"|>a<|"|>],type:<|"|>OBJECT<|"|>}}<tool|>…)x", true},
    {"R19",
     R"({"messages":[{"role":"user","content":"Oslo then Rome?"},)"
     R"({"role":"assistant","reasoning_content":"First Oslo.","tool_calls":[{"id":"o","type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]},)"
     R"({"role":"tool","tool_call_id":"o","content":"5C"},)"
     R"({"role":"assistant","reasoning_content":"Now Rome.","tool_calls":[{"id":"r","type":"function","function":{"name":"get_weather","arguments":{"city":"Rome"}}}]},)"
     R"({"role":"tool","tool_call_id":"r","content":"20C"}],"chat_template_kwargs":{"enable_thinking":true}})",
     R"x(…<|turn>model\n<|channel>thought\nFirst Oslo.\n<channel|><|tool_call>…<tool_response|><|channel>thought\nNow Rome.\n<channel|><|tool_call>…<tool_response|><|channel>thought\n)x"},
    {"R20",
     R"({"messages":[{"role":"user","content":"Q1"},)"
     R"({"role":"assistant","reasoning":"R1","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{}}}]},)"
     R"({"role":"tool","tool_call_id":"a","content":"ok"},{"role":"assistant","content":"A1","reasoning":"R1b"},)"
     R"({"role":"user","content":"Q2"}],"chat_template_kwargs":{"enable_thinking":true,"preserve_thinking":true}})",
     R"x(…<|turn>model\n<|channel>thought\nR1\n<channel|><|tool_call>…<tool_response|>A1<turn|>\n<|turn>user\nQ2<turn|>\n<|turn>model\n)x"},
    {"R21",
     R"({"messages":[{"role":"user","content":"Q"},)"
     R"({"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{}}}]},)"
     R"({"role":"tool","tool_call_id":"a","content":"ok"},{"role":"assistant","content":"A1","reasoning_content":"R-final"}],)"
     R"("add_generation_prompt":false})",
     R"x(…<tool_response|><|channel>thought\nR-final\n<channel|>A1<turn|>\n)x"},
    {"A7 reasoning key",
     R"({"messages":[{"role":"user","content":"Q"},)"
     R"({"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{}}}]},)"
     R"({"role":"tool","tool_call_id":"a","content":"ok"},{"role":"assistant","content":"A1","reasoning":"R-final"}],)"
     R"("add_generation_prompt":false})",
     R"x(…<tool_response|><|channel>thought\nR-final\n<channel|>A1<turn|>\n)x"},
    {"R22",
     R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":)"
     R"({"s":"a,b}","n":3,"x":2.5,"b":true,"z":null,"l":["p",1],"o":{"k":"v"}}}}]}]})",
     R"x(…call:f{b:true,l:[<|"|>p<|"|>,1],n:3,o:{k:<|"|>v<|"|>},s:<|"|>a,b}<|"|>,x:2.5,z:null}…)x"},
    {"R23",
     R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":)"
     R"({"b":1,"A":2,"a":3,"_z":0.1,"big":1e20,"small":1e-7,"one":1.0,"neg":-5,"uni":"héllo ✓"}}}]}]})",
     R"x(…call:f{_z:0.1,A:2,a:3,b:1,big:1e+20,neg:-5,one:1.0,small:1e-07,uni:<|"|>héllo ✓<|"|>}…)x"},
    {"R24",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"l","type":"function",)"
     R"("function":{"name":"lookup","arguments":{}}}]},{"role":"tool","tool_call_id":"l","content":)"
     R"([{"type":"text","text":"part1 "},{"type":"text","text":"part2"}]}]})",
     R"x(…response:lookup{value:<|"|>part1 part2<|"|>}…)x"},
    {"R25",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"i","type":"function",)"
     R"("function":{"name":"f","arguments":null}}]},{"role":"tool","tool_call_id":"i","content":null}]})",
     R"x(…<|tool_call>call:f{}<tool_call|><|tool_response>response:f{value:null}<tool_response|>)x"},
    {"R26",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Snowy.","tool_responses":)"
     R"([{"name":"get_weather","response":{"temp":-3,"sky":"snow"}}]}]})",
     R"x(…<|tool_response>response:get_weather{sky:<|"|>snow<|"|>,temp:-3}<tool_response|>Snowy.<turn|>\n…)x"},
    {"R27",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[)"
     R"({"type":"function","function":{"name":"first","arguments":{}}},{"type":"function","function":{"name":"second","arguments":{}}}]},)"
     R"({"role":"tool","content":"1"},{"role":"tool","content":"2"}]})",
     R"x(…<|tool_response>response:second{value:<|"|>1<|"|>}<tool_response|><|tool_response>response:second{value:<|"|>2<|"|>}<tool_response|>)x"},
    {"R28",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[)"
     R"({"id":"a","type":"function","function":{"name":"first","arguments":{}}},{"id":"b","type":"function","function":{"name":"second","arguments":{}}}]},)"
     R"({"role":"tool","content":"1"},{"role":"tool","tool_call_id":"a","content":"2"}]})",
     R"x(…response:unknown{value:<|"|>1<|"|>}<tool_response|><|tool_response>response:first{value:<|"|>2<|"|>}…)x"},
    {"R29",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"a","type":"function",)"
     R"("function":{"name":"f","arguments":{}}}]},{"role":"tool","tool_call_id":"a","content":"  result  "}]})",
     R"x(…value:<|"|>  result  <|"|>…)x"},
    {"R32",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Let me check.","tool_calls":[)"
     R"({"id":"a","type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]},)"
     R"({"role":"tool","tool_call_id":"a","content":"-3C"}]})",
     R"x(…<tool_call|><|tool_response>response:get_weather{value:<|"|>-3C<|"|>}<tool_response|>Let me check.<turn|>\n)x"},
    {"tool media parts",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"a","type":"function",)"
     R"("function":{"name":"snap","arguments":{}}}]},{"role":"tool","tool_call_id":"a","content":)"
     R"([{"type":"text","text":"see"},{"type":"image"},{"type":"input_audio"}]}]})",
     R"x(…<|tool_response>response:snap{value:<|"|>see<|"|>}<tool_response|><|image|><|audio|>)x"},
    {"A8 decoded string arguments",
     R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"a","type":"function",)"
     R"("function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}]})",
     R"x(…<|tool_call>call:get_weather{city:<|"|>Oslo<|"|>}<tool_call|><|tool_response>)x", true},
    {"A9",
     R"({"messages":[{"role":"user","content":"q"}],"chat_template_kwargs":{"enable_thinking":true}})",
     R"(<bos><|turn>system\n<|think|>\n…)"},
};

TEST(ChatRenderTools, SpecPatterns) {
    for (const auto & c : kCases) {
        SCOPED_TRACE(c.id);
        auto text = render_json(c.request,
                                c.normalize ? ChatRequestOptions::server() : ChatRequestOptions{});
        ASSERT_TRUE(text.ok()) << text.error().message;
        EXPECT_TRUE(spec_match(*text, c.pattern)) << "rendered:\n"
                                                  << *text << "\npattern:\n"
                                                  << c.pattern;
    }
}

TEST(ChatRenderTools, R27IdlessToolMessagesNeverNameTheFirstCall) {
    const PatternCase * r27 = nullptr;
    for (const auto & c : kCases) {
        if (std::string(c.id) == "R27") r27 = &c;
    }
    ASSERT_NE(r27, nullptr);
    auto text = render_json(r27->request);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(text->find("response:first"), std::string::npos);
}

TEST(ChatRenderTools, R34StringArgumentsRaiseTheTemplateError) {
    auto text = render_json(
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f",)"
        R"("arguments":"{\"city\":\"Oslo\"}"}}]}]})");
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(text.error().message.find("must be a JSON object (mapping), not a string"),
              std::string::npos);
}

TEST(ChatRenderTools, A8InvalidJsonArgumentsAreABadRequest) {
    auto text = render_json(
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f",)"
        R"("arguments":"{city: Oslo"}}]}]})",
        ChatRequestOptions::server());
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(text.error().message.find("messages[0].tool_calls[0].function.arguments"),
              std::string::npos)
        << text.error().message;
}

TEST(ChatRenderTools, EmptyStringArgumentsDecodeToEmptyObject) {
    auto text = render_json(
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f",)"
        R"("arguments":""}}]}]})",
        ChatRequestOptions::server());
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_NE(text->find("<|tool_call>call:f{}<tool_call|>"), std::string::npos);
}

}  // namespace
}  // namespace gemma::chat
