// Media inputs: base64 (RFC 4648 vectors), format sniffing on the fixture files, data: URLs,
// local files limited to allowed folders, remote URLs refused, input_audio and transcriptions.
#include <filesystem>

#include "server/media.h"
#include "server_fixture.h"

namespace gemdesk::server::testing {
namespace {

TEST(Media, Base64MatchesRfc4648Vectors) {
    const std::pair<const char *, const char *> vectors[] = {{"", ""},
                                                             {"f", "Zg=="},
                                                             {"fo", "Zm8="},
                                                             {"foo", "Zm9v"},
                                                             {"foob", "Zm9vYg=="},
                                                             {"fooba", "Zm9vYmE="},
                                                             {"foobar", "Zm9vYmFy"}};
    for (const auto & [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded.has_value());
        EXPECT_EQ(*decoded, plain);
    }
    EXPECT_FALSE(base64_decode("Zm9v!").has_value());
    EXPECT_FALSE(base64_decode("Z").has_value());
}

TEST(Media, SniffsTheFixtureFiles) {
    EXPECT_EQ(sniff_mime(read_file(data_path("tiny-gemma4/image.png"))), "image/png");
    EXPECT_EQ(sniff_mime(read_file(data_path("tiny-gemma4/audio.wav"))), "audio/wav");
    EXPECT_EQ(sniff_mime("hello"), "");
}

TEST(Media, ImageUrlsDataLocalAndRemote) {
    std::string png = read_file(data_path("tiny-gemma4/image.png"));
    MediaPolicy none;
    auto data = load_image_url("data:image/png;base64," + base64_encode(png), none, "p");
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data.value().bytes, png);
    EXPECT_FALSE(load_image_url("https://example.com/cat.png", none, "p").ok());
    EXPECT_FALSE(
        load_image_url(data_path("tiny-gemma4/image.png"), none, "p").ok());  // no allowed folders
    MediaPolicy allowed;
    allowed.allowed_dirs = {data_path("tiny-gemma4")};
    EXPECT_TRUE(load_image_url("file://" + data_path("tiny-gemma4/image.png"), allowed, "p").ok());
    // A path that climbs out of the allowed folder is refused even though the file exists.
    EXPECT_FALSE(
        load_image_url(data_path("tiny-gemma4/../tiny-gemma4-chat/config.json"), allowed, "p")
            .ok());
    // Not an image.
    EXPECT_FALSE(load_image_url("file://" + data_path("tiny-gemma4/audio.wav"), allowed, "p").ok());
}

TEST(Media, ChatAcceptsImageAndAudioParts) {
    TestServer s;
    std::string png = base64_encode(read_file(data_path("tiny-gemma4/image.png")));
    std::string wav = base64_encode(read_file(data_path("tiny-gemma4/audio.wav")));
    json req = user_chat("x");
    req["messages"][0]["content"] = json::array(
        {{{"type", "text"}, {"text", "describe"}},
         {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + png}}}},
         {{"type", "input_audio"}, {"input_audio", {{"data", wav}, {"format", "wav"}}}}});
    auto res = s.post("/v1/chat/completions", req);
    ASSERT_EQ(res->status, 200) << res->body;
    req["messages"][0]["content"][2]["input_audio"]["format"] = "mp3";
    EXPECT_EQ(s.post("/v1/chat/completions", req)->status, 400);
    req["messages"][0]["content"][1]["image_url"]["url"] = "http://example.com/x.png";
    auto remote = s.post("/v1/chat/completions", req);
    EXPECT_EQ(remote->status, 400);
    EXPECT_NE(parse(remote->body)["error"]["message"].get<std::string>().find("remote"),
              std::string::npos);
}

httplib::Result transcribe(const TestServer & s, const std::string & bytes,
                           const std::string & format) {
    httplib::MultipartFormDataItems items = {{"file", bytes, "audio.wav", "audio/wav"},
                                             {"model", "tiny-gemma4-chat", "", ""},
                                             {"response_format", format, "", ""}};
    return s.client().Post("/v1/audio/transcriptions", items);
}

TEST(Media, TranscriptionFormats) {
    TestServer s;
    std::string wav = read_file(data_path("tiny-gemma4/audio.wav"));
    // The fixture README: audio.wav is a 2.3 s, 16 kHz mono clip.
    auto json_res = transcribe(s, wav, "json");
    ASSERT_EQ(json_res->status, 200) << json_res->body;
    EXPECT_EQ(parse(json_res->body)["text"], "Transcript of a 2.30 second clip.");
    json verbose = parse(transcribe(s, wav, "verbose_json")->body);
    EXPECT_NEAR(verbose["duration"].get<double>(), 2.3, 1e-3);
    EXPECT_EQ(verbose["segments"][0]["text"], verbose["text"]);
    EXPECT_EQ(transcribe(s, wav, "text")->body, "Transcript of a 2.30 second clip.\n");
    EXPECT_EQ(transcribe(s, wav, "srt")->body,
              "1\n00:00:00,000 --> 00:00:02,300\nTranscript of a 2.30 second clip.\n\n");
    EXPECT_EQ(transcribe(s, wav, "vtt")->body.rfind("WEBVTT\n\n00:00:00.000 --> 00:00:02.300\n", 0),
              0u);
    EXPECT_EQ(transcribe(s, "not audio at all", "json")->status, 400);
    EXPECT_EQ(transcribe(s, wav, "docx")->status, 400);
    EXPECT_EQ(s.client().Post("/v1/audio/transcriptions", "{}", "application/json")->status, 400);
}

}  // namespace
}  // namespace gemdesk::server::testing
