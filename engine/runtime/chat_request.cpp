// Chat request JSON -> ChatRequest structs, with field-naming validation errors (chat_request.h).
#include "runtime/chat_request.h"

#include <stdexcept>

#include "runtime/chat_value_format.h"

namespace gemma::chat {
namespace {

// Thrown on invalid input; caught in chat_request_from_json().
struct RequestError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string & where, const std::string & what) {
    throw RequestError(where + " " + what);
}

const char * type_name(const Json & v) {
    switch (v.type()) {
        case Json::value_t::null:
            return "null";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::object:
            return "an object";
        default:
            return "a number";
    }
}

// Optional string field: absent/null -> fallback; non-string -> error.
std::string opt_string(const Json & obj, const char * key, const std::string & where,
                       const std::string & fallback = "") {
    const Json * v = json_get(obj, key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_string())
        fail(where + "." + key, std::string("must be a string, got ") + type_name(*v));
    return v->get<std::string>();
}

bool opt_bool(const Json & obj, const char * key, const std::string & where, bool fallback) {
    const Json * v = json_get(obj, key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_boolean()) {
        fail(where + "." + key, std::string("must be true or false, got ") + type_name(*v) +
                                    " (a string such as \"false\" would count as true)");
    }
    return v->get<bool>();
}

MessageContent parse_content(const Json & m, const std::string & where, bool is_tool,
                             std::optional<Json> & tool_body) {
    MessageContent c;
    const Json * v = json_get(m, "content");
    if (!v || v->is_null()) return c;
    if (v->is_string()) {
        c.kind = MessageContent::Kind::text;
        c.text = v->get<std::string>();
        return c;
    }
    if (v->is_array()) {
        c.kind = MessageContent::Kind::parts;
        for (size_t j = 0; j < v->size(); ++j) {
            const Json & p = (*v)[j];
            std::string pw = where + ".content[" + std::to_string(j) + "]";
            if (!p.is_object())
                fail(pw, std::string("must be a content part object, got ") + type_name(p));
            ContentPart part;
            part.type = opt_string(p, "type", pw);
            const Json * text = json_get(p, "text");
            if (text && !text->is_null()) {
                if (!text->is_string()) fail(pw + ".text", "must be a string");
                part.text = text->get<std::string>();
            }
            if (part.type == "text" && (!text || text->is_null()))
                fail(pw, "is a text part without a \"text\" string");
            c.parts.push_back(std::move(part));
        }
        return c;
    }
    if (is_tool && !v->is_object()) {
        tool_body = *v;  // numbers and booleans render as {value:...}
        return c;
    }
    fail(where + ".content",
         std::string("must be a string, an array of content parts, or null; got ") + type_name(*v));
}

ToolCall parse_tool_call(const Json & tc, const std::string & where,
                         const ChatRequestOptions & opt) {
    if (!tc.is_object()) fail(where, std::string("must be an object, got ") + type_name(tc));
    ToolCall call;
    const Json * id = json_get(tc, "id");
    if (id && !id->is_null()) {
        if (!id->is_string()) fail(where + ".id", "must be a string");
        call.id = id->get<std::string>();
    }
    const Json * fn = json_get(tc, "function");
    if (!fn || !fn->is_object())
        fail(where + ".function", "must be an object with \"name\" and \"arguments\"");
    const Json * name = json_get(*fn, "name");
    if (!name || !name->is_string()) fail(where + ".function.name", "must be a string");
    call.name = name->get<std::string>();
    const Json * args = json_get(*fn, "arguments");
    call.arguments = args ? *args : Json();
    if (opt.decode_string_arguments && call.arguments.is_string()) {
        std::string text = py_trim(call.arguments.get<std::string>());
        if (text.empty()) {
            call.arguments = Json::object();
        } else {
            Json parsed = Json::parse(text, nullptr, false);
            if (parsed.is_discarded()) {
                fail(where + ".function.arguments",
                     "is a string but not valid JSON; send a JSON object "
                     "or a JSON-encoded object");
            }
            call.arguments = std::move(parsed);
        }
    }
    return call;
}

ChatMessage parse_message(const Json & m, const std::string & where,
                          const ChatRequestOptions & opt) {
    if (!m.is_object()) fail(where, std::string("must be an object, got ") + type_name(m));
    ChatMessage msg;
    const Json * role = json_get(m, "role");
    if (!role || !role->is_string())
        fail(where + ".role", "must be a string (user, assistant, system, tool)");
    msg.role = role->get<std::string>();
    msg.content = parse_content(m, where, msg.role == "tool", msg.tool_body);
    for (const char * key : {"reasoning", "reasoning_content"}) {
        const Json * r = json_get(m, key);
        if (!r || !py_truthy(*r) || !msg.reasoning.empty()) continue;
        if (!r->is_string()) fail(where + "." + key, "must be a string");
        msg.reasoning = r->get<std::string>();
    }
    if (const Json * calls = json_get(m, "tool_calls"); calls && !calls->is_null()) {
        if (!calls->is_array()) fail(where + ".tool_calls", "must be an array");
        for (size_t j = 0; j < calls->size(); ++j) {
            msg.tool_calls.push_back(parse_tool_call(
                (*calls)[j], where + ".tool_calls[" + std::to_string(j) + "]", opt));
        }
    }
    if (const Json * rs = json_get(m, "tool_responses"); rs && !rs->is_null()) {
        if (!rs->is_array()) fail(where + ".tool_responses", "must be an array");
        for (size_t j = 0; j < rs->size(); ++j) {
            std::string rw = where + ".tool_responses[" + std::to_string(j) + "]";
            const Json & r = (*rs)[j];
            if (!r.is_object()) fail(rw, "must be an object with \"name\" and \"response\"");
            const Json * name = json_get(r, "name");
            ToolResponse tr;
            if (name && py_truthy(*name))
                tr.name = name->is_string() ? name->get<std::string>() : py_str(*name);
            const Json * resp = json_get(r, "response");
            tr.response = resp ? *resp : Json::array();  // the template renders a missing one as []
            msg.tool_responses.push_back(std::move(tr));
        }
    }
    msg.name = opt_string(m, "name", where);
    if (const Json * id = json_get(m, "tool_call_id"); id && !id->is_null()) {
        if (!id->is_string()) fail(where + ".tool_call_id", "must be a string");
        msg.has_tool_call_id = true;
        msg.tool_call_id = id->get<std::string>();
    }
    return msg;
}

ToolDeclaration parse_tool(const Json & t, const std::string & where,
                           const ChatRequestOptions & opt) {
    if (!t.is_object()) fail(where, std::string("must be an object, got ") + type_name(t));
    const Json * fn = json_get(t, "function");
    if (!fn || !fn->is_object())
        fail(where + ".function", "must be an object (OpenAI function tool)");
    ToolDeclaration tool;
    const Json * name = json_get(*fn, "name");
    if (!name || !name->is_string() || name->get_ref<const std::string &>().empty())
        fail(where + ".function.name", "must be a non-empty string");
    tool.name = name->get<std::string>();
    if (const Json * d = json_get(*fn, "description")) tool.description = py_str(*d);
    if (const Json * p = json_get(*fn, "parameters")) tool.parameters = *p;
    if (py_truthy(tool.parameters) && !tool.parameters.is_object())
        fail(where + ".function.parameters", "must be a JSON schema object");
    if (opt.default_parameters_type && py_truthy(tool.parameters)) {
        const Json * type = json_get(tool.parameters, "type");
        if (!type || !py_truthy(*type)) tool.parameters["type"] = "object";
    }
    if (const Json * r = json_get(*fn, "response")) {
        tool.has_response = true;
        tool.response = *r;
    }
    return tool;
}

ChatRequest parse_request(const Json & req, const ChatRequestOptions & opt) {
    if (!req.is_object())
        fail("request", std::string("must be a JSON object, got ") + type_name(req));
    ChatRequest out;
    const Json * msgs = json_get(req, "messages");
    if (!msgs || !msgs->is_array()) fail("request.messages", "must be an array of messages");
    for (size_t i = 0; i < msgs->size(); ++i) {
        out.messages.push_back(
            parse_message((*msgs)[i], "messages[" + std::to_string(i) + "]", opt));
    }
    if (const Json * tools = json_get(req, "tools"); tools && !tools->is_null()) {
        if (!tools->is_array()) fail("request.tools", "must be an array of tools");
        for (size_t i = 0; i < tools->size(); ++i) {
            out.tools.push_back(parse_tool((*tools)[i], "tools[" + std::to_string(i) + "]", opt));
        }
    }
    out.add_generation_prompt = opt_bool(req, "add_generation_prompt", "request", true);
    if (const Json * kw = json_get(req, "chat_template_kwargs"); kw && !kw->is_null()) {
        if (!kw->is_object()) fail("request.chat_template_kwargs", "must be an object");
        out.enable_thinking = opt_bool(*kw, "enable_thinking", "chat_template_kwargs", false);
        out.preserve_thinking = opt_bool(*kw, "preserve_thinking", "chat_template_kwargs", false);
    }
    return out;
}

}  // namespace

Result<ChatRequest> chat_request_from_json(const Json & request,
                                           const ChatRequestOptions & options) {
    try {
        return parse_request(request, options);
    } catch (const RequestError & e) {
        return make_error(ErrorCode::invalid_argument,
                          std::string("invalid chat request: ") + e.what());
    }
}

Result<ChatRequest> chat_request_parse(std::string_view request_text,
                                       const ChatRequestOptions & options) {
    Json json;
    try {
        json = Json::parse(request_text);
    } catch (const Json::parse_error & e) {
        return make_error(ErrorCode::invalid_argument,
                          std::string("invalid chat request: not valid JSON (") + e.what() + ")");
    }
    return chat_request_from_json(json, options);
}

}  // namespace gemma::chat
