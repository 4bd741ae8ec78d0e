// Typed, non-throwing reads of optional keys from nlohmann::json objects, shared by the config
// parsers (model config sections, processor_config.json). Header-only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "core/status.h"

namespace gemma::io {

// Reads obj[key] into `out` when present and not null; leaves `out` alone otherwise. The first
// type mismatch is recorded in `err` as "<where><key> has the wrong type (<value>)", and later
// calls do nothing once `err` is set, so a parser can read every key and check `err` once.
template <class T>
void json_read_key(const nlohmann::json & obj, const char * key, T & out, std::string & err,
                   const char * where = "") {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null() || !err.empty()) return;
    bool ok = std::is_same_v<T, bool> ? it->is_boolean()
              : std::is_integral_v<T> ? it->is_number_integer()
                                      : it->is_number();
    if (!ok) {
        err = format("%s%s has the wrong type (%s)", where, key, it->dump().c_str());
        return;
    }
    out = it->get<T>();
}

}  // namespace gemma::io
