#include "core/error.hpp"

namespace flashbill {

std::string_view error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kValidation: return "VALIDATION_ERROR";
        case ErrorCode::kBadRequest: return "BAD_REQUEST";
        case ErrorCode::kUnauthorized: return "UNAUTHORIZED";
        case ErrorCode::kInvalidCredentials: return "INVALID_CREDENTIALS";
        case ErrorCode::kForbidden: return "FORBIDDEN";
        case ErrorCode::kNotFound: return "NOT_FOUND";
        case ErrorCode::kMethodNotAllowed: return "METHOD_NOT_ALLOWED";
        case ErrorCode::kConflict: return "CONFLICT";
        case ErrorCode::kPayloadTooLarge: return "PAYLOAD_TOO_LARGE";
        case ErrorCode::kUnsupportedMediaType: return "UNSUPPORTED_MEDIA_TYPE";
        case ErrorCode::kRateLimited: return "RATE_LIMITED";
        case ErrorCode::kInternal: return "INTERNAL_ERROR";
        case ErrorCode::kUnavailable: return "UNAVAILABLE";
    }
    return "INTERNAL_ERROR";
}

int error_http_status(ErrorCode code) {
    switch (code) {
        case ErrorCode::kValidation: return 400;
        case ErrorCode::kBadRequest: return 400;
        case ErrorCode::kUnauthorized: return 401;
        case ErrorCode::kInvalidCredentials: return 401;
        case ErrorCode::kForbidden: return 403;
        case ErrorCode::kNotFound: return 404;
        case ErrorCode::kMethodNotAllowed: return 405;
        case ErrorCode::kConflict: return 409;
        case ErrorCode::kPayloadTooLarge: return 413;
        case ErrorCode::kUnsupportedMediaType: return 415;
        case ErrorCode::kRateLimited: return 429;
        case ErrorCode::kInternal: return 500;
        case ErrorCode::kUnavailable: return 503;
    }
    return 500;
}

Error Error::validation(std::string field, std::string message) {
    Error e{ErrorCode::kValidation, "validation failed", {}};
    e.details.push_back(FieldError{std::move(field), std::move(message)});
    return e;
}
Error Error::bad_request(std::string message) { return Error{ErrorCode::kBadRequest, std::move(message), {}}; }
Error Error::not_found(std::string message) { return Error{ErrorCode::kNotFound, std::move(message), {}}; }
Error Error::conflict(std::string message) { return Error{ErrorCode::kConflict, std::move(message), {}}; }
Error Error::unavailable(std::string message) { return Error{ErrorCode::kUnavailable, std::move(message), {}}; }
Error Error::internal(std::string message) { return Error{ErrorCode::kInternal, std::move(message), {}}; }

}  // namespace flashbill
