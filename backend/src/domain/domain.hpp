#pragma once
// Every billing-domain route (API.md §3–§9), registered by the composition root.
#include "config/config.hpp"
#include "http/router.hpp"

namespace flashbill::domain {
void add_routes(http::Router& router, const config::Config& config);
}  // namespace flashbill::domain
