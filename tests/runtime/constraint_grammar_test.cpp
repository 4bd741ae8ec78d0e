// Constrained decoding without a model: the matcher against an independent validator and
// nlohmann's parser on hand-written texts, and random sampling over a synthetic vocabulary whose
// every output parses (nlohmann / the tool-call parser) and validates within its token budget.
#include <gtest/gtest.h>

#include "constraint_validator.h"
#include "runtime/constraint_chat.h"
#include "runtime/sampler.h"
#include "runtime/tool_call_args.h"

using namespace gemma;
using namespace gemma::runtime;
using constraint_test::Json;
using constraint_test::validate;

namespace {

// Control tokens first (ids 0..6), then ordinary tokens: printable ASCII, a few UTF-8 pieces
// (whole and split), JSON / Gemma fragments, and texts that spell control tokens.
struct Synth {
    std::vector<std::string> texts;
    std::shared_ptr<const ConstraintVocab> vocab;
};

Synth make_synth() {
    ConstraintVocabInput in;
    const std::pair<const char *, int32_t> controls[] = {
        {"<|\"|>", cg::kQuote},           {"<|tool_call>", cg::kCallOpen},
        {"<tool_call|>", cg::kCallClose}, {"<|channel>", cg::kChanOpen},
        {"<channel|>", cg::kChanClose},   {"<|tool_response>", cg::kCallsEnd}};
    for (const auto & [text, sym] : controls) {
        in.controls.push_back({int32_t(in.texts.size()), sym});
        in.texts.push_back(text);
        in.special.push_back(true);
    }
    in.texts.push_back("<turn|>");  // a control token the grammars never use
    in.special.push_back(true);
    in.delimiters.push_back("<turn|>");
    std::vector<std::string> ordinary;
    for (int c = 0x20; c < 0x7F; ++c) ordinary.push_back(std::string(1, char(c)));
    for (const char * t :
         {"\n",      "\t",      "\xC3",   "\xA9",     "\xC3\xA9", "\xE2\x82\xAC", "\xE2",
          "{\"",     "\"}",     "\":",    "\",",      "\"name\"", "\"age\":",     "name:",
          "age",     "city:",   "call:",  "call:get", "_weather", "get_time{",    "{}",
          "[]",      "true",    "false",  "null",     "12",       "-3.5",         "e+",
          "\\u00e9", "\\ud800", "\\n",    "abc",      " the",     "Paris",        "],",
          "}}",      "<turn|>", "<|\"|>", "<|",       "\"|>",     "<tool_call|>", "  ",
          "zone:",   "C\",",    "unit:",  "1,",       "0.5}",     "ok:",          "tags",
          ":[",      "\"a\"",   "\"b\"",  "]}"})
        ordinary.push_back(t);
    for (std::string & t : ordinary) {
        in.texts.push_back(t);
        in.special.push_back(false);
    }
    Synth s;
    s.texts = in.texts;
    s.vocab = constraint_vocab_build(std::move(in));
    return s;
}

struct Sampled {
    bool ok = false;    // sampling never failed
    bool done = false;  // the constraint finished
    std::string text;
    int tokens = 0;
    std::string error;
};

// Random logits each step (seeded), sampled with the real Sampler under the constraint.
Sampled sample(const Synth & s, GrammarConstraint & c, uint64_t seed, float temperature,
               int budget) {
    SamplingParams sp;
    sp.temperature = temperature;
    sp.has_seed = true;
    sp.seed = seed;
    const int V = int(s.texts.size());
    Sampler sampler(sp, V);
    Rng logit_rng(seed * 7919 + 1);
    Sampled out;
    for (int step = 0; step < budget && !c.done(); ++step) {
        std::vector<float> logits(static_cast<size_t>(V));
        for (float & l : logits) l = float(logit_rng.uniform() * 6.0 - 3.0);
        auto r = sampler.sample(logits, c.filter());
        if (!r.ok()) {
            out.error = r.error().message;
            return out;
        }
        c.accept(r->id);
        out.text += s.texts[size_t(r->id)];
        ++out.tokens;
    }
    out.ok = true;
    out.done = c.done();
    return out;
}

std::shared_ptr<GrammarConstraint> json_constraint(const Synth & s, const Json * schema,
                                                   int budget) {
    ChatConstraintSpec spec;
    spec.kind = ChatConstraintSpec::Kind::json;
    spec.schema = schema;
    spec.budget = budget;
    auto c = chat_constraint_make(spec, s.vocab);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : nullptr;
}

const Json kPerson = Json::parse(R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 5},
    "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2},
    "ok": {"type": "boolean"},
    "unit": {"type": ["string", "null"]},
    "score": {"type": "number"}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})");

bool matches(const Json & schema, const std::string & text) {
    cg::GrammarOptions o;
    o.delimiters = {"<turn|>", "<|\"|>"};
    auto g = cg::grammar_for_json(&schema, o);
    EXPECT_TRUE(g.ok()) << g.error().message;
    if (!g.ok()) return false;
    cg::Matcher m(g->get());
    return m.feed_bytes(text) && m.done();
}

}  // namespace

TEST(ConstraintGrammar, JsonTextsAgreeWithTheValidator) {
    const char * valid[] = {
        R"({"name":"Bob","age":30})",
        R"({ "age" : -2 , "name" : "" , "tags" : ["a","b"], "ok":true, "unit":null })",
        R"({"name":"h\u00e9\n","age":0,"unit":"x","score":-0.5e+10})",
        "{\"name\":\"\xC3\xA9t\xC3\xA9\",\"age\":7}",
    };
    for (const char * t : valid) {
        EXPECT_TRUE(matches(kPerson, t)) << t;
        Json j = Json::parse(t, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << t;
        EXPECT_EQ(validate(kPerson, j), "") << t;
    }
    const char * invalid[] = {
        R"({"name":"x"})",                               // age is required
        R"({"name":"x","age":1,"zz":1})",                // additionalProperties false
        R"({"name":"toolong","age":1})",                 // maxLength 5
        R"({"name":"x","age":1.5})",                     // integer
        R"({"name":"x","age":1,"tags":["a","a","b"]})",  // maxItems 2
        R"({"name":"x","age":1,"tags":["c"]})",          // enum
        R"({"name":"x","age":01})",                      // JSON numbers have no leading zeros
        R"({"name":"x","age":1,"unit":5})",              // string or null
        "{\"name\":\"\xC3\",\"age\":1}",                 // truncated UTF-8
        R"({"name":"<turn|>","age":1})",                 // the parser would end the reply there
        R"({"name":"\ud800","age":1})",                  // lone surrogate
    };
    for (const char * t : invalid) {
        EXPECT_FALSE(matches(kPerson, t)) << t;
        Json j = Json::parse(t, nullptr, false);
        if (!j.is_discarded() && std::string(t).find("<turn|>") == std::string::npos) {
            EXPECT_NE(validate(kPerson, j), "") << t;
        }
    }
    // Duplicate keys are valid JSON but never generated.
    EXPECT_FALSE(matches(kPerson, R"({"name":"a","name":"b","age":1})"));
}

TEST(ConstraintGrammar, NumberBoundsAreExact) {
    const Json schema = Json::parse(R"({"type":"object","properties":{
        "i":{"type":"integer","minimum":1,"maximum":12},
        "x":{"type":"number","exclusiveMinimum":0,"maximum":1},
        "n":{"type":"number","maximum":-2.5},
        "d":{"type":"number","minimum":0.1,"maximum":0.3,"exclusiveMaximum":true},
        "big":{"type":"integer","minimum":1000000}}})");
    struct Case {
        const char * text;
        bool ok;
    } cases[] = {
        {R"({"i":1})", true},         {R"({"i":12})", true},        {R"({"i":0})", false},
        {R"({"i":13})", false},       {R"({"i":-1})", false},       {R"({"i":120})", false},
        {R"({"x":0.5})", true},       {R"({"x":1})", true},         {R"({"x":0})", false},
        {R"({"x":0.0})", false},      {R"({"x":1.01})", false},     {R"({"x":-0.1})", false},
        {R"({"x":1.0})", true},       {R"({"n":-2.5})", true},      {R"({"n":-3})", true},
        {R"({"n":-2.4})", false},     {R"({"n":2})", false},        {R"({"d":0.1})", true},
        {R"({"d":0.29999})", true},   {R"({"d":0.3})", false},      {R"({"d":0.09})", false},
        {R"({"big":1000000})", true}, {R"({"big":999999})", false},
    };
    for (const Case & c : cases) {
        EXPECT_EQ(matches(schema, c.text), c.ok) << c.text;
        EXPECT_EQ(validate(schema, Json::parse(c.text)).empty(), c.ok) << c.text;
    }
    // Bounded numbers are written without an exponent (the validator accepts 1e-1; we never
    // generate it).
    EXPECT_FALSE(matches(schema, R"({"x":1e-1})"));
    // A prefix that no in-range number extends is refused at once: "2" cannot grow into 1..12.
    cg::GrammarOptions o;
    auto g = cg::grammar_for_json(&schema, o);
    ASSERT_TRUE(g.ok());
    cg::Matcher m(g->get());
    ASSERT_TRUE(m.feed_bytes(R"({"i":)"));
    cg::Matcher two = m;
    EXPECT_TRUE(two.feed('2'));
    EXPECT_FALSE(two.feed('0'));
    cg::Matcher big(g->get());
    ASSERT_TRUE(big.feed_bytes(R"({"big":)"));
    EXPECT_EQ(big.min_cost(), 7 + 1);  // 1000000 then }
}

TEST(ConstraintGrammar, MinCostCountsTheShortestCompletion) {
    cg::GrammarOptions o;
    auto g = cg::grammar_for_json(&kPerson, o);
    ASSERT_TRUE(g.ok());
    cg::Matcher m(g->get());
    const std::string shortest = R"({"name":"","age":0})";
    EXPECT_EQ(m.min_cost(), int32_t(shortest.size()));
    for (size_t i = 0; i < shortest.size(); ++i) {
        ASSERT_TRUE(m.feed(uint8_t(shortest[i])));
        EXPECT_EQ(m.min_cost(), int32_t(shortest.size() - i - 1)) << shortest.substr(0, i + 1);
    }
    EXPECT_TRUE(m.done());
}

TEST(ConstraintGrammar, SampledJsonAlwaysParsesAndValidates) {
    Synth s = make_synth();
    const Json schemas[] = {
        kPerson,
        Json::parse(R"({"type":"object","properties":{"items":{"type":"array","minItems":1,
            "items":{"type":"object","properties":{"id":{"type":"integer"},"label":{"type":"string",
            "minLength":2}},"required":["id","label"]}}},"required":["items"]})"),
        Json::parse(R"({"type":"array","items":{"anyOf":[{"type":"number"},{"type":"string"},
            {"type":"null"}]},"maxItems":4})"),
        Json::parse(R"({"type":"object","additionalProperties":{"type":"boolean"}})"),
        Json::parse(R"({"type":"array","minItems":2,"items":{"anyOf":[{"type":"number",
            "exclusiveMinimum":0.1,"maximum":0.2},{"type":"string","maxLength":3},
            {"type":"null"}]}})"),
        Json::parse(R"({"type":"object","properties":{"p":{"type":"integer","minimum":1000000},
            "q":{"type":"number","maximum":-2.5},"r":{"type":"integer","minimum":-5,
            "maximum":250}},"required":["p","q","r"]})"),
    };
    int finished = 0;
    for (const Json & schema : schemas)
        for (uint64_t seed = 1; seed <= 12; ++seed)
            for (float temperature : {0.0f, 0.7f, 1.5f}) {
                const int budget = 60;
                auto c = json_constraint(s, &schema, budget);
                ASSERT_NE(c, nullptr);
                Sampled out = sample(s, *c, seed, temperature, budget);
                ASSERT_TRUE(out.ok) << out.error << " after " << out.text;
                ASSERT_TRUE(out.done) << "the budget must close the value: " << out.text;
                EXPECT_LE(out.tokens, budget);
                Json j = Json::parse(out.text, nullptr, false);
                ASSERT_FALSE(j.is_discarded()) << out.text;
                EXPECT_EQ(validate(schema, j), "") << out.text << "\nschema " << schema.dump();
                ++finished;
            }
    EXPECT_EQ(finished, int(std::size(schemas)) * 12 * 3);
}

TEST(ConstraintGrammar, JsonObjectModeGivesAnyObject) {
    Synth s = make_synth();
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        auto c = json_constraint(s, nullptr, 40);
        Sampled out = sample(s, *c, seed, 1.0f, 40);
        ASSERT_TRUE(out.ok && out.done) << out.error << out.text;
        Json j = Json::parse(out.text, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << out.text;
        EXPECT_TRUE(j.is_object()) << out.text;
    }
}

TEST(ConstraintGrammar, SampledToolCallsParseAndValidate) {
    Synth s = make_synth();
    chat::ToolDeclaration weather{"get_weather",
                                  "",
                                  chat::Json::parse(R"({"type":"object",
        "properties":{"city":{"type":"string","minLength":1},"unit":{"enum":["C","F"]},
        "days":{"type":"integer","minimum":1},"when":{"type":"object","properties":{"hour":{"type":"number","minimum":0,"exclusiveMaximum":24}}},
        "tags":{"type":"array","items":{"type":"string"}},"exact":{"type":"boolean"},
        "label with space":{"type":"null"}},"required":["city","unit"]})"),
                                  false,
                                  {}};
    chat::ToolDeclaration time{"get_time",
                               "",
                               chat::Json::parse(R"({"type":"object",
        "properties":{"zone":{"type":"string","enum":["UTC","CET"]}}})"),
                               false,
                               {}};
    chat::ToolDeclaration ping{"ping", "", chat::Json(), false, {}};
    chat::ToolDeclaration free_form{
        "note", "", chat::Json::parse(R"({"type":"object"})"), false, {}};
    std::map<std::string, chat::Json> schemas = {
        {"get_weather", weather.parameters},
        {"get_time", time.parameters},
        {"ping", Json::parse(R"({"type":"object","properties":{},"additionalProperties":false})")},
        {"note", free_form.parameters}};
    int calls = 0;
    for (int max_calls : {1, 3})
        for (uint64_t seed = 1; seed <= 15; ++seed)
            for (float temperature : {0.0f, 1.0f}) {
                ChatConstraintSpec spec;
                spec.kind = ChatConstraintSpec::Kind::tools;
                spec.tools = {weather, time, ping, free_form};
                spec.max_calls = max_calls;
                spec.allow_thought = seed % 3 == 0;
                spec.budget = 80;
                auto c = chat_constraint_make(spec, s.vocab);
                ASSERT_TRUE(c.ok()) << c.error().message;
                Sampled out = sample(s, **c, seed, temperature, spec.budget);
                ASSERT_TRUE(out.ok && out.done) << out.error << " " << out.text;
                // Split the calls out of the raw text and parse each as the output parser does.
                size_t at = 0;
                int n = 0;
                while ((at = out.text.find("<|tool_call>", at)) != std::string::npos) {
                    size_t end = out.text.find("<tool_call|>", at);
                    ASSERT_NE(end, std::string::npos) << out.text;
                    std::string body = out.text.substr(at + 12, end - at - 12);
                    ASSERT_EQ(body.rfind("call:", 0), 0u) << body;
                    auto call = chat::tool_call_parse(body.substr(5), false);
                    ASSERT_TRUE(call.ok()) << call.error().message << " in " << body;
                    ASSERT_TRUE(schemas.count(call->name)) << call->name;
                    Json args = Json::parse(call->arguments.dump());
                    EXPECT_EQ(validate(schemas[call->name], args), "") << body;
                    at = end;
                    ++n;
                }
                EXPECT_GE(n, 1) << out.text;
                EXPECT_LE(n, max_calls) << out.text;
                calls += n;
            }
    EXPECT_GE(calls, 60);
}

TEST(ConstraintGrammar, BudgetBelowTheShortestReplyIsAnError) {
    Synth s = make_synth();
    ChatConstraintSpec spec;
    spec.kind = ChatConstraintSpec::Kind::json;
    spec.schema = &kPerson;
    spec.budget = 5;  // {"name":"","age":0} needs 19 single-byte symbols
    auto c = chat_constraint_make(spec, s.vocab);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(c.error().message.find("max_tokens"), std::string::npos) << c.error().message;
    spec.budget = 19;  // exactly enough: the constraint must steer to the shortest reply
    auto tight = chat_constraint_make(spec, s.vocab);
    ASSERT_TRUE(tight.ok());
    Sampled out = sample(s, **tight, 3, 1.0f, 19);
    ASSERT_TRUE(out.ok && out.done) << out.error << out.text;
    EXPECT_EQ(validate(kPerson, Json::parse(out.text)), "") << out.text;
}

TEST(ConstraintGrammar, UnsupportedKeywordsAreNamed) {
    cg::GrammarOptions o;
    struct Case {
        const char * schema;
        ErrorCode code;
        const char * mention;
    } cases[] = {
        {R"({"type":"object","properties":{"s":{"type":"string","pattern":"^a"}}})",
         ErrorCode::unsupported, "pattern"},
        {R"({"type":"object","properties":{"n":{"type":"integer","multipleOf":3}}})",
         ErrorCode::unsupported, "multipleOf"},
        {R"({"type":"object","properties":{"n":{"type":"integer","minimum":3,"maximum":2}}})",
         ErrorCode::invalid_argument, "minimum"},
        {R"({"type":"object","properties":{"r":{"$ref":"#/$defs/x"}}})", ErrorCode::unsupported,
         "$ref"},
        {R"({"type":"object","properties":{"u":{"anyOf":[{"type":"string"},{"type":"string","maxLength":2}]}}})",
         ErrorCode::unsupported, "overlap"},
        {R"({"type":"string"})", ErrorCode::unsupported, "root"},
        {R"({"type":"object","properties":{"x":{"type":"strnig"}}})", ErrorCode::invalid_argument,
         "strnig"},
        {R"({"type":"object","required":["a"],"additionalProperties":false})",
         ErrorCode::invalid_argument, "required"},
    };
    for (const Case & c : cases) {
        Json schema = Json::parse(c.schema);
        auto g = cg::grammar_for_json(&schema, o);
        ASSERT_FALSE(g.ok()) << c.schema;
        EXPECT_EQ(g.error().code, c.code) << c.schema << ": " << g.error().message;
        EXPECT_NE(g.error().message.find(c.mention), std::string::npos) << g.error().message;
    }
    // Annotations and unknown keywords are ignored, as JSON Schema says.
    Json ok = Json::parse(R"({"type":"object","title":"T","description":"d","x-extra":1,
        "properties":{"d":{"type":"string","format":"date","default":"2020-01-01"}}})");
    EXPECT_TRUE(cg::grammar_for_json(&ok, o).ok());
    chat::ToolDeclaration bad{"bad name!", "", chat::Json(), false, {}};
    auto t = cg::grammar_for_tools({bad}, 1, o);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("bad name!"), std::string::npos);
}

TEST(ConstraintGrammar, FreeTextNeverSpellsAControlToken) {
    Json schema =
        Json::parse(R"({"type":"object","properties":{"s":{"type":"string"}},"required":["s"]})");
    cg::GrammarOptions o;
    o.delimiters = {"<turn|>", "<|\"|>", "<tool_call|>"};
    auto g = cg::grammar_for_json(&schema, o);
    ASSERT_TRUE(g.ok());
    cg::Matcher m(g->get());
    ASSERT_TRUE(m.feed_bytes(R"({"s":"a <b <tur)"));
    cg::Matcher spelled = m;
    EXPECT_FALSE(spelled.feed_bytes("n|>"));
    EXPECT_TRUE(m.feed_bytes("n|x <<tool_call| > \"}"));
    EXPECT_TRUE(m.done());
}

// The trie walk (fill_mask) and the per-token check (allows) must agree on every token, in every
// state a sampled output passes through, including budget-tight ones near the end.
TEST(ConstraintGrammar, MaskAgreesWithPerTokenChecks) {
    Synth s = make_synth();
    chat::ToolDeclaration weather{"get_weather",
                                  "",
                                  chat::Json::parse(R"({"type":"object",
        "properties":{"city":{"type":"string","maxLength":6},"days":{"type":"integer","minimum":2,
        "maximum":30}},"required":["city","days"]})"),
                                  false,
                                  {}};
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        ChatConstraintSpec spec;
        if (seed % 2) {
            spec.kind = ChatConstraintSpec::Kind::json;
            spec.schema = &kPerson;
        } else {
            spec.kind = ChatConstraintSpec::Kind::tools;
            spec.tools = {weather};
            spec.allow_thought = true;
        }
        spec.budget = 40;
        auto c = chat_constraint_make(spec, s.vocab);
        ASSERT_TRUE(c.ok()) << c.error().message;
        SamplingParams sp;
        sp.has_seed = true;
        sp.seed = seed;
        Sampler sampler(sp, int(s.texts.size()));
        Rng logit_rng(seed);
        for (int step = 0; step < 40 && !(*c)->done(); ++step) {
            std::vector<uint8_t> mask;
            ASSERT_TRUE((*c)->fill_mask(mask));
            for (int32_t id = 0; id < int32_t(s.texts.size()); ++id)
                ASSERT_EQ(mask[size_t(id)] != 0, (*c)->allows(id))
                    << "token " << id << " '" << s.texts[size_t(id)] << "' at step " << step;
            std::vector<float> logits(s.texts.size());
            for (float & l : logits) l = float(logit_rng.uniform() * 4.0);
            auto r = sampler.sample(logits, (*c)->filter());
            ASSERT_TRUE(r.ok()) << r.error().message;
            (*c)->accept(r->id);
        }
        EXPECT_TRUE((*c)->done());
    }
}
