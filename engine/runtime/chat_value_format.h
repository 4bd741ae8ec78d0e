// Python/Jinja value semantics the Gemma 4 chat template relies on, reproduced in C++ so the native
// renderer is byte-exact: str.strip(), |upper, dictsort, str()/repr() of values (float repr such
// as 1e+20 / 1e-07 / 1.0), truthiness, and the template's own format_argument macro.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/chat_types.h"

namespace gemma::chat {

// Python str.strip(): removes Unicode whitespace (ASCII blanks, U+0085, U+00A0, U+1680,
// U+2000..U+200A, U+2028/9, U+202F, U+205F, U+3000, and U+001C..U+001F) at both ends.
std::string py_trim(std::string_view s);

// Python str.upper() / str.lower(). Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek
// and Cyrillic (incl. 'ß'.upper() == "SS"); other code points are returned unchanged.
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);

// Python repr(float): shortest round-trip digits, exponent form when the decimal exponent is
// < -4 or >= 16 ("1e+20", "1e-07"), and always a ".0" in fixed form ("1.0").
std::string py_float_repr(double v);

// What Jinja's {{ v }} prints: str(v) for the Python value json.loads would give
// (None, True/False, ints, float repr, list/dict repr with single-quoted strings).
std::string py_str(const Json & v);
// Python repr(v) (strings quoted as Python quotes them).
std::string py_repr(const Json & v);

// Jinja/Python truthiness: null, false, 0, 0.0, "", [] and {} are false.
bool py_truthy(const Json & v);

// v[key] when v is an object holding key, else nullptr (Jinja's undefined).
const Json * json_get(const Json & v, std::string_view key);

// Jinja |dictsort: an object's entries sorted by py_lower(key), stable for ties.
std::vector<std::pair<const std::string *, const Json *>> py_dictsort(const Json & obj);

// The template's format_argument(value, escape_keys) macro: strings as <|"|>raw<|"|> (no escaping),
// true/false/null, numbers via Python str(), objects {k:v,...} with dictsorted keys (wrapped in
// <|"|> when escape_keys), arrays [v,...].
std::string format_argument(const Json & v, bool escape_keys);

}  // namespace gemma::chat
