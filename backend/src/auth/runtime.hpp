#pragma once
// Internal to auth/: the state configure() installs and the helpers guard and routes share.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "auth/service.hpp"
#include "http/context.hpp"
#include "redis/rate_limiter.hpp"

namespace flashbill::auth::detail {

struct Runtime {
    std::unique_ptr<Service> service;
    redis::Rule per_ip;          // RATE_LIMIT_AUTH, per client IP
    redis::Rule api;             // RATE_LIMIT_API, per user
    redis::Rule login_failures;  // RATE_LIMIT_LOGIN_FAILURES, per account
    redis::Rule account;         // RATE_LIMIT_AUTH_ACCOUNT, per account
};

// The configured runtime; throws std::logic_error before configure().
Runtime& runtime();

// RateLimit-* headers of a decision (replacing any set already there).
void add_rate_headers(http::Response& r, const redis::Decision& d);
// 429 RATE_LIMITED with Retry-After (at least `retry_after`, at least one second).
http::Response too_many(const http::RequestContext& ctx, std::chrono::seconds retry_after);
// The error answer; 401s also carry WWW-Authenticate (RFC 6750).
http::Response error_response(const http::RequestContext& ctx, const Error& e);

// The Bearer credential of the request, or empty.
std::string bearer_token(const http::RequestContext& ctx);

}  // namespace flashbill::auth::detail
