// Test helpers for the HTTP server: a real HttpServer on an ephemeral loopback port backed by the
// deterministic FakeChatService, a client, and an SSE body splitter.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/fake_chat_service.h"
#include "server/http_server.h"

namespace gemdesk::server::testing {

using nlohmann::json;

inline std::string read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string data_path(const std::string & rel) {
    return std::string(GEMMA_TEST_DATA_DIR) + "/" + rel;
}

struct TestServer {
    std::shared_ptr<FakeChatService> fake;
    std::unique_ptr<HttpServer> server;

    explicit TestServer(ServerConfig config = {}, FakeOptions options = {}) {
        config.port = 0;
        fake = std::make_shared<FakeChatService>(options);
        auto created = HttpServer::create(std::move(config), fake);
        if (!created.ok()) throw std::runtime_error(created.error().message);
        server = std::move(created.value());
        auto started = server->start();
        if (!started.ok()) throw std::runtime_error(started.error().message);
    }
    int port() const { return server->port(); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port());
        c.set_read_timeout(20);
        return c;
    }
    httplib::Result post(const std::string & path, const json & body,
                         const httplib::Headers & headers = {}) const {
        return client().Post(path.c_str(), headers, body.dump(), "application/json");
    }
};

inline json parse(const std::string & body) { return json::parse(body, nullptr, false); }

// The JSON payloads of every "data:" line, in order; done is set when "data: [DONE]" was seen.
inline std::vector<json> sse_data(const std::string & body, bool * done = nullptr) {
    std::vector<json> out;
    size_t at = 0;
    while (at < body.size()) {
        size_t end = body.find('\n', at);
        if (end == std::string::npos) end = body.size();
        std::string line = body.substr(at, end - at);
        at = end + 1;
        if (line.rfind("data: ", 0) != 0) continue;
        std::string payload = line.substr(6);
        if (payload == "[DONE]") {
            if (done) *done = true;
            continue;
        }
        out.push_back(json::parse(payload, nullptr, false));
    }
    return out;
}

// The "event:" names of an Anthropic stream, in order.
inline std::vector<std::string> sse_event_names(const std::string & body) {
    std::vector<std::string> out;
    size_t at = 0;
    while ((at = body.find("event: ", at)) != std::string::npos) {
        size_t end = body.find('\n', at);
        out.push_back(body.substr(at + 7, end - at - 7));
        at = end;
    }
    return out;
}

inline json user_chat(const std::string & text) {
    return {{"model", "tiny-gemma4-chat"},
            {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
}

inline json weather_tool() {
    return {{"type", "function"},
            {"function",
             {{"name", "get_weather"},
              {"description", "Get weather"},
              {"parameters",
               {{"type", "object"},
                {"properties",
                 {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}, {"minimum", 1}}}}},
                {"required", json::array({"city"})}}}}}};
}

inline json time_tool() {
    return {{"type", "function"},
            {"function",
             {{"name", "get_time"},
              {"parameters",
               {{"type", "object"},
                {"properties", {{"zone", {{"type", "string"}, {"enum", {"UTC", "CET"}}}}}}}}}}};
}

}  // namespace gemdesk::server::testing
