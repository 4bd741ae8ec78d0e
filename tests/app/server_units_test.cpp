// Unit tests of the server's pure pieces: stop-string matching across chunks, constant-time key
// comparison, Authorization parsing, loopback detection, upstream URL parsing, fake schema values.
#include "server/output_filter.h"
#include "server/security.h"
#include "server/upstream_proxy.h"
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

std::string run_stop(const std::vector<std::string> & stops,
                     const std::vector<std::string> & chunks, bool & hit) {
    StopMatcher m(stops);
    std::string out;
    hit = false;
    for (const auto & c : chunks) {
        bool stopped = false;
        out += m.feed(c, stopped);
        if (stopped) {
            hit = true;
            return out;
        }
    }
    return out + m.flush();
}

TEST(ServerUnits, StopMatcherHoldsBackPartialMatches) {
    bool hit = false;
    StopMatcher m({"</end>"});
    bool stopped = false;
    EXPECT_EQ(m.feed("text </e", stopped), "text ");  // "</e" may become "</end>"
    EXPECT_FALSE(stopped);
    EXPECT_EQ(m.feed("nd> more", stopped), "");
    EXPECT_TRUE(stopped);
    EXPECT_EQ(m.matched(), "</end>");
    EXPECT_EQ(run_stop({"</end>"}, {"a </e", "xtra"}, hit), "a </extra");  // diverged: released
    EXPECT_FALSE(hit);
    EXPECT_EQ(run_stop({"xyz", "b"}, {"aaab", "xyz"}, hit), "aaa");  // earliest match wins
    EXPECT_TRUE(hit);
    EXPECT_EQ(run_stop({}, {"plain", " text"}, hit), "plain text");
    EXPECT_EQ(run_stop({"END"}, {"tail E"}, hit), "tail E");  // flushed at the end
}

TEST(ServerUnits, OutputFilterDecidesFinishReason) {
    Event call;
    call.kind = Event::Kind::tool_call;
    call.tool_call = {"id1", "f", "{}"};
    std::vector<Event> out;
    OutputFilter none({{}, /*drop_tool_calls=*/true, false});
    none.feed(call, out);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(none.finish_reason(FinishReason::tool_calls),
              FinishReason::stop);  // never tool_calls without calls
    OutputFilter single({{}, false, /*single_tool_call=*/true});
    single.feed(call, out);
    single.feed(call, out);
    EXPECT_EQ(out.size(), 1u);
    EXPECT_EQ(single.finish_reason(FinishReason::stop), FinishReason::tool_calls);
}

TEST(ServerUnits, SecurityHelpers) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_FALSE(constant_time_equal("", "a"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_EQ(api_key_from_headers("Bearer k1", "k2"), "k1");
    EXPECT_EQ(api_key_from_headers("bearer k1", ""), "k1");
    EXPECT_EQ(api_key_from_headers("Basic xyz", "k2"), "k2");
    EXPECT_TRUE(is_loopback_host("127.0.0.1"));
    EXPECT_TRUE(is_loopback_host("127.8.9.10"));
    EXPECT_TRUE(is_loopback_host("::1"));
    EXPECT_TRUE(is_loopback_host("localhost"));
    EXPECT_FALSE(is_loopback_host("0.0.0.0"));
    EXPECT_FALSE(is_loopback_host("192.168.1.2"));
    ConcurrencyGate gate(2);
    EXPECT_TRUE(gate.try_acquire());
    EXPECT_TRUE(gate.try_acquire());
    EXPECT_FALSE(gate.try_acquire());
    gate.release();
    EXPECT_TRUE(gate.try_acquire());
}

TEST(ServerUnits, UpstreamUrls) {
    auto a = parse_upstream_url("http://10.0.0.2:8000/v1");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a.value().host, "10.0.0.2");
    EXPECT_EQ(a.value().port, 8000);
    EXPECT_EQ(a.value().base_path, "");
    auto b = parse_upstream_url("http://gpu-box/proxy/");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value().port, 80);
    EXPECT_EQ(b.value().base_path, "/proxy");
    EXPECT_FALSE(parse_upstream_url("ftp://x").ok());
    EXPECT_FALSE(parse_upstream_url("http://host:99999").ok());
    EXPECT_FALSE(parse_upstream_url("http://:80").ok());
}

TEST(ServerUnits, FakeSchemaValuesSatisfyTheSchema) {
    json schema = {
        {"type", "object"},
        {"properties",
         {{"n", {{"type", "integer"}, {"minimum", 5}}},
          {"tags", {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 2}}},
          {"mode", {{"enum", {"fast", "slow"}}}},
          {"opt", {{"type", {"null", "boolean"}}}}}}};
    json v = fake_value_for_schema(schema);
    EXPECT_GE(v["n"].get<int>(), 5);
    EXPECT_EQ(v["tags"].size(), 2u);
    EXPECT_EQ(v["mode"], "fast");
    EXPECT_TRUE(v["opt"].is_boolean());
}

}  // namespace
}  // namespace gemdesk::server::testing
