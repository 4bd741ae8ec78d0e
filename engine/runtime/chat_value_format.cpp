// Python/Jinja value semantics for the native chat template renderer (see chat_value_format.h).
#include "runtime/chat_value_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gemma::chat {
namespace {

// Decodes one UTF-8 code point at s[i]; advances i. Invalid bytes decode as themselves (a
// single byte, code point >= 0x110000 marker) so they pass through case mapping untouched.
constexpr uint32_t kInvalid = 0x110000;

uint32_t utf8_next(std::string_view s, size_t & i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    int n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
        ++i;
        return kInvalid;
    }
    uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (int k = 1; k < n; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) {
            ++i;
            return kInvalid;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    i += n;
    return cp;
}

void utf8_append(std::string & out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

// Lower-case partner of an upper-case code point (itself when none).
uint32_t cp_lower(uint32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    if (c == 0x178) return 0xFF;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    return c;
}

// Upper-case partner of a lower-case code point (itself when none). 'ß' is handled by caller.
uint32_t cp_upper(uint32_t c) {
    if (c >= 'a' && c <= 'z') return c - 32;
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) ||
        (c >= 0x430 && c <= 0x44F))
        return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C;
    if (c == 0x3C2) return 0x3A3;
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~1u;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
    return c;
}

template <class Map>
std::string map_case(std::string_view s, Map map) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        uint32_t cp = utf8_next(s, i);
        if (cp == kInvalid) {
            out.append(s.substr(start, i - start));
        } else {
            map(out, cp);
        }
    }
    return out;
}

std::string py_repr_string(const std::string & s) {
    bool has_single = s.find('\'') != std::string::npos;
    bool has_double = s.find('"') != std::string::npos;
    char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        uint32_t cp = utf8_next(s, i);
        char buf[8];
        if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
            out += '\\';
            out += static_cast<char>(cp);
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) {
            std::snprintf(buf, sizeof buf, "\\x%02x", cp);
            out += buf;
        } else {
            out.append(s.substr(start, i - start));
        }
    }
    out += quote;
    return out;
}

std::string py_str_impl(const Json & v, bool repr) {
    switch (v.type()) {
        case Json::value_t::null:
            return "None";
        case Json::value_t::boolean:
            return v.get<bool>() ? "True" : "False";
        case Json::value_t::number_integer:
            return std::to_string(v.get<int64_t>());
        case Json::value_t::number_unsigned:
            return std::to_string(v.get<uint64_t>());
        case Json::value_t::number_float:
            return py_float_repr(v.get<double>());
        case Json::value_t::string:
            return repr ? py_repr_string(v.get_ref<const std::string &>()) : v.get<std::string>();
        case Json::value_t::array: {
            std::string out = "[";
            for (size_t k = 0; k < v.size(); ++k) {
                if (k) out += ", ";
                out += py_str_impl(v[k], true);
            }
            return out + "]";
        }
        case Json::value_t::object: {
            std::string out = "{";
            bool first = true;
            for (const auto & [key, val] : v.items()) {
                if (!first) out += ", ";
                first = false;
                out += py_repr_string(key) + ": " + py_str_impl(val, true);
            }
            return out + "}";
        }
        default:
            return "";
    }
}

}  // namespace

std::string py_trim(std::string_view s) {
    size_t begin = 0;
    while (begin < s.size()) {
        size_t next = begin;
        uint32_t cp = utf8_next(s, next);
        if (!py_isspace(cp)) break;
        begin = next;
    }
    size_t end = s.size();
    while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        size_t probe = start;
        uint32_t cp = utf8_next(s, probe);
        if (probe != end || !py_isspace(cp)) break;
        end = start;
    }
    return std::string(s.substr(begin, end - begin));
}

std::string py_upper(std::string_view s) {
    return map_case(s, [](std::string & out, uint32_t cp) {
        if (cp == 0xDF) {
            out += "SS";
        } else {
            utf8_append(out, cp_upper(cp));
        }
    });
}

std::string py_lower(std::string_view s) {
    return map_case(s, [](std::string & out, uint32_t cp) {
        if (cp == 0x130) {
            out += "i\xCC\x87";  // 'İ'.lower() == 'i' + U+0307
        } else {
            utf8_append(out, cp_lower(cp));
        }
    });
}

std::string py_float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // e.g. "-1.2345e+17": shortest round-trip digits
    std::string sign;
    if (sci[0] == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    size_t e = sci.find('e');
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    int exp10 = std::atoi(sci.c_str() + e + 1);
    int decpt = exp10 + 1;  // value = 0.DIGITS x 10^decpt
    int n = static_cast<int>(digits.size());
    std::string out;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out = "0." + std::string(-decpt, '0') + digits;
        } else if (decpt >= n) {
            out = digits + std::string(decpt - n, '0') + ".0";
        } else {
            out = digits.substr(0, decpt) + "." + digits.substr(decpt);
        }
    } else {
        out = digits.substr(0, 1);
        if (n > 1) out += "." + digits.substr(1);
        int x = decpt - 1;
        std::snprintf(buf, sizeof buf, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
        out += buf;
    }
    return sign + out;
}

std::string py_str(const Json & v) { return py_str_impl(v, false); }
std::string py_repr(const Json & v) { return py_str_impl(v, true); }

bool py_truthy(const Json & v) {
    switch (v.type()) {
        case Json::value_t::null:
            return false;
        case Json::value_t::boolean:
            return v.get<bool>();
        case Json::value_t::number_integer:
            return v.get<int64_t>() != 0;
        case Json::value_t::number_unsigned:
            return v.get<uint64_t>() != 0;
        case Json::value_t::number_float:
            return v.get<double>() != 0.0;
        case Json::value_t::string:
            return !v.get_ref<const std::string &>().empty();
        case Json::value_t::array:
        case Json::value_t::object:
            return !v.empty();
        default:
            return false;
    }
}

const Json * json_get(const Json & v, std::string_view key) {
    if (!v.is_object()) return nullptr;
    auto it = v.find(std::string(key));
    return it == v.end() ? nullptr : &*it;
}

std::vector<std::pair<const std::string *, const Json *>> py_dictsort(const Json & obj) {
    struct Entry {
        std::string sort_key;
        const std::string * key;
        const Json * value;
    };
    std::vector<Entry> entries;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        entries.push_back({py_lower(it.key()), &it.key(), &it.value()});
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry & a, const Entry & b) { return a.sort_key < b.sort_key; });
    std::vector<std::pair<const std::string *, const Json *>> out;
    out.reserve(entries.size());
    for (const auto & e : entries) out.emplace_back(e.key, e.value);
    return out;
}

std::string format_argument(const Json & v, bool escape_keys) {
    static const std::string q = "<|\"|>";
    if (v.is_null()) return "null";
    if (v.is_string()) return q + v.get<std::string>() + q;
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_object()) {
        std::string out = "{";
        bool first = true;
        for (const auto & [key, val] : py_dictsort(v)) {
            if (!first) out += ',';
            first = false;
            out += escape_keys ? q + *key + q : *key;
            out += ':' + format_argument(*val, escape_keys);
        }
        return out + "}";
    }
    if (v.is_array()) {
        std::string out = "[";
        for (size_t k = 0; k < v.size(); ++k) {
            if (k) out += ',';
            out += format_argument(v[k], escape_keys);
        }
        return out + "]";
    }
    return py_str(v);
}

}  // namespace gemma::chat
