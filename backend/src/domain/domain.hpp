#pragma once
// Every billing-domain route (API.md §3–§9), registered by the composition root.
#include "http/router.hpp"

namespace flashbill::domain {
void add_routes(http::Router& router);
}  // namespace flashbill::domain
