#pragma once
// Registration of the /api/v1/auth/* and /api/v1/org* routes (API.md §2).

#include "config/config.hpp"
#include "http/router.hpp"

namespace flashbill::auth {

// Registers every auth and team route; auth::configure() must have run.
void add_routes(http::Router& router, const config::Config& config);

}  // namespace flashbill::auth
