#pragma once
// Route registration for the operations endpoints (API.md §13) and the diagnostics used by tests.

#include "config/config.hpp"
#include "http/router.hpp"

namespace flashbill::app {

void add_ops_routes(http::Router& router, const config::Config& config);

// Rate-limit groups of API.md §1: auth routes and public routes per client IP, the rest of the
// API per user (per IP until authentication exists on the route).
enum class RateGroup { kAuth, kPublic, kApi };

// Wraps a handler with the shared rate limiter: every answer carries RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset; past the limit the answer is 429 RATE_LIMITED with
// Retry-After, and the handler does not run.
http::Handler rate_limited(RateGroup group, const config::Config& config, http::Handler inner);

// /__test/* routes, registered only when TEST_ROUTES is on (refused in production).
void add_test_routes(http::Router& router, const config::Config& config);

// docs/openapi.yaml converted to JSON (computed once).
const std::string& openapi_json();

}  // namespace flashbill::app
