// A small JSON Schema validator for the constraint tests, written from the 2020-12 validation spec
// independently of the grammar compiler, for the keywords the grammar supports (plus draft-4
// exclusive flags). validate() returns the first violation as text, "" when valid.
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace constraint_test {

using Json = nlohmann::ordered_json;

inline bool has_type(const Json & v, const std::string & t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "number") return v.is_number();
    if (t == "integer")
        return v.is_number_integer() ||
               (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>());
    return false;
}

inline long code_points(const std::string & s) {
    long n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// JSON equality with numbers compared by value (1 == 1.0), as the spec requires for enum/const.
inline bool json_equal(const Json & a, const Json & b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return a == b;
}

inline std::string validate(const Json & schema, const Json & v, const std::string & path = "$") {
    if (schema.is_boolean()) return schema.get<bool>() ? "" : path + ": schema false";
    if (schema.contains("type")) {
        const Json & t = schema["type"];
        bool ok = false;
        if (t.is_string()) ok = has_type(v, t.get<std::string>());
        if (t.is_array())
            for (const Json & x : t) ok = ok || has_type(v, x.get<std::string>());
        if (schema.value("nullable", false)) ok = ok || v.is_null();
        if (!ok) return path + ": wrong type for " + v.dump();
    }
    if (schema.contains("const") && !json_equal(schema["const"], v))
        return path + ": not the const";
    if (schema.contains("enum")) {
        bool found = false;
        for (const Json & e : schema["enum"]) found = found || json_equal(e, v);
        if (!found) return path + ": " + v.dump() + " not in enum";
    }
    for (const char * key : {"anyOf", "oneOf"}) {
        if (!schema.contains(key)) continue;
        int matches = 0;
        for (const Json & s : schema[key]) matches += validate(s, v, path).empty();
        if (matches == 0 || (std::string(key) == "oneOf" && matches > 1))
            return path + ": " + key + " matched " + std::to_string(matches) + " branches";
    }
    if (v.is_number()) {
        const double x = v.get<double>();
        auto num = [&](const char * k) { return schema[k].get<double>(); };
        bool draft4_xmin = schema.value("exclusiveMinimum", Json()).is_boolean() &&
                           schema["exclusiveMinimum"].get<bool>();
        bool draft4_xmax = schema.value("exclusiveMaximum", Json()).is_boolean() &&
                           schema["exclusiveMaximum"].get<bool>();
        if (schema.contains("minimum") &&
            (x < num("minimum") || (draft4_xmin && x == num("minimum"))))
            return path + ": below minimum";
        if (schema.contains("maximum") &&
            (x > num("maximum") || (draft4_xmax && x == num("maximum"))))
            return path + ": above maximum";
        if (schema.contains("exclusiveMinimum") && schema["exclusiveMinimum"].is_number() &&
            x <= num("exclusiveMinimum"))
            return path + ": not above exclusiveMinimum";
        if (schema.contains("exclusiveMaximum") && schema["exclusiveMaximum"].is_number() &&
            x >= num("exclusiveMaximum"))
            return path + ": not below exclusiveMaximum";
    }
    if (v.is_string()) {
        long n = code_points(v.get<std::string>());
        if (schema.contains("minLength") && n < schema["minLength"].get<long>())
            return path + ": too short";
        if (schema.contains("maxLength") && n > schema["maxLength"].get<long>())
            return path + ": too long";
    }
    if (v.is_array()) {
        long n = long(v.size());
        if (schema.contains("minItems") && n < schema["minItems"].get<long>())
            return path + ": too few items";
        if (schema.contains("maxItems") && n > schema["maxItems"].get<long>())
            return path + ": too many items";
        if (schema.contains("items"))
            for (size_t i = 0; i < v.size(); ++i) {
                std::string e =
                    validate(schema["items"], v[i], path + "[" + std::to_string(i) + "]");
                if (!e.empty()) return e;
            }
    }
    if (v.is_object()) {
        if (schema.contains("required"))
            for (const Json & r : schema["required"])
                if (!v.contains(r.get<std::string>()))
                    return path + ": missing " + r.get<std::string>();
        const Json props = schema.value("properties", Json::object());
        for (const auto & [k, x] : v.items()) {
            std::string e;
            if (props.contains(k))
                e = validate(props[k], x, path + "." + k);
            else if (schema.contains("additionalProperties"))
                e = validate(schema["additionalProperties"], x, path + "." + k);
            if (!e.empty()) return e;
        }
    }
    return "";
}

}  // namespace constraint_test
