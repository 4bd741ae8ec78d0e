// JSON-constrained decoding: the prefix checker against nlohmann::json's parser (the reference)
// on valid and invalid texts, and sampling under the constraint from random logits over a small
// vocabulary of JSON fragments always yields text nlohmann parses as an object.
#include "runtime/json_constraint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"

using namespace gemma;
using namespace gemma::runtime;

namespace {

bool accepts_whole(const std::string & s, bool object_only = false) {
    JsonPrefix p(object_only);
    return p.feed(s) && p.complete();
}

}  // namespace

TEST(JsonPrefix, AgreesWithTheParserOnWholeTexts) {
    const char * texts[] = {
        R"({})",
        R"([])",
        R"({"a": 1, "b": [true, false, null], "c": {"d": "x\"y\u00e9"}})",
        R"(-0.5e+10)",
        R"("s")",
        R"([1,2 , 3])",
        R"({"a":})",
        R"({"a" 1})",
        R"([1,])",
        R"(01)",
        R"({"a":1}})",
        R"(tru)",
        R"("bad \x escape")",
        R"({'a': 1})",
        R"(1.)",
        R"(-)",
        R"([1 2])",
        " { \"k\" : [ ] } ",
        R"("tab	inside")",
    };
    for (const char * t : texts) {
        bool ref = nlohmann::json::accept(t);
        EXPECT_EQ(accepts_whole(t), ref) << t;
    }
}

TEST(JsonPrefix, RejectsAtTheFirstBadCharacterAndKeepsState) {
    JsonPrefix p(/*object_only=*/true);
    EXPECT_FALSE(p.feed('['));  // objects only
    EXPECT_TRUE(p.feed("{\"a\""));
    EXPECT_FALSE(p.feed(','));  // a colon must follow a key
    EXPECT_TRUE(p.feed(": 12"));
    EXPECT_FALSE(p.finished());
    EXPECT_TRUE(p.feed('}'));
    EXPECT_TRUE(p.finished());
    EXPECT_FALSE(p.feed('x'));
    EXPECT_TRUE(p.feed("  \n"));
}

// Random logits over fragments; every constrained sample must parse as an object.
TEST(JsonConstraint, SampledOutputsAreObjects) {
    auto texts = std::make_shared<std::vector<std::string>>(std::vector<std::string>{
        "",  "{", "}",    "[",    "]",     "\"",  "key", "\":", ":",  ",",   " ",    "1",  "2.5",
        "-", "e", "true", "null", "\"a\"", "{\"", "\"}", "x",   "]}", "\\n", "fals", "e,",
    });
    const int V = int(texts->size());
    Rng logit_rng(5);
    int completed = 0;
    for (uint64_t seed = 1; seed <= 40; ++seed) {
        JsonConstraint c(texts, /*object_only=*/true);
        SamplingParams sp;
        sp.has_seed = true;
        sp.seed = seed;
        Sampler s(sp, V);
        std::string out;
        for (int step = 0; step < 200 && !c.done(); ++step) {
            std::vector<float> logits(static_cast<size_t>(V), 0.0f);
            for (float & l : logits) l = float(logit_rng.uniform() * 4.0 - 2.0);
            logits[2] += 1.5f;  // a closing brace now and then keeps outputs short
            auto r = s.sample(logits, c.filter());
            ASSERT_TRUE(r.ok()) << r.error().message << " after " << out;
            ASSERT_TRUE(c.allows(r->id));
            c.accept(r->id);
            out += (*texts)[size_t(r->id)];
        }
        if (!c.done()) continue;  // ran out of steps inside a long value: fine, no claim
        ++completed;
        auto j = nlohmann::json::parse(out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << out;
        EXPECT_TRUE(j.is_object()) << out;
    }
    EXPECT_GE(completed, 20) << "most runs should close their object within 200 tokens";
}

TEST(PrefixConstraint, ForcesTheStartThenFrees) {
    auto texts = std::make_shared<std::vector<std::string>>(
        std::vector<std::string>{"<|tool_call>", "call", ":", "call:get", "hello", "", "<|"});
    PrefixConstraint c(texts, {0}, "call:");
    EXPECT_TRUE(c.allows(0));
    EXPECT_FALSE(c.allows(6)) << "the control token must not be spelled in pieces";
    EXPECT_FALSE(c.allows(4));
    c.accept(0);
    EXPECT_FALSE(c.allows(0));
    EXPECT_FALSE(c.allows(5));
    EXPECT_TRUE(c.allows(1));
    EXPECT_TRUE(c.allows(3));  // completes the prefix and goes on
    c.accept(3);
    EXPECT_EQ(c.filter(), nullptr);
}
