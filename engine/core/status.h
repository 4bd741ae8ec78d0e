// Error values and Result<T>: how every engine function that can fail for reasons outside the
// code (input, files, memory, devices) reports it. Bugs use GEMMA_ASSERT instead.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace gemma {

enum class ErrorCode {
    invalid_argument,
    not_found,
    corrupt_file,
    unsupported,
    out_of_memory,
    device_error,
    context_full,
    cancelled,
    internal,
};

const char * error_code_name(ErrorCode code);

// message says what went wrong and what to try next.
struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

// A small stand-in for std::expected (C++23), usable from nvcc host code.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T & value() & { return std::get<0>(v_); }
    const T & value() const & { return std::get<0>(v_); }
    T && value() && { return std::get<0>(std::move(v_)); }
    T & operator*() & { return value(); }
    const T & operator*() const & { return value(); }
    T * operator->() { return &value(); }
    const T * operator->() const { return &value(); }
    const Error & error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result<void>: Status.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : ok_(false), error_(std::move(error)) {}
    static Status success() { return Status(); }
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error & error() const { return error_; }

private:
    bool ok_ = true;
    Error error_;
};

[[noreturn]] void assert_fail(const char * file, int line, const char * cond, const std::string & msg);
std::string format(const char * fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace gemma

// Invariants only ("cannot happen"). Never for bad input.
#define GEMMA_ASSERT(cond, ...)                                                         \
    do {                                                                                \
        if (!(cond)) ::gemma::assert_fail(__FILE__, __LINE__, #cond, ::gemma::format(__VA_ARGS__)); \
    } while (0)

#ifdef NDEBUG
#define GEMMA_DASSERT(cond, ...) ((void)0)
#else
#define GEMMA_DASSERT(cond, ...) GEMMA_ASSERT(cond, __VA_ARGS__)
#endif

// Propagate an error from an expression returning Status or Result<T>.
#define GEMMA_TRY(expr)                                      \
    do {                                                     \
        auto gemma_try_r_ = (expr);                          \
        if (!gemma_try_r_.ok()) return gemma_try_r_.error(); \
    } while (0)
