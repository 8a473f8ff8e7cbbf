#pragma once
#include "http/router.hpp"

namespace flashbill::domain::settings {
// Registers /api/v1/settings/{business,notifications,invoice,tax…} and /api/v1/tax/* routes.
void add_routes(http::Router& router);
}  // namespace flashbill::domain::settings
