#pragma once
#include "http/router.hpp"

namespace flashbill::domain::clients {
// Registers /api/v1/clients routes.
void add_routes(http::Router& router);
}  // namespace flashbill::domain::clients
