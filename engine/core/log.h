// The engine's log sink: the app sets it; the default writes warnings and errors to stderr.
// Thread-safe.
#pragma once

#include <functional>
#include <string>

namespace gemma {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

using LogSink = std::function<void(LogLevel, const std::string &)>;

void log_set_sink(LogSink sink);
void log_set_level(LogLevel min_level);
void log_message(LogLevel level, const std::string & message);

}  // namespace gemma

#define GEMMA_LOG_DEBUG(...) ::gemma::log_message(::gemma::LogLevel::debug, ::gemma::format(__VA_ARGS__))
#define GEMMA_LOG_INFO(...) ::gemma::log_message(::gemma::LogLevel::info, ::gemma::format(__VA_ARGS__))
#define GEMMA_LOG_WARN(...) ::gemma::log_message(::gemma::LogLevel::warn, ::gemma::format(__VA_ARGS__))
#define GEMMA_LOG_ERROR(...) ::gemma::log_message(::gemma::LogLevel::error, ::gemma::format(__VA_ARGS__))
