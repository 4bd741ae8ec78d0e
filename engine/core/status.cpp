// Error names, assertion failure and printf-style formatting for the engine.
#include "core/status.h"

#include <cstdarg>
#include <vector>

namespace gemma {

const char * error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::corrupt_file: return "corrupt_file";
        case ErrorCode::unsupported: return "unsupported";
        case ErrorCode::out_of_memory: return "out_of_memory";
        case ErrorCode::device_error: return "device_error";
        case ErrorCode::context_full: return "context_full";
        case ErrorCode::cancelled: return "cancelled";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

void assert_fail(const char * file, int line, const char * cond, const std::string & msg) {
    std::fprintf(stderr, "GEMMA_ASSERT failed at %s:%d: %s %s\n", file, line, cond, msg.c_str());
    std::abort();
}

std::string format(const char * fmt, ...) {
    va_list args;
    va_start(args, fmt);
    va_list copy;
    va_copy(copy, args);
    int n = std::vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string out;
    if (n > 0) {
        std::vector<char> buf(size_t(n) + 1);
        std::vsnprintf(buf.data(), buf.size(), fmt, args);
        out.assign(buf.data(), size_t(n));
    }
    va_end(args);
    return out;
}

}  // namespace gemma
