#pragma once
// Route registration for the operations endpoints (API.md §13) and the diagnostics used by tests.

#include "config/config.hpp"
#include "http/router.hpp"

namespace flashbill::app {

void add_ops_routes(http::Router& router, const config::Config& config);

// /__test/* routes, registered only when TEST_ROUTES is on (refused in production).
void add_test_routes(http::Router& router, const config::Config& config);

// docs/openapi.yaml converted to JSON (computed once).
const std::string& openapi_json();

}  // namespace flashbill::app
