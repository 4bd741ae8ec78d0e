// Error statuses and bodies (400/401/404/413/422/429/503), CORS, limits and cancellation when a
// client disconnects, against the real HTTP server on the fake engine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

void expect_openai_error(const httplib::Result & res, int status, const std::string & param = "") {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    json body = parse(res->body);
    ASSERT_TRUE(body.contains("error")) << res->body;
    EXPECT_TRUE(body["error"]["message"].is_string());
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(body["error"]["type"].is_string());
    if (!param.empty()) {
        EXPECT_EQ(body["error"]["param"], param);
    }
}

// Waits up to 3 s for a condition that another thread makes true.
template <class F>
bool eventually(F f) {
    for (int i = 0; i < 300; ++i) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return f();
}

int connect_loopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string http_post(const std::string & path, const std::string & body) {
    return "POST " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(ServerErrors, MalformedRequestsGet400NamingTheField) {
    TestServer s;
    auto c = s.client();
    expect_openai_error(c.Post("/v1/chat/completions", "{not json", "application/json"), 400);
    expect_openai_error(c.Post("/v1/chat/completions", "[1,2]", "application/json"), 400);
    expect_openai_error(c.Post("/v1/chat/completions", "", "application/json"), 400);
    expect_openai_error(s.post("/v1/chat/completions", {{"model", "tiny-gemma4-chat"}}), 400,
                        "messages");
    json req = user_chat("hi");
    req["temperature"] = "hot";
    expect_openai_error(s.post("/v1/chat/completions", req), 400, "temperature");
    req["temperature"] = 7;
    expect_openai_error(s.post("/v1/chat/completions", req), 400, "temperature");
    req = user_chat("hi");
    req["messages"][0]["role"] = "wizard";
    expect_openai_error(s.post("/v1/chat/completions", req), 400, "messages[0].role");
    req = user_chat("hi");
    req["tools"] = json::array({{{"type", "function"}, {"function", {{"name", "bad name!"}}}}});
    expect_openai_error(s.post("/v1/chat/completions", req), 400, "tools[0].function.name");
    std::string deep(200, '[');
    expect_openai_error(c.Post("/v1/chat/completions", "{\"messages\":" + deep, "application/json"),
                        400);
}

TEST(ServerErrors, UnprocessableRequestsGet422) {
    TestServer s;
    json req = user_chat("hi");
    req["n"] = 3;
    expect_openai_error(s.post("/v1/chat/completions", req), 422, "n");
    req = user_chat("hi");
    req["tool_choice"] = "required";  // no tools declared
    expect_openai_error(s.post("/v1/chat/completions", req), 422, "tool_choice");
}

TEST(ServerErrors, UnknownRouteAndModelGet404) {
    TestServer s;
    expect_openai_error(s.client().Get("/v2/everything"), 404);
    expect_openai_error(s.post("/v1/chat/completions/extra", user_chat("hi")), 404);
    json req = user_chat("hi");
    req["model"] = "gpt-5";
    expect_openai_error(s.post("/v1/chat/completions", req), 404, "model");
}

TEST(ServerErrors, ApiKeyIsRequiredWhenConfigured) {
    ServerConfig config;
    config.api_key = "s3cret-key-123";
    TestServer s(config);
    auto none = s.post("/v1/chat/completions", user_chat("hi"));
    expect_openai_error(none, 401);
    EXPECT_EQ(parse(none->body)["error"]["type"], "authentication_error");
    expect_openai_error(s.post("/v1/chat/completions", user_chat("hi"),
                               {{"Authorization", "Bearer s3cret-key-124"}}),
                        401);
    expect_openai_error(s.client().Get("/v1/models"), 401);
    EXPECT_EQ(s.post("/v1/chat/completions", user_chat("hi"),
                     {{"Authorization", "Bearer s3cret-key-123"}})
                  ->status,
              200);
    EXPECT_EQ(
        s.post("/v1/chat/completions", user_chat("hi"), {{"x-api-key", "s3cret-key-123"}})->status,
        200);
    EXPECT_EQ(s.client().Get("/health")->status, 200);  // health stays open for probes
}

TEST(ServerErrors, NonLoopbackBindWithoutKeyIsRefused) {
    ServerConfig config;
    config.host = "0.0.0.0";
    auto created = HttpServer::create(config, std::make_shared<FakeChatService>());
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.error().message.find("API key"), std::string::npos);
    config.api_key = "long-enough-key";
    config.port = 0;
    EXPECT_TRUE(validate_config(config).ok());
}

TEST(ServerErrors, OversizedBodyGets413) {
    ServerConfig config;
    config.max_body_bytes = 4096;
    TestServer s(config);
    json req = user_chat(std::string(8000, 'a'));
    expect_openai_error(s.post("/v1/chat/completions", req), 413);
    EXPECT_EQ(s.post("/v1/chat/completions", user_chat("small"))->status, 200);
}

TEST(ServerErrors, ConcurrencyCapAnswers429WithRetryAfter) {
    ServerConfig config;
    config.max_concurrent = 1;
    TestServer s(config);
    std::thread slow([&] {
        json req = user_chat("[long]");
        req["max_tokens"] = 150;  // ~300 ms at 2 ms per token
        s.post("/v1/chat/completions", req);
    });
    ASSERT_TRUE(eventually([&] { return s.fake->counters().active.load() == 1; }));
    auto res = s.post("/v1/chat/completions", user_chat("hi"));
    expect_openai_error(res, 429);
    EXPECT_EQ(res->get_header_value("Retry-After"), "1");
    slow.join();
    EXPECT_EQ(s.post("/v1/chat/completions", user_chat("hi"))->status, 200);
    EXPECT_NE(s.client().Get("/metrics")->body.find("gemdesk_rejected_requests_total 1"),
              std::string::npos);
}

TEST(ServerErrors, LoadingModelAnswers503UntilReady) {
    TestServer s;
    s.fake->set_state(ServiceState::loading, "loading weights");
    auto res = s.post("/v1/chat/completions", user_chat("hi"));
    expect_openai_error(res, 503);
    EXPECT_FALSE(res->get_header_value("Retry-After").empty());
    EXPECT_EQ(s.client().Get("/health")->status, 503);
    EXPECT_EQ(parse(s.client().Get("/health")->body)["status"], "loading");
    s.fake->set_state(ServiceState::ready);
    EXPECT_EQ(s.post("/v1/chat/completions", user_chat("hi"))->status, 200);
    EXPECT_EQ(s.client().Get("/health")->status, 200);
}

TEST(ServerErrors, PromptLongerThanContextIs400ContextLengthExceeded) {
    FakeOptions options;
    options.context_length = 10;
    TestServer s({}, options);
    auto res = s.post("/v1/chat/completions", user_chat("a b c d e f g h i j k l m n o p"));
    expect_openai_error(res, 400);
    EXPECT_EQ(parse(res->body)["error"]["code"], "context_length_exceeded");
}

TEST(ServerErrors, CorsAllowlistIsEmptyByDefault) {
    TestServer closed;
    auto res =
        closed.post("/v1/chat/completions", user_chat("hi"), {{"Origin", "https://evil.example"}});
    EXPECT_EQ(res->status, 403);
    EXPECT_FALSE(res->has_header("Access-Control-Allow-Origin"));

    ServerConfig config;
    config.cors_origins = {"https://app.example"};
    TestServer open(config);
    auto ok =
        open.post("/v1/chat/completions", user_chat("hi"), {{"Origin", "https://app.example"}});
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
    auto preflight = open.client().Options(
        "/v1/chat/completions",
        {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(preflight->status, 204);
    EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
              std::string::npos);
    EXPECT_EQ(
        open.post("/v1/chat/completions", user_chat("hi"), {{"Origin", "https://other.example"}})
            ->status,
        403);
}

TEST(ServerErrors, GarbageNeverGets5xx) {
    TestServer s;
    const char * bodies[] = {
        "null",
        "{}",
        "{\"messages\":null}",
        "{\"messages\":[null]}",
        "{\"messages\":[{}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{"
        "\"data\":\"!!\",\"format\":\"wav\"}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-5}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1e400}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1,2]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800\"}]}",
        "\xff\xfe{"};
    for (const char * path : {"/v1/chat/completions", "/v1/completions", "/v1/messages"}) {
        for (const char * body : bodies) {
            auto res = s.client().Post(path, body, "application/json");
            ASSERT_TRUE(res) << path << " " << body;
            EXPECT_GE(res->status, 400) << path << " " << body;
            EXPECT_LT(res->status, 500) << path << " " << body << " -> " << res->body;
        }
    }
}

TEST(ServerErrors, ClientDisconnectMidStreamCancelsGeneration) {
    TestServer s;
    int fd = connect_loopback(s.port());
    ASSERT_GE(fd, 0);
    std::string req =
        http_post("/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"[long]"}],"stream":true})");
    ASSERT_EQ(send(fd, req.data(), req.size(), 0), ssize_t(req.size()));
    char buf[512];
    ASSERT_GT(recv(fd, buf, sizeof buf, 0), 0);  // headers and the first chunks arrive
    close(fd);
    EXPECT_TRUE(eventually([&] { return s.fake->counters().cancelled.load() == 1; }));
    EXPECT_EQ(s.fake->counters().active.load(), 0);
}

TEST(ServerErrors, ClientDisconnectDuringNonStreamCancelsGeneration) {
    TestServer s;
    int fd = connect_loopback(s.port());
    ASSERT_GE(fd, 0);
    std::string req =
        http_post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"[long]"}]})");
    ASSERT_EQ(send(fd, req.data(), req.size(), 0), ssize_t(req.size()));
    ASSERT_TRUE(eventually([&] { return s.fake->counters().active.load() == 1; }));
    close(fd);  // nothing was written yet: only the hang-up check can notice
    EXPECT_TRUE(eventually([&] { return s.fake->counters().cancelled.load() == 1; }));
}

TEST(ServerErrors, MetricsExposeRequestsTokensAndHistograms) {
    TestServer s;
    ASSERT_EQ(s.post("/v1/chat/completions", user_chat("count me"))->status, 200);
    ASSERT_EQ(s.client().Get("/nowhere")->status, 404);
    // Requests are counted once their response is written, so the count may trail the reply.
    std::string text;
    EXPECT_TRUE(eventually([&] {
        text = s.client().Get("/metrics")->body;
        return text.find("route=\"other\",status=\"404\"") != std::string::npos;
    }));
    EXPECT_NE(text.find("gemdesk_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("gemdesk_requests_total{route=\"other\",status=\"404\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("gemdesk_completion_tokens_total 3"), std::string::npos);
    EXPECT_NE(text.find("gemdesk_time_to_first_token_seconds_count 1"), std::string::npos);
    EXPECT_NE(text.find("gemdesk_request_duration_seconds_bucket{le=\"+Inf\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("gemdesk_queue_depth 0"), std::string::npos);
    EXPECT_NE(text.find("gemdesk_kv_cache_usage_ratio"), std::string::npos);
}

}  // namespace
}  // namespace gemdesk::server::testing
