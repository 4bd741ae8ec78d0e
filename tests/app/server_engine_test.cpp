// The HTTP server on the real engine (EngineChatService over tiny-gemma4-chat, random weights)
// over loopback: stream == non-stream under greedy, 8 concurrent streams == solo, constrained
// calls / JSON validated against their schemas, logprobs, media, cancellation, error statuses.
#include <atomic>
#include <thread>

#include "../runtime/constraint_validator.h"
#include "runtime/engine_chat.h"
#include "server/engine_chat_service.h"
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

const std::string kModel = data_path("tiny-gemma4-chat");

std::unique_ptr<HttpServer> start_server(std::shared_ptr<ChatService> service) {
    ServerConfig config;
    config.port = 0;
    auto created = HttpServer::create(std::move(config), std::move(service));
    if (!created.ok()) throw std::runtime_error(created.error().message);
    auto server = std::move(created.value());
    if (auto st = server->start(); !st.ok()) throw std::runtime_error(st.error().message);
    return server;
}

httplib::Client client_for(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    return c;
}

// /health until it says ok (the model loads in the background); false after `seconds`.
bool wait_ready(int port, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
        auto res = client_for(port).Get("/health");
        if (res && res->status == 200) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

double metric(int port, const std::string & name) {
    auto res = client_for(port).Get("/metrics");
    if (!res) return -1;
    size_t at = res->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(res->body.substr(at + name.size() + 2));
}

struct Streamed {
    std::string content, reasoning, finish;
    json tool_calls = json::array();
    json usage;
};

Streamed merge(const std::string & body) {
    Streamed s;
    for (const json & chunk : sse_data(body)) {
        if (chunk.contains("usage") && !chunk["usage"].is_null()) s.usage = chunk["usage"];
        if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
        const json & c = chunk["choices"][0];
        const json & d = c["delta"];
        if (d.contains("content") && d["content"].is_string())
            s.content += d["content"].get<std::string>();
        if (d.contains("reasoning") && d["reasoning"].is_string())
            s.reasoning += d["reasoning"].get<std::string>();
        for (const json & tc : d.value("tool_calls", json::array())) {
            size_t i = tc["index"];
            while (s.tool_calls.size() <= i)
                s.tool_calls.push_back({{"name", ""}, {"arguments", ""}});
            if (tc["function"].contains("name")) s.tool_calls[i]["name"] = tc["function"]["name"];
            s.tool_calls[i]["arguments"] = s.tool_calls[i]["arguments"].get<std::string>() +
                                           tc["function"].value("arguments", "");
        }
        if (!c["finish_reason"].is_null()) s.finish = c["finish_reason"];
    }
    return s;
}

json chat(const std::string & text, int max_tokens) {
    json body = user_chat(text);
    body["max_tokens"] = max_tokens;
    body["temperature"] = 0;
    return body;
}

class ServerEngine : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        EngineServiceOptions o;
        o.model_dir = kModel;
        o.n_ctx = 1024;
        o.max_seqs = 4;
        auto service = make_engine_chat_service(o);
        ASSERT_TRUE(service.ok()) << service.error().message;
        service_ = new std::shared_ptr<ChatService>(*service);
        server_ = start_server(*service_).release();
        ASSERT_TRUE(wait_ready(server_->port(), 60)) << (*service_)->state_message();
    }
    static void TearDownTestSuite() {
        delete server_;
        delete service_;
    }
    static httplib::Result post(const json & body,
                                const std::string & path = "/v1/chat/completions") {
        return client_for(server_->port()).Post(path.c_str(), body.dump(), "application/json");
    }
    static HttpServer * server_;
    static std::shared_ptr<ChatService> * service_;
};
HttpServer * ServerEngine::server_ = nullptr;
std::shared_ptr<ChatService> * ServerEngine::service_ = nullptr;

}  // namespace

TEST_F(ServerEngine, StreamedDeltasEqualTheWholeAnswerUnderGreedy) {
    for (bool think : {false, true}) {
        json body = chat("Tell me about the sea.", 40);
        body["chat_template_kwargs"] = {{"enable_thinking", think}};
        auto whole = post(body);
        ASSERT_TRUE(whole);
        ASSERT_EQ(whole->status, 200) << whole->body;
        json w = parse(whole->body);
        body["stream"] = true;
        body["stream_options"] = {{"include_usage", true}};
        auto streamed = post(body);
        ASSERT_TRUE(streamed);
        Streamed s = merge(streamed->body);
        const json & msg = w["choices"][0]["message"];
        EXPECT_EQ(s.content, msg["content"].is_null() ? "" : msg["content"].get<std::string>());
        EXPECT_EQ(s.reasoning,
                  msg["reasoning"].is_null() ? "" : msg["reasoning"].get<std::string>());
        EXPECT_EQ(s.finish, w["choices"][0]["finish_reason"]);
        EXPECT_EQ(s.usage, w["usage"]);
        EXPECT_GT(w["usage"]["prompt_tokens"].get<int>(), 5);
        EXPECT_LE(w["usage"]["completion_tokens"].get<int>(), 40);
    }
}

TEST_F(ServerEngine, EightConcurrentStreamsMatchTheirSoloAnswers) {
    std::vector<std::string> solo(8), together(8);
    for (int i = 0; i < 8; ++i) {
        auto r = post(chat(gemma::format("Stream %d: count to %d.", i, i * 3), 24));
        ASSERT_TRUE(r);
        solo[size_t(i)] = parse(r->body)["choices"][0]["message"].dump();
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            json body = chat(gemma::format("Stream %d: count to %d.", i, i * 3), 24);
            body["stream"] = true;
            auto r = post(body);
            if (!r) return;
            together[size_t(i)] = merge(r->body).content;
        });
    for (auto & t : threads) t.join();
    for (int i = 0; i < 8; ++i) {
        json m = parse(solo[size_t(i)]);
        EXPECT_EQ(together[size_t(i)],
                  m["content"].is_null() ? "" : m["content"].get<std::string>())
            << "stream " << i;
    }
}

TEST_F(ServerEngine, RequiredAndNamedToolCallsValidate) {
    const json params = weather_tool()["function"]["parameters"];
    const constraint_test::Json schema = constraint_test::Json::parse(params.dump());
    for (int seed = 1; seed <= 4; ++seed)
        for (bool stream : {false, true}) {
            json body = user_chat("Weather?");
            body["tools"] = json::array({weather_tool(), time_tool()});
            body["tool_choice"] =
                seed % 2 ? json("required")
                         : json({{"type", "function"}, {"function", {{"name", "get_weather"}}}});
            body["seed"] = seed;
            body["max_tokens"] = 80;
            body["stream"] = stream;
            auto r = post(body);
            ASSERT_TRUE(r);
            ASSERT_EQ(r->status, 200) << r->body;
            json calls;
            std::string finish;
            if (stream) {
                Streamed s = merge(r->body);
                calls = s.tool_calls;
                finish = s.finish;
            } else {
                json choice = parse(r->body)["choices"][0];
                finish = choice["finish_reason"];
                for (const json & c : choice["message"]["tool_calls"])
                    calls.push_back({{"name", c["function"]["name"]},
                                     {"arguments", c["function"]["arguments"]}});
            }
            EXPECT_EQ(finish, "tool_calls");
            ASSERT_GE(calls.size(), 1u) << r->body;
            for (const json & c : calls) {
                if (c["name"] != "get_weather") {
                    EXPECT_EQ(seed % 2, 1) << "named choice must call get_weather";
                    continue;
                }
                auto args =
                    constraint_test::Json::parse(c["arguments"].get<std::string>(), nullptr, false);
                ASSERT_FALSE(args.is_discarded()) << c.dump();
                EXPECT_EQ(constraint_test::validate(schema, args), "") << c.dump();
            }
        }
}

TEST_F(ServerEngine, JsonSchemaResponsesValidateAndUnsupportedKeywordsAre422) {
    const json schema =
        json::parse(R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},
        "n":{"type":"integer"},"tags":{"type":"array","items":{"type":"boolean"}}},"required":["name","n"]})");
    for (int seed = 1; seed <= 3; ++seed) {
        json body = user_chat("JSON please");
        body["response_format"] = {{"type", "json_schema"},
                                   {"json_schema", {{"name", "t"}, {"schema", schema}}}};
        body["seed"] = seed;
        body["max_tokens"] = 60;
        auto r = post(body);
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        std::string content = parse(r->body)["choices"][0]["message"]["content"];
        auto j = constraint_test::Json::parse(content, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << content;
        EXPECT_EQ(constraint_test::validate(constraint_test::Json::parse(schema.dump()), j), "")
            << content;
    }
    json bad = user_chat("x");
    bad["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "t"}, {"schema", {{"type", "object"}, {"minProperties", 2}}}}}};
    auto r = post(bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << r->body;
    EXPECT_NE(parse(r->body)["error"]["message"].get<std::string>().find("minProperties"),
              std::string::npos);
    json small = user_chat("x");
    small["tools"] = json::array({weather_tool()});
    small["tool_choice"] = "required";
    small["max_tokens"] = 3;
    auto s = post(small);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, 400) << s->body;
    EXPECT_NE(s->body.find("max_tokens"), std::string::npos);
}

TEST_F(ServerEngine, LogprobsDescribeTheGreedyTokens) {
    json body = chat("Hello", 10);
    body["logprobs"] = true;
    body["top_logprobs"] = 3;
    auto r = post(body);
    ASSERT_TRUE(r);
    json choice = parse(r->body)["choices"][0];
    const json & lp = choice["logprobs"]["content"];
    ASSERT_FALSE(lp.empty()) << r->body;
    std::string joined;
    for (const json & t : lp) {
        joined += t["token"].get<std::string>();
        ASSERT_EQ(t["top_logprobs"].size(), 3u);
        // Greedy: the chosen token is the most likely one.
        EXPECT_EQ(t["top_logprobs"][0]["token"], t["token"]);
        EXPECT_DOUBLE_EQ(t["top_logprobs"][0]["logprob"].get<double>(), t["logprob"].get<double>());
        EXPECT_LE(t["logprob"].get<double>(), 0.0);
    }
    std::string content = choice["message"]["content"].is_null()
                              ? ""
                              : choice["message"]["content"].get<std::string>();
    EXPECT_NE(joined.find(content), std::string::npos) << joined << " vs " << content;
}

TEST_F(ServerEngine, CompletionsRouteGeneratesFromTheRawPrompt) {
    json body = {{"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0}};
    auto r = post(body, "/v1/completions");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    json j = parse(r->body);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(j["usage"]["completion_tokens"], 6);
    auto again = post(body, "/v1/completions");
    EXPECT_EQ(parse(again->body)["choices"][0]["text"], j["choices"][0]["text"]);
}

// A client that leaves mid-stream: its generation is cancelled (counted in /metrics), the slot
// and the sequence are freed, and the server keeps answering.
TEST_F(ServerEngine, DisconnectCancelsTheGeneration) {
    const int port = server_->port();
    const double before = metric(port, "gemdesk_cancelled_requests_total");
    json body = user_chat("Go on forever.");
    body["stream"] = true;
    body["max_tokens"] = 900;
    body["temperature"] = 1.0;
    body["seed"] = 11;  // deterministic: this seed's reply does not stop on its own early
    std::atomic<bool> saw_running{false};
    int chunks = 0;
    auto c = client_for(port);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char *, size_t, uint64_t, uint64_t) {
        if (++chunks == 3) saw_running = metric(port, "gemdesk_running_jobs") >= 1;
        return chunks < 5;  // then hang up
    };
    c.send(req);
    EXPECT_EQ(chunks, 5);
    EXPECT_TRUE(saw_running) << "/metrics shows the running job";
    double after = before;
    for (int i = 0; i < 100 && after == before; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        after = metric(port, "gemdesk_cancelled_requests_total");
    }
    EXPECT_EQ(after, before + 1);
    double running = 1;
    for (int i = 0; i < 100 && running != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        running = metric(port, "gemdesk_running_jobs");
    }
    EXPECT_EQ(running, 0) << "the scheduler dropped the sequence";
    EXPECT_EQ(metric(port, "gemdesk_requests_in_flight"), 0);
    auto ok = post(chat("Still there?", 4));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerEngine, ErrorsMapToStatuses) {
    std::string words;
    for (int i = 0; i < 1200; ++i) words += "word ";
    auto r = post(chat(words, 4));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_EQ(parse(r->body)["error"]["code"], "context_length_exceeded");
    auto unknown = post(json{{"model", "gpt-4"},
                             {"messages", json::array({{{"role", "user"}, {"content", "x"}}})}});
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404);
}

// Media parts reach the encoders: the image's soft tokens show in usage, the audio clip gets a
// transcription (gibberish from random weights) with the clip's duration, and a corrupt image is
// a 400 naming the problem, never a 500.
TEST_F(ServerEngine, ImagesAndAudioGoThroughTheEncoders) {
    const std::string png = read_file(data_path("tiny-gemma4/image.png"));
    ASSERT_FALSE(png.empty());
    auto with_image = [&](const std::string & bytes) {
        json body = chat("Describe", 4);
        json parts = json::array();
        parts.push_back({{"type", "text"}, {"text", "Describe"}});
        parts.push_back(
            {{"type", "image_url"},
             {"image_url", {{"url", "data:image/png;base64," + base64_encode(bytes)}}}});
        body["messages"][0]["content"] = parts;
        return post(body);
    };
    auto text_only = post(chat("Describe", 4));
    auto image = with_image(png);
    ASSERT_TRUE(text_only && image);
    ASSERT_EQ(image->status, 200) << image->body;
    const int n_text = parse(text_only->body)["usage"]["prompt_tokens"];
    const int n_image = parse(image->body)["usage"]["prompt_tokens"];
    // processor_config.json: 280 soft tokens per image by default, plus the begin/end markers.
    EXPECT_GT(n_image, n_text + 200) << n_text << " vs " << n_image;
    std::string corrupt = png.substr(0, 64) + std::string(512, '\x5a');
    auto bad = with_image(corrupt);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << bad->body;
    httplib::MultipartFormDataItems form = {
        {"file", read_file(data_path("tiny-gemma4/audio.wav")), "audio.wav", "audio/wav"},
        {"model", "tiny-gemma4-chat", "", ""},
        {"response_format", "verbose_json", "", ""}};
    auto tr = client_for(server_->port()).Post("/v1/audio/transcriptions", form);
    ASSERT_TRUE(tr);
    ASSERT_EQ(tr->status, 200) << tr->body;
    json t = parse(tr->body);
    EXPECT_TRUE(t["text"].is_string());
    EXPECT_NEAR(t["duration"].get<double>(), 2.3, 0.01);  // tests/data/README.md: a 2.3 s clip
}

// The desktop app's case: a service over an engine it already loaded is ready at once, and the
// server and the app's own requests share that engine (same greedy answer either way).
TEST(ServerEngineLoad, ServesAnEngineTheCallerLoaded) {
    gemma::runtime::EngineOptions eo;
    eo.backend = "cpu";
    eo.n_ctx = 512;
    auto loaded = gemma::runtime::ChatEngine::load(kModel, eo);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    std::shared_ptr<gemma::runtime::ChatEngine> engine(std::move(*loaded));
    auto service = make_engine_chat_service(engine);
    ASSERT_TRUE(service.ok());
    EXPECT_EQ((*service)->state(), ServiceState::ready);
    EXPECT_EQ((*service)->model().id, "tiny-gemma4-chat");
    EXPECT_EQ((*service)->model().context_length, 512);
    auto server = start_server(*service);
    auto r = client_for(server->port())
                 .Post("/v1/chat/completions", chat("Hi there", 6).dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    gemma::runtime::ChatGenerateRequest direct;
    gemma::chat::ChatMessage m;
    m.role = "user";
    m.content.kind = gemma::chat::MessageContent::Kind::text;
    m.content.text = "Hi there";
    direct.chat.messages.push_back(m);
    direct.max_tokens = 6;
    direct.sampling.temperature = 0;
    auto s = engine->generate(direct);
    ASSERT_TRUE(s.ok());
    std::string content;
    gemma::runtime::stream_drain(**s, [&](const gemma::runtime::StreamEvent & ev) {
        if (ev.kind == gemma::runtime::StreamEvent::Kind::content) content += ev.text;
    });
    json msg = parse(r->body)["choices"][0]["message"];
    EXPECT_EQ(msg["content"].is_null() ? "" : msg["content"].get<std::string>(), content);
    EXPECT_FALSE(make_engine_chat_service(std::shared_ptr<gemma::runtime::ChatEngine>()).ok());
}

TEST(ServerEngineLoad, UnknownBackendMakesTheServiceUnavailableWithTheReason) {
    EngineServiceOptions o;
    o.model_dir = kModel;
    o.backend = "no-such-backend";
    auto service = make_engine_chat_service(o);
    ASSERT_TRUE(service.ok());
    auto server = start_server(*service);
    for (int i = 0; i < 200 && (*service)->state() == ServiceState::loading; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ((*service)->state(), ServiceState::unavailable);
    auto health = client_for(server->port()).Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 503);
    auto r = client_for(server->port())
                 .Post("/v1/chat/completions", user_chat("x").dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_NE(r->body.find("no-such-backend"), std::string::npos) << r->body;
    o.model_dir = data_path("nope");
    EXPECT_EQ(make_engine_chat_service(o).error().code, gemma::ErrorCode::invalid_argument);
}

}  // namespace gemdesk::server::testing
