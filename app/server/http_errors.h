// The server's one mapping from failures to HTTP: status codes plus OpenAI- or Anthropic-style
// JSON error bodies. Every route reports problems as an ApiError; nothing else writes error bodies.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/status.h"

namespace gemdesk::server {

struct ApiError {
    int status = 400;
    std::string type = "invalid_request_error";  // OpenAI error.type
    std::string message;                         // what was wrong and what to do
    std::string param;                           // offending field, "" if none
    std::string code;                            // machine-readable code, "" if none
};

ApiError bad_request(std::string message, std::string param = "");
ApiError unprocessable(std::string message, std::string param = "");
ApiError unauthorized(std::string message);
ApiError not_found_error(std::string message, std::string code = "not_found");
ApiError too_many_requests(std::string message);
ApiError unavailable(std::string message);

// invalid_argument → 400, context_full → 400 (context_length_exceeded), unsupported → 422,
// not_found → 404, out_of_memory → 503, cancelled → 499, everything else → 500.
ApiError api_error_from(const gemma::Error & error);

// A value or the ApiError that explains why there is none (like gemma::Result, for HTTP).
template <class T>
class [[nodiscard]] ApiResult {
public:
    ApiResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    ApiResult(ApiError error) : v_(std::in_place_index<1>, std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    T & value() { return std::get<0>(v_); }
    const T & value() const { return std::get<0>(v_); }
    const ApiError & error() const { return std::get<1>(v_); }

private:
    std::variant<T, ApiError> v_;
};

std::string openai_error_body(const ApiError & error);
std::string anthropic_error_body(const ApiError & error);

}  // namespace gemdesk::server
