// Checked access to request JSON: parse a body (bounded nesting), read typed optional fields and
// remember the first problem as an ApiError naming the field. nlohmann::json never throws here.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_errors.h"

namespace gemdesk::server {

inline constexpr int kMaxJsonDepth = 64;

// The body as a JSON object; 400 for invalid JSON, a non-object or nesting deeper than
// kMaxJsonDepth (deep nesting would otherwise exhaust the stack in recursive consumers).
ApiResult<nlohmann::json> parse_json_object(std::string_view body);

// Reads fields of one JSON object. Each getter returns the fallback when the field is absent or
// null, and records the first type/range error (see error()). `prefix` names the object in
// messages, e.g. "messages[2]." .
class FieldReader {
public:
    FieldReader(const nlohmann::json & obj, std::string prefix = "")
        : obj_(obj), prefix_(std::move(prefix)) {}

    const nlohmann::json * find(const std::string & key) const;  // nullptr if absent or null
    bool get_bool(const std::string & key, bool fallback);
    double get_number(const std::string & key, double fallback, double min, double max);
    long long get_int(const std::string & key, long long fallback, long long min, long long max);
    std::string get_string(const std::string & key, const std::string & fallback = "");
    std::string require_string(const std::string & key);
    // A string or an array of strings (e.g. "stop"); at most max_items, none empty.
    std::vector<std::string> get_string_list(const std::string & key, size_t max_items);

    void fail(ApiError error);
    void fail(const std::string & key, const std::string & what);  // 400 naming prefix+key
    bool ok() const { return !error_.has_value(); }
    const std::optional<ApiError> & error() const { return error_; }
    const std::string & prefix() const { return prefix_; }

private:
    const nlohmann::json & obj_;
    std::string prefix_;
    std::optional<ApiError> error_;
};

// Normalizes OpenAI function tools: [{"type":"function","function":{name, description?,
// parameters?}}]; parameters default to {"type":"object","properties":{}} and get
// "type":"object" when it is missing. Names must match [A-Za-z0-9_.-]{1,64} and be unique.
ApiResult<nlohmann::json> normalize_openai_tools(const nlohmann::json & tools);

bool is_valid_tool_name(const std::string & name);

}  // namespace gemdesk::server
