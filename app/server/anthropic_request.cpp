// Anthropic → normalized OpenAI-style messages. User tool_result blocks become "tool" messages;
// assistant thinking/text/tool_use blocks become reasoning, content and tool_calls.
#include "server/anthropic_request.h"

#include "server/openai_request.h"
#include "server/request_fields.h"

namespace gemdesk::server {

namespace {

using nlohmann::json;

bool is_text_block(const json & b) {
    return b.is_object() && b.contains("type") && b["type"] == "text" && b.contains("text") &&
           b["text"].is_string();
}

ApiResult<MediaInput> image_block(const json & block, const std::string & at,
                                  const MediaPolicy & policy) {
    const json * source = block.contains("source") ? &block["source"] : nullptr;
    if (!source || !source->is_object())
        return bad_request("'" + at + ".source' must be an object", at + ".source");
    FieldReader s(*source, at + ".source.");
    std::string type = s.require_string("type");
    if (!s.ok()) return *s.error();
    if (type == "base64") {
        std::string data = s.require_string("data");
        if (!s.ok()) return *s.error();
        return load_image_url("data:image;base64," + data, policy, at + ".source.data");
    }
    if (type == "url") {
        std::string url = s.require_string("url");
        if (!s.ok()) return *s.error();
        return load_image_url(url, policy, at + ".source.url");
    }
    return bad_request("'" + at + ".source.type' must be base64 or url", at + ".source.type");
}

// tool_result content: a string or text blocks, flattened to a string.
ApiResult<json> tool_result_content(const json & block, const std::string & at) {
    auto it = block.find("content");
    if (it == block.end() || it->is_null()) return json("");
    if (it->is_string()) return *it;
    if (!it->is_array())
        return bad_request("'" + at + ".content' must be a string or text blocks", at + ".content");
    json parts = json::array();
    for (const auto & b : *it) {
        if (!is_text_block(b))
            return bad_request("'" + at + ".content' may hold only text blocks", at + ".content");
        parts.push_back({{"type", "text"}, {"text", b["text"]}});
    }
    return parts;
}

struct Converted {
    json parts = json::array();
    json tool_calls = json::array();
    json tool_messages = json::array();
    std::string reasoning;
};

std::optional<ApiError> convert_block(const json & block, const std::string & at,
                                      const std::string & role, Converted & out,
                                      CompletionJob & job, const MediaPolicy & policy) {
    if (!block.is_object()) return bad_request("'" + at + "' must be an object", at);
    FieldReader r(block, at + ".");
    std::string type = r.require_string("type");
    if (!r.ok()) return *r.error();
    if (type == "text") {
        std::string text = r.require_string("text");
        if (!r.ok()) return *r.error();
        out.parts.push_back({{"type", "text"}, {"text", text}});
    } else if (type == "image" && role == "user") {
        auto media = image_block(block, at, policy);
        if (!media.ok()) return media.error();
        job.media.push_back(std::move(media.value()));
        out.parts.push_back({{"type", "image"}, {"media_index", job.media.size() - 1}});
    } else if (type == "tool_result" && role == "user") {
        std::string id = r.require_string("tool_use_id");
        if (!r.ok()) return *r.error();
        auto content = tool_result_content(block, at);
        if (!content.ok()) return content.error();
        out.tool_messages.push_back(
            {{"role", "tool"}, {"tool_call_id", id}, {"content", content.value()}});
    } else if (type == "tool_use" && role == "assistant") {
        std::string id = r.require_string("id");
        std::string name = r.require_string("name");
        if (!r.ok()) return *r.error();
        json input =
            block.contains("input") && block["input"].is_object() ? block["input"] : json::object();
        out.tool_calls.push_back({{"id", id},
                                  {"type", "function"},
                                  {"function", {{"name", name}, {"arguments", input}}}});
    } else if ((type == "thinking" || type == "redacted_thinking") && role == "assistant") {
        out.reasoning += r.get_string("thinking");
        if (!r.ok()) return *r.error();
    } else {
        return bad_request(
            "'" + at + ".type' \"" + type + "\" is not valid in a " + role + " message",
            at + ".type");
    }
    return std::nullopt;
}

std::optional<ApiError> convert_message(const json & m, size_t index, CompletionJob & job,
                                        const MediaPolicy & policy) {
    std::string where = gemma::format("messages[%zu]", index);
    if (!m.is_object())
        return bad_request("'" + where + "' must be an object with role and content", where);
    FieldReader r(m, where + ".");
    std::string role = r.require_string("role");
    if (!r.ok()) return *r.error();
    if (role != "user" && role != "assistant")
        return bad_request(
            "'" + where + ".role' must be user or assistant (put system text in 'system')",
            where + ".role");
    const json * content = r.find("content");
    Converted c;
    if (content && content->is_string()) {
        c.parts.push_back({{"type", "text"}, {"text", *content}});
    } else if (content && content->is_array()) {
        for (size_t i = 0; i < content->size(); ++i)
            if (auto e = convert_block((*content)[i], where + gemma::format(".content[%zu]", i),
                                       role, c, job, policy))
                return e;
    } else {
        return bad_request("'" + where + ".content' must be a string or an array of content blocks",
                           where + ".content");
    }
    for (auto & t : c.tool_messages) job.messages.push_back(std::move(t));
    if (role == "user" && c.parts.empty()) return std::nullopt;  // only tool results
    json out = {{"role", role}, {"content", c.parts.empty() ? json() : c.parts}};
    if (!c.reasoning.empty()) out["reasoning"] = out["reasoning_content"] = c.reasoning;
    if (!c.tool_calls.empty()) out["tool_calls"] = c.tool_calls;
    job.messages.push_back(std::move(out));
    return std::nullopt;
}

std::optional<ApiError> read_system(FieldReader & r, CompletionJob & job) {
    const json * system = r.find("system");
    if (!system) return std::nullopt;
    if (system->is_string()) {
        job.messages.push_back({{"role", "system"}, {"content", *system}});
        return std::nullopt;
    }
    if (!system->is_array())
        return bad_request("'system' must be a string or text blocks", "system");
    json parts = json::array();
    for (const auto & b : *system) {
        if (!is_text_block(b)) return bad_request("'system' may hold only text blocks", "system");
        parts.push_back({{"type", "text"}, {"text", b["text"]}});
    }
    job.messages.push_back({{"role", "system"}, {"content", parts}});
    return std::nullopt;
}

std::optional<ApiError> read_tools(FieldReader & r, CompletionJob & job) {
    const json * tools = r.find("tools");
    if (tools) {
        if (!tools->is_array()) return bad_request("'tools' must be an array", "tools");
        json openai = json::array();
        for (const auto & t : *tools) {
            if (!t.is_object()) return bad_request("'tools' entries must be objects", "tools");
            json fn = {{"name", t.value("name", json())}};
            if (t.contains("description")) fn["description"] = t["description"];
            if (t.contains("input_schema")) fn["parameters"] = t["input_schema"];
            openai.push_back({{"type", "function"}, {"function", fn}});
        }
        auto normalized = normalize_openai_tools(openai);
        if (!normalized.ok()) return normalized.error();
        job.tools = std::move(normalized.value());
    }
    const json * tc = r.find("tool_choice");
    if (!tc) return std::nullopt;
    FieldReader c(*tc, "tool_choice.");
    std::string type = tc->is_object() ? c.require_string("type") : "";
    if (!c.ok()) return *c.error();
    if (type == "auto")
        job.tool_choice = ToolChoice::auto_;
    else if (type == "none")
        job.tool_choice = ToolChoice::none;
    else if (type == "any")
        job.tool_choice = ToolChoice::required;
    else if (type == "tool") {
        job.tool_choice = ToolChoice::named;
        job.tool_choice_name = c.require_string("name");
        if (!c.ok()) return *c.error();
    } else
        return bad_request("'tool_choice.type' must be auto, any, tool or none",
                           "tool_choice.type");
    if (c.get_bool("disable_parallel_tool_use", false)) job.parallel_tool_calls = false;
    if (!c.ok()) return *c.error();
    return check_tool_choice(job, "tool_choice.name");
}

}  // namespace

ApiResult<ApiRequest> parse_anthropic_request(const nlohmann::json & body,
                                              const MediaPolicy & media) {
    ApiRequest req;
    CompletionJob & job = req.job;
    FieldReader r(body);
    req.model = r.get_string("model");
    if (!r.find("max_tokens")) return bad_request("'max_tokens' is required", "max_tokens");
    job.max_tokens = int(r.get_int("max_tokens", 1, 1, kMaxTokensLimit));
    if (auto e = read_system(r, job)) return *e;
    const json * messages = r.find("messages");
    if (!messages || !messages->is_array() || messages->empty())
        return bad_request("'messages' must be a non-empty array of {role, content} objects",
                           "messages");
    for (size_t i = 0; i < messages->size(); ++i)
        if (auto e = convert_message((*messages)[i], i, job, media)) return *e;
    if (auto e = read_tools(r, job)) return *e;
    if (const json * thinking = r.find("thinking")) {
        FieldReader t(*thinking, "thinking.");
        std::string type = thinking->is_object() ? t.require_string("type") : "";
        if (!t.ok()) return *t.error();
        if (type != "enabled" && type != "disabled")
            return bad_request("'thinking.type' must be enabled or disabled", "thinking.type");
        job.enable_thinking = type == "enabled";
    }
    job.sampling.temperature = r.get_number("temperature", 1.0, 0.0, 1.0);
    job.sampling.top_p = r.get_number("top_p", 1.0, 0.0, 1.0);
    job.sampling.top_k = int(r.get_int("top_k", 0, 0, 1 << 20));
    req.stop = r.get_string_list("stop_sequences", 16);
    req.stream = r.get_bool("stream", false);
    if (!r.ok()) return *r.error();
    return req;
}

}  // namespace gemdesk::server
