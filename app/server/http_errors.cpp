// ApiError constructors and the OpenAI / Anthropic error body shapes.
#include "server/http_errors.h"

#include <nlohmann/json.hpp>

namespace gemdesk::server {

ApiError bad_request(std::string message, std::string param) {
    return {400, "invalid_request_error", std::move(message), std::move(param), ""};
}
ApiError unprocessable(std::string message, std::string param) {
    return {422, "invalid_request_error", std::move(message), std::move(param), "unprocessable"};
}
ApiError unauthorized(std::string message) {
    return {401, "authentication_error", std::move(message), "", "invalid_api_key"};
}
ApiError not_found_error(std::string message, std::string code) {
    return {404, "not_found_error", std::move(message), "", std::move(code)};
}
ApiError too_many_requests(std::string message) {
    return {429, "rate_limit_error", std::move(message), "", "rate_limit_exceeded"};
}
ApiError unavailable(std::string message) {
    return {503, "service_unavailable", std::move(message), "", "model_not_ready"};
}

ApiError api_error_from(const gemma::Error & error) {
    using gemma::ErrorCode;
    switch (error.code) {
        case ErrorCode::invalid_argument:
        case ErrorCode::corrupt_file:
            return bad_request(error.message);
        case ErrorCode::context_full: {
            ApiError e = bad_request(error.message, "messages");
            e.code = "context_length_exceeded";
            return e;
        }
        case ErrorCode::unsupported:
            return unprocessable(error.message);
        case ErrorCode::not_found:
            return not_found_error(error.message);
        case ErrorCode::out_of_memory:
            return unavailable(error.message);
        case ErrorCode::cancelled:
            return {499, "cancelled", error.message, "", "cancelled"};
        case ErrorCode::device_error:
        case ErrorCode::internal:
            break;
    }
    return {500, "server_error", error.message, "", "internal_error"};
}

std::string openai_error_body(const ApiError & error) {
    nlohmann::json body = {
        {"error",
         {{"message", error.message},
          {"type", error.type},
          {"param", error.param.empty() ? nlohmann::json() : nlohmann::json(error.param)},
          {"code", error.code.empty() ? nlohmann::json() : nlohmann::json(error.code)}}}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Anthropic's error types: invalid_request_error, authentication_error, not_found_error,
// rate_limit_error, api_error, overloaded_error.
std::string anthropic_error_body(const ApiError & error) {
    std::string type = error.type;
    if (error.status == 503) type = "overloaded_error";
    if (error.status >= 500 && error.status != 503) type = "api_error";
    if (error.status == 413) type = "request_too_large";
    nlohmann::json body = {{"type", "error"},
                           {"error", {{"type", type}, {"message", error.message}}}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gemdesk::server
