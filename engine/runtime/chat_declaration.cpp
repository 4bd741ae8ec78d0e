// Tool declaration rendering: a transliteration of the July template's format_parameters and
// format_function_declaration macros (see chat_declaration.h and spec §2.4).
#include "runtime/chat_declaration.h"

#include <stdexcept>

#include "runtime/chat_value_format.h"

namespace gemma::chat {
namespace {

const std::string kQ = "<|\"|>";

// Thrown where the template raises; caught in chat_render_tool_declaration().
struct DeclarationError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Jinja `value[key] | upper`: "" for undefined, upper(str(v)) otherwise (a list type prints its
// Python repr, e.g. "['STRING', 'NULL']").
std::string upper_of(const Json * v) { return v ? py_upper(py_str(*v)) : std::string(); }

// The items of a Jinja `for x in v` over a list or string (one code point per item).
std::vector<Json> iterate(const Json & v, const std::string & what) {
    std::vector<Json> out;
    if (v.is_array()) {
        for (const auto & e : v) out.push_back(e);
    } else if (v.is_string()) {
        const auto & s = v.get_ref<const std::string &>();
        for (size_t i = 0; i < s.size();) {
            size_t n = 1;
            while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
            out.emplace_back(s.substr(i, n));
            i += n;
        }
    } else if (v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it) out.emplace_back(it.key());
    } else {
        throw DeclarationError(what + " must be a list of strings, got " + py_repr(v));
    }
    return out;
}

std::string string_list(const Json & v, const std::string & what) {
    std::string out = "[";
    bool first = true;
    for (const auto & item : iterate(v, what)) {
        if (!first) out += ',';
        first = false;
        out += kQ + py_str(item) + kQ;
    }
    return out + "]";
}

std::string format_parameters(const Json & properties, bool filter_keys);

// `items:{…}` of an ARRAY property: the items' own keys, dictsorted, nulls skipped.
std::string format_items(const Json & items) {
    std::string out = "items:{";
    bool first = true;
    for (const auto & [key, value] : py_dictsort(items)) {
        if (value->is_null()) continue;
        if (!first) out += ',';
        first = false;
        if (*key == "properties") {
            out += "properties:{";
            if (value->is_object()) out += format_parameters(*value, false);
            out += "}";
        } else if (*key == "required") {
            out += "required:" + string_list(*value, "items.required");
        } else if (*key == "type") {
            if (value->is_string()) {
                out += "type:" + format_argument(Json(py_upper(value->get<std::string>())), true);
            } else {
                Json upper = Json::array();
                for (const auto & t : iterate(*value, "items.type"))
                    upper.push_back(py_upper(py_str(t)));
                out += "type:" + format_argument(upper, true);
            }
        } else {
            out += *key + ":" + format_argument(*value, true);
        }
    }
    return out + "}";
}

// One property `NAME:{…}`. A non-object schema behaves like an empty one (Jinja undefined).
std::string format_property(const std::string & key, const Json & value) {
    std::string out = key + ":{";
    bool add_comma = false;
    auto comma = [&] {
        if (add_comma) out += ',';
        add_comma = true;
    };
    const Json * desc = json_get(value, "description");
    if (desc && py_truthy(*desc)) {
        out += "description:" + kQ + py_str(*desc) + kQ;
        add_comma = true;
    }
    std::string type = upper_of(json_get(value, "type"));
    if (type == "STRING") {
        const Json * en = json_get(value, "enum");
        if (en && py_truthy(*en)) {
            comma();
            out += "enum:" + format_argument(*en, true);
        }
    } else if (type == "ARRAY") {
        const Json * items = json_get(value, "items");
        if (items && items->is_object() && !items->empty()) {
            comma();
            out += format_items(*items);
        }
    }
    const Json * nullable = json_get(value, "nullable");
    if (nullable && py_truthy(*nullable)) {
        comma();
        out += "nullable:true";
    }
    if (type == "OBJECT") {
        const Json * props = json_get(value, "properties");
        comma();
        if (props && props->is_object()) {
            out += "properties:{" + format_parameters(*props, false) + "}";
        } else {
            out += "properties:{" + format_parameters(value, true) + "}";
        }
        const Json * req = json_get(value, "required");
        if (req && py_truthy(*req)) {
            comma();
            out += "required:" + string_list(*req, "required");
        }
    }
    comma();
    out += "type:" + kQ + type + kQ + "}";
    return out;
}

// The template's format_parameters: properties dictsorted; with filter_keys the standard schema
// keys are skipped (used when an OBJECT property has no `properties` of its own).
std::string format_parameters(const Json & properties, bool filter_keys) {
    static const char * kStandard[] = {"description", "type", "properties", "required", "nullable"};
    std::string out;
    bool first = true;
    for (const auto & [key, value] : py_dictsort(properties)) {
        if (filter_keys) {
            bool standard = false;
            for (const char * s : kStandard) standard = standard || *key == s;
            if (standard) continue;
        }
        if (!first) out += ',';
        first = false;
        out += format_property(*key, *value);
    }
    return out;
}

std::string format_declaration(const ToolDeclaration & tool) {
    std::string out = "declaration:" + tool.name + "{description:" + kQ + tool.description + kQ;
    const Json & params = tool.parameters;
    if (py_truthy(params)) {
        if (!params.is_object()) {
            throw DeclarationError("tool '" + tool.name + "': parameters must be a JSON object");
        }
        out += ",parameters:{";
        const Json * props = json_get(params, "properties");
        if (props && py_truthy(*props)) {
            if (!props->is_object()) {
                throw DeclarationError("tool '" + tool.name +
                                       "': parameters.properties must be a JSON object");
            }
            out += "properties:{" + format_parameters(*props, false) + "},";
        }
        const Json * req = json_get(params, "required");
        if (req && py_truthy(*req)) out += "required:" + string_list(*req, "required") + ",";
        const Json * type = json_get(params, "type");
        if (type && py_truthy(*type)) out += "type:" + kQ + upper_of(type) + kQ + "}";
    }
    if (tool.has_response) {
        out += ",response:{";
        const Json * desc = json_get(tool.response, "description");
        if (desc && py_truthy(*desc)) out += "description:" + kQ + py_str(*desc) + kQ + ",";
        if (upper_of(json_get(tool.response, "type")) == "OBJECT")
            out += "type:" + kQ + "OBJECT" + kQ + "}";
    }
    return out + "}";
}

}  // namespace

Result<std::string> chat_render_tool_declaration(const ToolDeclaration & tool) {
    try {
        return py_trim(format_declaration(tool));
    } catch (const DeclarationError & e) {
        return make_error(ErrorCode::invalid_argument,
                          std::string("chat_template: ") + e.what() +
                              ". Fix the tool declaration in the request.");
    }
}

}  // namespace gemma::chat
