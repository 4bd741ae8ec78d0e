// FieldReader, bounded JSON parsing and tool normalization shared by the OpenAI and Anthropic
// request parsers.
#include "server/request_fields.h"

#include <cmath>
#include <set>

namespace gemdesk::server {

namespace {

// Deepest bracket nesting outside strings; stops counting once past `limit`.
int json_depth(std::string_view text, int limit) {
    int depth = 0, max_depth = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == '{' || c == '[') {
            max_depth = std::max(max_depth, ++depth);
            if (max_depth > limit) return max_depth;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return max_depth;
}

std::string json_type_name(const nlohmann::json & v) { return v.type_name(); }

}  // namespace

ApiResult<nlohmann::json> parse_json_object(std::string_view body) {
    if (body.empty()) return bad_request("the request body is empty; send a JSON object");
    if (json_depth(body, kMaxJsonDepth) > kMaxJsonDepth)
        return bad_request("the request JSON is nested more than 64 levels deep");
    nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded())
        return bad_request("the request body is not valid JSON; check quoting and commas");
    if (!j.is_object())
        return bad_request("the request body must be a JSON object, got " + json_type_name(j));
    return j;
}

const nlohmann::json * FieldReader::find(const std::string & key) const {
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
}

void FieldReader::fail(ApiError error) {
    if (!error_) error_ = std::move(error);
}

void FieldReader::fail(const std::string & key, const std::string & what) {
    fail(bad_request("'" + prefix_ + key + "' " + what, prefix_ + key));
}

bool FieldReader::get_bool(const std::string & key, bool fallback) {
    const nlohmann::json * v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) {
        fail(key, "must be true or false, got " + json_type_name(*v));
        return fallback;
    }
    return v->get<bool>();
}

double FieldReader::get_number(const std::string & key, double fallback, double min, double max) {
    const nlohmann::json * v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) {
        fail(key, "must be a number, got " + json_type_name(*v));
        return fallback;
    }
    double d = v->get<double>();
    if (!std::isfinite(d) || d < min || d > max) {
        fail(key, gemma::format("must be between %g and %g, got %g", min, max, d));
        return fallback;
    }
    return d;
}

long long FieldReader::get_int(const std::string & key, long long fallback, long long min,
                               long long max) {
    const nlohmann::json * v = find(key);
    if (!v) return fallback;
    if (!v->is_number_integer()) {
        fail(key, "must be an integer, got " + json_type_name(*v));
        return fallback;
    }
    long long i = v->is_number_unsigned() && v->get<unsigned long long>() > (unsigned long long)max
                      ? max + 1
                      : v->get<long long>();
    if (i < min || i > max) {
        fail(key, gemma::format("must be between %lld and %lld", min, max));
        return fallback;
    }
    return i;
}

std::string FieldReader::get_string(const std::string & key, const std::string & fallback) {
    const nlohmann::json * v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) {
        fail(key, "must be a string, got " + json_type_name(*v));
        return fallback;
    }
    return v->get<std::string>();
}

std::string FieldReader::require_string(const std::string & key) {
    if (!find(key)) {
        fail(key, "is required");
        return "";
    }
    return get_string(key);
}

std::vector<std::string> FieldReader::get_string_list(const std::string & key, size_t max_items) {
    std::vector<std::string> out;
    const nlohmann::json * v = find(key);
    if (!v) return out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        for (const auto & item : *v) {
            if (!item.is_string()) {
                fail(key, "must be a string or an array of strings");
                return {};
            }
            out.push_back(item.get<std::string>());
        }
    } else {
        fail(key, "must be a string or an array of strings, got " + json_type_name(*v));
        return out;
    }
    if (out.size() > max_items) fail(key, gemma::format("may hold at most %zu strings", max_items));
    for (const auto & s : out)
        if (s.empty()) fail(key, "must not contain empty strings");
    if (!ok()) out.clear();
    return out;
}

bool is_valid_tool_name(const std::string & name) {
    if (name.empty() || name.size() > 64) return false;
    for (unsigned char c : name)
        if (!std::isalnum(c) && c != '_' && c != '-' && c != '.') return false;
    return true;
}

ApiResult<nlohmann::json> normalize_openai_tools(const nlohmann::json & tools) {
    if (!tools.is_array())
        return bad_request("'tools' must be an array of function tools", "tools");
    nlohmann::json out = nlohmann::json::array();
    std::set<std::string> names;
    for (size_t i = 0; i < tools.size(); ++i) {
        std::string where = gemma::format("tools[%zu]", i);
        const nlohmann::json & t = tools[i];
        FieldReader r(t, where + ".");
        if (!t.is_object()) return bad_request("'" + where + "' must be an object", where);
        std::string type = r.get_string("type", "function");
        if (r.ok() && type != "function")
            return bad_request("'" + where + ".type' must be \"function\", got \"" + type + "\"",
                               where + ".type");
        const nlohmann::json * fn = r.find("function");
        if (!fn || !fn->is_object())
            return bad_request("'" + where + ".function' must be an object with a name",
                               where + ".function");
        FieldReader f(*fn, where + ".function.");
        std::string name = f.require_string("name");
        std::string description = f.get_string("description");
        if (!f.ok()) return *f.error();
        if (!r.ok()) return *r.error();
        if (!is_valid_tool_name(name))
            return bad_request(
                "'" + where +
                    ".function.name' must be 1-64 characters of A-Z a-z 0-9 _ . -, got \"" + name +
                    "\"",
                where + ".function.name");
        if (!names.insert(name).second)
            return bad_request("tool name \"" + name + "\" is declared twice",
                               where + ".function.name");
        nlohmann::json params = {{"type", "object"}, {"properties", nlohmann::json::object()}};
        if (const nlohmann::json * p = f.find("parameters")) {
            if (!p->is_object())
                return bad_request(
                    "'" + where + ".function.parameters' must be a JSON Schema object",
                    where + ".function.parameters");
            params = *p;
            if (!params.contains("type")) params["type"] = "object";
        }
        nlohmann::json fn_out = {{"name", name}, {"parameters", params}};
        if (!description.empty()) fn_out["description"] = description;
        out.push_back({{"type", "function"}, {"function", fn_out}});
    }
    return out;
}

}  // namespace gemdesk::server
