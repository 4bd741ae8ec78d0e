// The Python semantics the template relies on, against CPython's own outputs (expected values are
// what python3 prints for repr()/str()/strip()/upper()/lower()/sorted(key=str.lower)).
#include "runtime/chat_value_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gemma::chat {
namespace {

TEST(ChatValueFormat, FloatReprMatchesPython) {
    const std::pair<double, const char *> cases[] = {
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {-0.0, "-0.0"},
        {1.5e300, "1.5e+300"},
        {123456.789, "123456.789"},
        {0.1 + 0.2, "0.30000000000000004"},
        {5e-324, "5e-324"},
        {9223372036854775808.0, "9.223372036854776e+18"},
        {1e22, "1e+22"},
        {100.0, "100.0"},
        {1e20, "1e+20"},
        {1e-7, "1e-07"},
        {2.5, "2.5"},
        {1.0, "1.0"},
        {0.1, "0.1"},
    };
    for (const auto & [v, expected] : cases) EXPECT_EQ(py_float_repr(v), expected);
}

TEST(ChatValueFormat, StrOfValues) {
    Json v = Json::parse(R"([1, "a", null, true, {"k": "it's"}])");
    EXPECT_EQ(py_str(v), R"([1, 'a', None, True, {'k': "it's"}])");
    EXPECT_EQ(py_str(Json("raw 'x'")), "raw 'x'");
    EXPECT_EQ(py_str(Json(nullptr)), "None");
}

TEST(ChatValueFormat, StripUpperLower) {
    EXPECT_EQ(py_trim("\xC2\xA0 x \xE3\x80\x80\xE2\x80\xA8"), "x");  // U+00A0 ... U+3000 U+2028
    EXPECT_EQ(py_trim(" \t\n"), "");
    EXPECT_EQ(py_trim("a \xE2\x9C\x93"), "a \xE2\x9C\x93");  // U+2713 is not whitespace
    EXPECT_EQ(py_upper("\xC3\x9F"), "SS");                   // 'ß'.upper()
    EXPECT_EQ(py_upper("string"), "STRING");
    EXPECT_EQ(py_lower("\xC4\xB0"), "i\xCC\x87");  // 'İ'.lower()
}

TEST(ChatValueFormat, DictsortIsCaseInsensitiveAndStable) {
    Json obj = Json::parse(R"({"b":0,"A":0,"a":0,"_z":0,"\u00c9":0,"\u00e9":0,"Z":0})");
    std::vector<std::string> keys;
    for (const auto & [k, v] : py_dictsort(obj)) keys.push_back(*k);
    EXPECT_EQ(keys, (std::vector<std::string>{"_z", "A", "a", "b", "Z", "\xC3\x89", "\xC3\xA9"}));
}

TEST(ChatValueFormat, Truthiness) {
    for (const char * f : {"null", "false", "0", "0.0", "\"\"", "[]", "{}"})
        EXPECT_FALSE(py_truthy(Json::parse(f))) << f;
    for (const char * t : {"true", "1", "-0.5", "\" \"", "[0]", "{\"a\":null}"})
        EXPECT_TRUE(py_truthy(Json::parse(t))) << t;
}

}  // namespace
}  // namespace gemma::chat
