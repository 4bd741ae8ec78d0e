// Log sink storage, guarded by a mutex.
#include "core/log.h"

#include <cstdio>
#include <mutex>

namespace gemma {
namespace {
std::mutex g_log_mutex;
LogSink g_log_sink;                      // guarded by g_log_mutex
LogLevel g_log_level = LogLevel::warn;   // guarded by g_log_mutex
const char * level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warning";
        case LogLevel::error: return "error";
    }
    return "?";
}
}  // namespace

void log_set_sink(LogSink sink) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_sink = std::move(sink);
}

void log_set_level(LogLevel min_level) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_log_level = min_level;
}

void log_message(LogLevel level, const std::string & message) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    if (level < g_log_level) return;
    if (g_log_sink) {
        g_log_sink(level, message);
    } else {
        std::fprintf(stderr, "gemdesk %s: %s\n", level_name(level), message.c_str());
    }
}

}  // namespace gemma
