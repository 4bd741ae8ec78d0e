// --upstream: a gemdesk server forwarding to a second one (the fake engine) streams and returns
// the same answers, keeps its own API key check, and reports an unreachable upstream as 502.
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

std::unique_ptr<HttpServer> make_proxy(int upstream_port, const std::string & api_key = "") {
    ServerConfig config;
    config.port = 0;
    config.api_key = api_key;
    config.upstream_url = "http://127.0.0.1:" + std::to_string(upstream_port) + "/v1";
    auto created = HttpServer::create(config, nullptr);
    if (!created.ok()) throw std::runtime_error(created.error().message);
    auto server = std::move(created.value());
    if (!server->start().ok()) throw std::runtime_error("proxy did not start");
    return server;
}

TEST(ServerUpstream, ForwardsChatModelsStreamsAndTranscriptions) {
    TestServer engine;
    auto proxy = make_proxy(engine.port());
    httplib::Client c("127.0.0.1", proxy->port());
    c.set_read_timeout(20);
    auto models = c.Get("/v1/models");
    ASSERT_EQ(models->status, 200);
    EXPECT_EQ(parse(models->body)["data"][0]["id"], "tiny-gemma4-chat");

    json req = user_chat("via the proxy");
    auto direct = engine.post("/v1/chat/completions", req);
    auto forwarded = c.Post("/v1/chat/completions", req.dump(), "application/json");
    ASSERT_EQ(forwarded->status, 200) << forwarded->body;
    EXPECT_EQ(parse(forwarded->body)["choices"][0]["message"],
              parse(direct->body)["choices"][0]["message"]);

    req["stream"] = true;
    auto streamed = c.Post("/v1/chat/completions", req.dump(), "application/json");
    bool done = false;
    std::string content;
    for (const auto & chunk : sse_data(streamed->body, &done))
        if (chunk["choices"][0]["delta"].contains("content"))
            content += chunk["choices"][0]["delta"]["content"].get<std::string>();
    EXPECT_TRUE(done);
    EXPECT_EQ(content, "Echo: via the proxy");

    httplib::MultipartFormDataItems items = {
        {"file", read_file(data_path("tiny-gemma4/audio.wav")), "a.wav", "audio/wav"},
        {"response_format", "text", "", ""}};
    auto transcript = c.Post("/v1/audio/transcriptions", items);
    EXPECT_EQ(transcript->status, 200);
    EXPECT_EQ(transcript->body, "Transcript of a 2.30 second clip.\n");

    auto bad = c.Post("/v1/chat/completions", "{oops", "application/json");
    EXPECT_EQ(bad->status, 400);  // the upstream's own error comes back unchanged
}

TEST(ServerUpstream, LocalKeyIsCheckedAndDeadUpstreamIs502) {
    TestServer engine;
    auto proxy = make_proxy(engine.port(), "proxy-key-123");
    httplib::Client c("127.0.0.1", proxy->port());
    EXPECT_EQ(c.Post("/v1/chat/completions", user_chat("x").dump(), "application/json")->status,
              401);
    httplib::Headers key = {{"Authorization", "Bearer proxy-key-123"}};
    EXPECT_EQ(
        c.Post("/v1/chat/completions", key, user_chat("x").dump(), "application/json")->status,
        200);
    int dead_port = engine.port();
    engine.server->stop();
    auto dead = c.Post("/v1/chat/completions", key, user_chat("x").dump(), "application/json");
    ASSERT_TRUE(dead);
    EXPECT_EQ(dead->status, 502);
    EXPECT_NE(
        parse(dead->body)["error"]["message"].get<std::string>().find(std::to_string(dead_port)),
        std::string::npos);
}

}  // namespace
}  // namespace gemdesk::server::testing
