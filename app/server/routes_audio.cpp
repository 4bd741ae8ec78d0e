// POST /v1/audio/transcriptions: a multipart upload (wav/flac/ogg/mp3) becomes a chat job with
// one audio part and a transcription instruction, thinking forced off; the answer is returned as
// json, text, verbose_json, srt or vtt.
#include "server/request_fields.h"
#include "server/routes.h"

namespace gemdesk::server {

namespace {

using nlohmann::json;

std::string field(const httplib::Request & req, const std::string & name) {
    return req.has_file(name) ? req.get_file_value(name).content : "";
}

// "HH:MM:SS,mmm" (srt) or "HH:MM:SS.mmm" (vtt).
std::string timestamp(double seconds, char sep) {
    long long ms = (long long)(seconds * 1000.0 + 0.5);
    return gemma::format("%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60,
                         ms / 1000 % 60, sep, ms % 1000);
}

ApiResult<ApiRequest> parse_transcription(const httplib::Request & req, const MediaPolicy & policy,
                                          std::string & format) {
    if (!req.is_multipart_form_data() || !req.has_file("file"))
        return bad_request("send multipart/form-data with the audio in a 'file' field", "file");
    format = field(req, "response_format");
    if (format.empty()) format = "json";
    if (format != "json" && format != "text" && format != "verbose_json" && format != "srt" &&
        format != "vtt")
        return bad_request("'response_format' must be json, text, verbose_json, srt or vtt",
                           "response_format");
    if (field(req, "stream") == "true")
        return unprocessable("streaming transcriptions are not supported", "stream");
    auto media = audio_from_bytes(req.get_file_value("file").content, policy, "file");
    if (!media.ok()) return media.error();
    ApiRequest r;
    r.model = field(req, "model");
    std::string instruction = "Transcribe this audio clip verbatim.";
    std::string language = field(req, "language");
    if (!language.empty()) instruction += " The speech is in language '" + language + "'.";
    std::string prompt = field(req, "prompt");
    if (!prompt.empty()) instruction += " Context: " + prompt;
    r.job.media.push_back(std::move(media.value()));
    r.job.messages =
        json::array({{{"role", "user"},
                      {"content", json::array({{{"type", "audio"}, {"media_index", 0}},
                                               {{"type", "text"}, {"text", instruction}}})}}});
    r.job.enable_thinking = false;  // transcripts never think
    r.job.tool_choice = ToolChoice::none;
    r.job.sampling.temperature = 0.0;
    std::string temperature = field(req, "temperature");
    if (!temperature.empty()) {
        char * end = nullptr;
        double t = std::strtod(temperature.c_str(), &end);
        if (*end != '\0' || !(t >= 0.0 && t <= 1.0))
            return bad_request("'temperature' must be a number in 0..1", "temperature");
        r.job.sampling.temperature = t;
    }
    return r;
}

void respond(httplib::Response & res, const std::string & format, std::string text, double duration,
             const std::string & language) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.erase(0, 1);
    if (format == "json") return send_json(res, {{"text", text}});
    if (format == "text") return res.set_content(text + "\n", "text/plain; charset=utf-8");
    if (format == "srt")
        return res.set_content(
            "1\n" + timestamp(0, ',') + " --> " + timestamp(duration, ',') + "\n" + text + "\n\n",
            "application/x-subrip");
    if (format == "vtt")
        return res.set_content("WEBVTT\n\n" + timestamp(0, '.') + " --> " +
                                   timestamp(duration, '.') + "\n" + text + "\n\n",
                               "text/vtt");
    json segment = {{"id", 0},
                    {"seek", 0},
                    {"start", 0.0},
                    {"end", duration},
                    {"text", text},
                    {"tokens", json::array()},
                    {"temperature", 0.0},
                    {"avg_logprob", 0.0},
                    {"compression_ratio", 0.0},
                    {"no_speech_prob", 0.0}};
    send_json(res, {{"task", "transcribe"},
                    {"language", language.empty() ? "unknown" : language},
                    {"duration", duration},
                    {"text", text},
                    {"segments", json::array({segment})}});
}

}  // namespace

void register_audio_routes(httplib::Server & server, const RouteContext & ctx) {
    server.Post("/v1/audio/transcriptions",
                [ctx](const httplib::Request & req, httplib::Response & res) {
                    auto started = std::chrono::steady_clock::now();
                    std::string format;
                    auto parsed = parse_transcription(req, ctx.media, format);
                    if (!parsed.ok()) return send_error(res, parsed.error());
                    std::string language = field(req, "language");
                    auto job = submit_job(ctx, req, res, std::move(parsed.value()),
                                          ErrorStyle::openai, "trsc-", started);
                    if (!job) return;
                    std::string text;
                    auto outcome = run_job(*job, [&](const Event & d) {
                        if (d.kind == Event::Kind::content) text += d.text;
                        return true;
                    });
                    if (outcome.client_gone) return;
                    if (outcome.error) return send_error(res, api_error_from(*outcome.error));
                    respond(res, format, std::move(text), outcome.audio_seconds, language);
                });
}

}  // namespace gemdesk::server
