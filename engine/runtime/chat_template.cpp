// Native Gemma 4 chat template renderer: a transliteration of the July template's control flow
// (spec §2.2) over ChatRequest structs. Declarations live in chat_declaration.cpp, Python value
// formatting in chat_value_format.cpp.
#include "runtime/chat_template.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "runtime/chat_declaration.h"
#include "runtime/chat_value_format.h"

namespace gemma::chat {
namespace {

// The July template's raise_exception text for non-mapping tool-call arguments (verbatim).
constexpr const char * kStringArgumentsError =
    "chat_template: tool_calls[].function.arguments must be a JSON object (mapping), not a "
    "string. Deserialize arguments before passing to the template.";

// Thrown where the template raises; caught in chat_render().
struct RenderError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The template's ns.prev_message_type.
enum class Prev { none, think, tool, tool_call, tool_response };

std::string tool_response_block(const std::string & name, const Json & response) {
    std::string out = "<|tool_response>";
    if (response.is_object()) {
        out += "response:" + name + "{";
        bool first = true;
        for (const auto & [key, value] : py_dictsort(response)) {
            if (!first) out += ',';
            first = false;
            out += *key + ":" + format_argument(*value, false);
        }
        out += "}";
    } else {
        out += "response:" + name + "{value:" + format_argument(response, false) + "}";
    }
    return out + "<tool_response|>";
}

std::string tool_call_text(const ToolCall & call) {
    std::string out = "<|tool_call>call:" + call.name + "{";
    if (call.arguments.is_object()) {
        bool first = true;
        for (const auto & [key, value] : py_dictsort(call.arguments)) {
            if (!first) out += ',';
            first = false;
            out += *key + ":" + format_argument(*value, false);
        }
    } else if (!call.arguments.is_null()) {
        throw RenderError(kStringArgumentsError);
    }
    return out + "}<tool_call|>";
}

const char * media_placeholder(const std::string & type) {
    if (type == "image" || type == "image_url") return "<|image|>";
    if (type == "audio" || type == "input_audio") return "<|audio|>";
    if (type == "video") return "<|video|>";
    return "";
}

// One role:"tool" message answering `call_msg` (the OpenAI forward scan).
std::string tool_message_block(const ChatMessage & call_msg, const ChatMessage & tool) {
    std::string name = tool.name.empty() ? "unknown" : tool.name;
    for (const auto & tc : call_msg.tool_calls) {
        // Python None == None: an id-less call matches an id-less tool message.
        bool match = tc.id.has_value() ? (tool.has_tool_call_id && *tc.id == tool.tool_call_id)
                                       : !tool.has_tool_call_id;
        if (match) name = tc.name;
    }
    const MessageContent & c = tool.content;
    if (c.kind == MessageContent::Kind::text) return tool_response_block(name, Json(c.text));
    if (c.kind == MessageContent::Kind::parts) {
        std::string text;
        for (const auto & p : c.parts) {
            if (p.type == "text") text += p.text;
        }
        std::string out = tool_response_block(name, Json(text));
        for (const auto & p : c.parts) out += media_placeholder(p.type);
        return out;
    }
    return tool_response_block(name, tool.tool_body.value_or(Json()));
}

std::string message_content(const MessageContent & c, bool model) {
    auto text = [&](const std::string & s) { return model ? chat_strip_thinking(s) : py_trim(s); };
    if (c.kind == MessageContent::Kind::text) return text(c.text);
    std::string out;
    if (c.kind == MessageContent::Kind::parts) {
        for (const auto & p : c.parts)
            out += p.type == "text" ? text(p.text) : media_placeholder(p.type);
    }
    return out;
}

// The system turn: thinking flag, first system/developer message, tool declarations.
// Returns the number of messages consumed (0 or 1).
size_t render_system_turn(const ChatRequest & req, std::string & out, Prev & prev) {
    const auto & msgs = req.messages;
    bool first_is_system =
        !msgs.empty() && (msgs[0].role == "system" || msgs[0].role == "developer");
    if (!req.enable_thinking && req.tools.empty() && !first_is_system) return 0;
    out += "<|turn>system\n";
    if (req.enable_thinking) {
        out += "<|think|>\n";
        prev = Prev::think;
    }
    if (first_is_system) {
        const MessageContent & c = msgs[0].content;
        if (c.kind == MessageContent::Kind::text) out += py_trim(c.text);
        if (c.kind == MessageContent::Kind::parts) {
            for (const auto & p : c.parts) out += py_trim(p.text) + " ";
        }
    }
    for (const auto & tool : req.tools) {
        auto decl = chat_render_tool_declaration(tool);
        if (!decl.ok()) throw RenderError(decl.error().message);
        out += "<|tool>" + *decl + "<tool|>";
        prev = Prev::tool;
    }
    out += "<turn|>\n";
    return first_is_system ? 1 : 0;
}

struct LoopState {
    Prev prev = Prev::none;
    std::optional<std::string> prev_non_tool_role;
};

// One non-tool message of the main loop (index i of `loop`).
void render_message(const ChatRequest & req, const std::vector<const ChatMessage *> & loop,
                    size_t i, long last_user, LoopState & st, std::string & out) {
    const ChatMessage & m = *loop[i];
    st.prev = Prev::none;
    std::string role = m.role == "assistant" ? "model" : m.role;
    bool continue_turn = role == "model" && st.prev_non_tool_role == std::string("assistant");
    if (!continue_turn) out += "<|turn>" + role + "\n";

    bool gate =
        static_cast<long>(i) > last_user || (req.preserve_thinking && !m.tool_calls.empty());
    if (!m.reasoning.empty() && gate) out += "<|channel>thought\n" + m.reasoning + "\n<channel|>";

    for (const auto & tc : m.tool_calls) out += tool_call_text(tc);
    if (!m.tool_calls.empty()) st.prev = Prev::tool_call;

    bool responded = false;
    if (!m.tool_responses.empty()) {
        for (const auto & r : m.tool_responses) {
            out += tool_response_block(r.name.empty() ? "unknown" : r.name, r.response);
        }
        responded = true;
        st.prev = Prev::tool_response;
    } else if (!m.tool_calls.empty()) {
        for (size_t k = i + 1; k < loop.size() && loop[k]->role == "tool"; ++k) {
            out += tool_message_block(m, *loop[k]);
            responded = true;
            st.prev = Prev::tool_response;
        }
    }

    std::string content = message_content(m.content, role == "model");
    out += content;
    bool has_content = !py_trim(content).empty();

    const ChatMessage * next = nullptr;
    for (size_t j = i + 1; j < loop.size() && !next; ++j) {
        if (loop[j]->role != "tool") next = loop[j];
    }
    bool continues =
        role == "model" && next && next->role == "assistant" && (m.tool_calls.empty() || responded);
    if (st.prev == Prev::tool_call && !responded) {
        out += "<|tool_response>";
    } else if (continues) {
        // the next assistant message continues this model turn
    } else if (!(responded && !has_content && !next)) {
        out += "<turn|>\n";
    }
    st.prev_non_tool_role = m.role;
}

std::string render_or_throw(const ChatRequest & req, const TemplateInfo & info) {
    std::string out = "<bos>";
    LoopState st;
    size_t first = render_system_turn(req, out, st.prev);

    std::vector<const ChatMessage *> loop;
    for (size_t i = first; i < req.messages.size(); ++i) loop.push_back(&req.messages[i]);
    long last_user = -1;
    for (size_t i = 0; i < loop.size(); ++i) {
        if (loop[i]->role == "user") last_user = static_cast<long>(i);
    }
    for (size_t i = 0; i < loop.size(); ++i) {
        if (loop[i]->role != "tool") render_message(req, loop, i, last_user, st, out);
    }

    if (req.add_generation_prompt) {
        if (st.prev != Prev::tool_response && st.prev != Prev::tool_call) {
            out += "<|turn>model\n";
            if (info.empty_thought_when_off && !req.enable_thinking)
                out += "<|channel>thought\n<channel|>";
        } else if (st.prev == Prev::tool_response && req.enable_thinking) {
            out += "<|channel>thought\n";
        }
    }
    return out;
}

}  // namespace

std::string chat_strip_thinking(std::string_view text) {
    std::string result;
    size_t pos = 0;
    while (true) {
        size_t close = text.find("<channel|>", pos);
        std::string_view part =
            text.substr(pos, close == std::string_view::npos ? text.npos : close - pos);
        result += part.substr(0, part.find("<|channel>"));
        if (close == std::string_view::npos) break;
        pos = close + 10;
    }
    return py_trim(result);
}

Result<std::string> chat_render(const ChatRequest & request, const TemplateInfo & info) {
    try {
        return render_or_throw(request, info);
    } catch (const RenderError & e) {
        return make_error(ErrorCode::invalid_argument, e.what());
    }
}

Result<TemplateInfo> chat_template_inspect(std::string_view text) {
    if (text.find("<|turn>") == text.npos || text.find("<|tool_call>") == text.npos) {
        return make_error(ErrorCode::unsupported,
                          "the chat template is not a Gemma 4 template (no <|turn> / <|tool_call> "
                          "markers); use a Gemma 4 checkpoint directory");
    }
    TemplateInfo info;
    // Jinja source writes the newline as the two characters '\' 'n'; accept a raw one too.
    info.empty_thought_when_off = text.find("<|channel>thought\\n<channel|>") != text.npos ||
                                  text.find("<|channel>thought\n<channel|>") != text.npos;
    info.july_revision = text.find("preserve_thinking") != text.npos;
    return info;
}

Result<std::string> chat_template_load(const std::string & model_dir) {
    auto read = [](const std::string & path) -> std::optional<std::string> {
        std::ifstream f(path, std::ios::binary);
        if (!f) return std::nullopt;
        std::ostringstream ss;
        ss << f.rdbuf();
        return ss.str();
    };
    if (auto text = read(model_dir + "/chat_template.jinja")) return *text;
    auto config = read(model_dir + "/tokenizer_config.json");
    if (!config) {
        return make_error(ErrorCode::not_found,
                          "no chat_template.jinja or tokenizer_config.json in '" + model_dir +
                              "'; pass a Hugging Face model directory");
    }
    auto json = nlohmann::json::parse(*config, nullptr, false);
    if (json.is_discarded()) {
        return make_error(ErrorCode::corrupt_file,
                          model_dir + "/tokenizer_config.json is not valid JSON");
    }
    auto it = json.find("chat_template");
    if (it != json.end() && it->is_string()) return it->get<std::string>();
    if (it != json.end() && it->is_array()) {
        for (const auto & t : *it) {
            if (t.value("name", "") == "default" && t.contains("template") &&
                t["template"].is_string())
                return t["template"].get<std::string>();
        }
    }
    return make_error(ErrorCode::not_found,
                      "no chat template in '" + model_dir +
                          "' (neither chat_template.jinja nor a chat_template field "
                          "in tokenizer_config.json)");
}

}  // namespace gemma::chat
