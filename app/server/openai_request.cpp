// OpenAI request validation: messages and content parts, tools and tool_choice, sampling,
// response_format, logprobs and streaming options.
#include "server/openai_request.h"

#include "server/request_fields.h"

namespace gemdesk::server {

namespace {

using nlohmann::json;

// Content: a string, null, or a list of parts; media parts become {"type":"image"|"audio",
// "media_index":i} with the bytes appended to job.media.
ApiResult<json> normalize_content(const json & content, const std::string & where,
                                  CompletionJob & job, const MediaPolicy & policy) {
    if (content.is_null() || content.is_string()) return content;
    if (!content.is_array())
        return bad_request("'" + where + "' must be a string or an array of content parts", where);
    json parts = json::array();
    for (size_t i = 0; i < content.size(); ++i) {
        std::string at = where + gemma::format("[%zu]", i);
        const json & part = content[i];
        FieldReader r(part, at + ".");
        if (!part.is_object()) return bad_request("'" + at + "' must be an object", at);
        std::string type = r.require_string("type");
        if (!r.ok()) return *r.error();
        if (type == "text") {
            std::string text = r.require_string("text");
            if (!r.ok()) return *r.error();
            parts.push_back({{"type", "text"}, {"text", text}});
        } else if (type == "image_url") {
            const json * iu = r.find("image_url");
            std::string url;
            if (iu && iu->is_string())
                url = iu->get<std::string>();
            else if (iu && iu->is_object() && iu->contains("url") && (*iu)["url"].is_string())
                url = (*iu)["url"].get<std::string>();
            else
                return bad_request("'" + at + ".image_url.url' is required", at + ".image_url.url");
            auto media = load_image_url(url, policy, at + ".image_url.url");
            if (!media.ok()) return media.error();
            job.media.push_back(std::move(media.value()));
            parts.push_back({{"type", "image"}, {"media_index", job.media.size() - 1}});
        } else if (type == "input_audio") {
            const json * ia = r.find("input_audio");
            if (!ia || !ia->is_object())
                return bad_request(
                    "'" + at + ".input_audio' must be an object with data and format",
                    at + ".input_audio");
            FieldReader a(*ia, at + ".input_audio.");
            std::string data = a.require_string("data");
            std::string format = a.require_string("format");
            if (!a.ok()) return *a.error();
            auto media = load_audio_base64(data, format, policy, at + ".input_audio");
            if (!media.ok()) return media.error();
            job.media.push_back(std::move(media.value()));
            parts.push_back({{"type", "audio"}, {"media_index", job.media.size() - 1}});
        } else {
            return bad_request(
                "'" + at + ".type' must be text, image_url or input_audio, got \"" + type + "\"",
                at + ".type");
        }
    }
    return parts;
}

// Assistant tool_calls: arguments JSON strings become objects (empty → {}), ids are kept.
ApiResult<json> normalize_tool_calls(const json & calls, const std::string & where) {
    if (!calls.is_array()) return bad_request("'" + where + "' must be an array", where);
    json out = json::array();
    for (size_t i = 0; i < calls.size(); ++i) {
        std::string at = where + gemma::format("[%zu]", i);
        FieldReader r(calls[i], at + ".");
        const json * fn = r.find("function");
        if (!calls[i].is_object() || !fn || !fn->is_object())
            return bad_request("'" + at + ".function' must be an object with name and arguments",
                               at + ".function");
        std::string id = r.get_string("id");
        FieldReader f(*fn, at + ".function.");
        std::string name = f.require_string("name");
        if (!f.ok()) return *f.error();
        if (!r.ok()) return *r.error();
        json args = json::object();
        if (const json * a = f.find("arguments")) {
            if (a->is_string()) {
                const std::string & text = a->get_ref<const std::string &>();
                if (!text.empty()) {
                    auto parsed = parse_json_object(text);
                    if (!parsed.ok())
                        return bad_request(
                            "'" + at +
                                ".function.arguments' must be a JSON object encoded as a string: " +
                                parsed.error().message,
                            at + ".function.arguments");
                    args = std::move(parsed.value());
                }
            } else if (a->is_object()) {
                args = *a;
            } else {
                return bad_request("'" + at + ".function.arguments' must be a JSON string",
                                   at + ".function.arguments");
            }
        }
        json call = {{"type", "function"}, {"function", {{"name", name}, {"arguments", args}}}};
        if (!id.empty()) call["id"] = id;
        out.push_back(std::move(call));
    }
    return out;
}

ApiResult<json> normalize_message(const json & m, size_t index, CompletionJob & job,
                                  const MediaPolicy & policy) {
    std::string where = gemma::format("messages[%zu]", index);
    if (!m.is_object())
        return bad_request("'" + where + "' must be an object with role and content", where);
    FieldReader r(m, where + ".");
    std::string role = r.require_string("role");
    if (!r.ok()) return *r.error();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" &&
        role != "tool")
        return bad_request("'" + where +
                               ".role' must be system, developer, user, assistant or tool, got \"" +
                               role + "\"",
                           where + ".role");
    json out = {{"role", role}};
    const json * content = r.find("content");
    if (!content && role != "assistant" && role != "tool")
        return bad_request("'" + where + ".content' is required for role " + role,
                           where + ".content");
    auto normalized =
        normalize_content(content ? *content : json(), where + ".content", job, policy);
    if (!normalized.ok()) return normalized.error();
    out["content"] = std::move(normalized.value());
    std::string name = r.get_string("name");
    if (!name.empty()) out["name"] = name;
    if (role == "assistant") {
        std::string reasoning = r.get_string("reasoning_content", r.get_string("reasoning"));
        if (!reasoning.empty()) out["reasoning"] = out["reasoning_content"] = reasoning;
        if (const json * calls = r.find("tool_calls")) {
            auto tc = normalize_tool_calls(*calls, where + ".tool_calls");
            if (!tc.ok()) return tc.error();
            out["tool_calls"] = std::move(tc.value());
        }
    }
    if (role == "tool") {
        std::string id = r.get_string("tool_call_id");
        if (!id.empty()) out["tool_call_id"] = id;
    }
    if (!r.ok()) return *r.error();
    return out;
}

}  // namespace

std::optional<ApiError> check_tool_choice(const CompletionJob & job, const std::string & param) {
    if ((job.tool_choice == ToolChoice::required || job.tool_choice == ToolChoice::named) &&
        job.tools.empty())
        return unprocessable(
            "'tool_choice' asks for a tool call, but the request declares no tools", "tool_choice");
    if (job.tool_choice == ToolChoice::named) {
        for (const auto & t : job.tools)
            if (t["function"]["name"] == job.tool_choice_name) return std::nullopt;
        return unprocessable(
            "'" + param + "' names \"" + job.tool_choice_name + "\", which is not in 'tools'",
            param);
    }
    return std::nullopt;
}

namespace {

std::optional<ApiError> read_tool_choice(FieldReader & r, CompletionJob & job) {
    const json * tc = r.find("tool_choice");
    if (!tc) {
        job.tool_choice = ToolChoice::auto_;
        return std::nullopt;
    }
    if (tc->is_string()) {
        std::string s = tc->get<std::string>();
        if (s == "auto")
            job.tool_choice = ToolChoice::auto_;
        else if (s == "none")
            job.tool_choice = ToolChoice::none;
        else if (s == "required")
            job.tool_choice = ToolChoice::required;
        else
            return bad_request(
                "'tool_choice' must be auto, none, required or {\"type\":\"function\",...}, got "
                "\"" +
                    s + "\"",
                "tool_choice");
    } else if (tc->is_object() && tc->contains("function") && (*tc)["function"].is_object() &&
               (*tc)["function"].contains("name") && (*tc)["function"]["name"].is_string()) {
        job.tool_choice = ToolChoice::named;
        job.tool_choice_name = (*tc)["function"]["name"].get<std::string>();
    } else {
        return bad_request(
            "'tool_choice' object must look like "
            "{\"type\":\"function\",\"function\":{\"name\":\"...\"}}",
            "tool_choice");
    }
    return check_tool_choice(job, "tool_choice");
}

std::optional<ApiError> read_response_format(FieldReader & r, CompletionJob & job) {
    const json * rf = r.find("response_format");
    if (!rf) return std::nullopt;
    FieldReader f(*rf, "response_format.");
    std::string type = rf->is_object() ? f.require_string("type") : "";
    if (!f.ok()) return *f.error();
    if (type == "text") return std::nullopt;
    if (type == "json_object") {
        job.response_format.kind = ResponseFormat::Kind::json_object;
        return std::nullopt;
    }
    if (type == "json_schema") {
        const json * js = f.find("json_schema");
        if (!js || !js->is_object() || !js->contains("schema") || !(*js)["schema"].is_object())
            return bad_request("'response_format.json_schema.schema' must be a JSON Schema object",
                               "response_format.json_schema.schema");
        job.response_format.kind = ResponseFormat::Kind::json_schema;
        job.response_format.schema = (*js)["schema"];
        return std::nullopt;
    }
    return bad_request("'response_format.type' must be text, json_object or json_schema",
                       "response_format.type");
}

}  // namespace

void read_sampling(FieldReader & r, SamplingParams & out) {
    out.temperature = r.get_number("temperature", 1.0, 0.0, 2.0);
    out.top_p = r.get_number("top_p", 1.0, 0.0, 1.0);
    out.top_k = int(r.get_int("top_k", 0, -1, 1 << 20));
    if (out.top_k < 0) out.top_k = 0;  // vLLM uses -1 for "off"
    if (r.find("seed")) out.seed = uint64_t(r.get_int("seed", 0, INT64_MIN, INT64_MAX));
}

ApiResult<ApiRequest> parse_chat_request(const nlohmann::json & body, const MediaPolicy & media) {
    ApiRequest req;
    CompletionJob & job = req.job;
    FieldReader r(body);
    req.model = r.get_string("model");
    const json * messages = r.find("messages");
    if (!messages || !messages->is_array() || messages->empty())
        return bad_request("'messages' must be a non-empty array of {role, content} objects",
                           "messages");
    for (size_t i = 0; i < messages->size(); ++i) {
        auto m = normalize_message((*messages)[i], i, job, media);
        if (!m.ok()) return m.error();
        job.messages.push_back(std::move(m.value()));
    }
    if (const json * tools = r.find("tools")) {
        auto t = normalize_openai_tools(*tools);
        if (!t.ok()) return t.error();
        job.tools = std::move(t.value());
    }
    if (auto e = read_tool_choice(r, job)) return *e;
    if (auto e = read_response_format(r, job)) return *e;
    job.parallel_tool_calls = r.get_bool("parallel_tool_calls", true);
    if (const json * kw = r.find("chat_template_kwargs")) {
        if (!kw->is_object())
            return bad_request("'chat_template_kwargs' must be an object", "chat_template_kwargs");
        FieldReader k(*kw, "chat_template_kwargs.");
        job.enable_thinking = k.get_bool("enable_thinking", false);
        job.preserve_thinking = k.get_bool("preserve_thinking", false);
        if (!k.ok()) return *k.error();
    }
    long long max_tokens = r.get_int("max_tokens", -1, 1, kMaxTokensLimit);
    job.max_tokens = int(r.get_int("max_completion_tokens", max_tokens, 1, kMaxTokensLimit));
    read_sampling(r, job.sampling);
    req.stop = r.get_string_list("stop", 16);
    req.stream = r.get_bool("stream", false);
    if (const json * so = r.find("stream_options")) {
        FieldReader s(*so, "stream_options.");
        req.include_usage = s.get_bool("include_usage", false);
        if (!so->is_object())
            return bad_request("'stream_options' must be an object", "stream_options");
        if (!s.ok()) return *s.error();
    }
    req.logprobs = r.get_bool("logprobs", false);
    long long top = r.get_int("top_logprobs", 0, 0, 20);
    if (r.find("top_logprobs") && !req.logprobs)
        return bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
    if (req.logprobs) job.top_logprobs = int(top);
    long long n = r.get_int("n", 1, 1, 128);
    if (!r.ok()) return *r.error();
    if (n != 1)
        return unprocessable("this server returns one choice per request; send 'n': 1", "n");
    return req;
}

ApiResult<ApiRequest> parse_completion_request(const nlohmann::json & body) {
    ApiRequest req;
    CompletionJob & job = req.job;
    job.kind = CompletionJob::Kind::text;
    FieldReader r(body);
    req.model = r.get_string("model");
    const json * prompt = r.find("prompt");
    if (prompt && prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string())
        prompt = &(*prompt)[0];
    if (!prompt || !prompt->is_string())
        return bad_request("'prompt' must be a string (one prompt per request)", "prompt");
    job.prompt = prompt->get<std::string>();
    job.max_tokens =
        int(r.get_int("max_tokens", 16, 1, kMaxTokensLimit));  // OpenAI's default is 16
    read_sampling(r, job.sampling);
    req.stop = r.get_string_list("stop", 16);
    req.stream = r.get_bool("stream", false);
    if (const json * so = r.find("stream_options"); so && so->is_object()) {
        FieldReader s(*so, "stream_options.");
        req.include_usage = s.get_bool("include_usage", false);
        if (!s.ok()) return *s.error();
    }
    long long logprobs = r.get_int("logprobs", -1, 0, 20);
    req.logprobs = logprobs >= 0;
    job.top_logprobs = int(logprobs);
    bool echo = r.get_bool("echo", false);
    std::string suffix = r.get_string("suffix");
    long long n = r.get_int("n", 1, 1, 128);
    long long best_of = r.get_int("best_of", 1, 1, 128);
    if (!r.ok()) return *r.error();
    if (echo)
        return unprocessable("'echo' is not supported; the prompt is not repeated in the output",
                             "echo");
    if (!suffix.empty())
        return unprocessable("'suffix' (insertion) is not supported by Gemma 4", "suffix");
    if (n != 1 || best_of != 1)
        return unprocessable("this server returns one choice per request; send 'n': 1", "n");
    return req;
}

}  // namespace gemdesk::server
