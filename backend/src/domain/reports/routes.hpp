#pragma once
#include "http/router.hpp"

namespace flashbill::domain::reports {
// Registers /api/v1/reports routes and the /dashboard/overview alias.
void add_routes(http::Router& router);
}  // namespace flashbill::domain::reports
