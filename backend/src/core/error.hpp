#pragma once
// Expected outcomes as values: Error{code, message, details} and Result<T>.
// Exceptions are reserved for bugs and startup failures (DESIGN.md, "Errors").

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace flashbill {

enum class ErrorCode {
    kValidation,
    kBadRequest,
    kUnauthorized,
    kInvalidCredentials,
    kForbidden,
    kNotFound,
    kMethodNotAllowed,
    kConflict,
    kPayloadTooLarge,
    kUnsupportedMediaType,
    kRateLimited,
    kInternal,
    kUnavailable,
};

// The wire name of a code, e.g. "VALIDATION_ERROR".
std::string_view error_code_name(ErrorCode code);
// The HTTP status a code maps to (API.md §1).
int error_http_status(ErrorCode code);

struct FieldError {
    std::string field;
    std::string message;
};

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    std::vector<FieldError> details;
    // Internal diagnostic (e.g. "23505:clients_email_key" from PostgreSQL); logged, never sent.
    std::string cause;

    static Error validation(std::string field, std::string message);
    static Error bad_request(std::string message);
    static Error not_found(std::string message = "resource not found");
    static Error conflict(std::string message);
    static Error unavailable(std::string message = "service temporarily unavailable");
    static Error internal(std::string message = "internal error");
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const& { return error_; }
    Error&& error() && { return std::move(error_); }

private:
    Error error_;
    bool ok_ = true;
};

}  // namespace flashbill
