#pragma once
#include "http/router.hpp"

namespace flashbill::domain::payments {
// Registers /api/v1/payments routes and /invoices/{id}/payments (alias /pay).
void add_routes(http::Router& router);
}  // namespace flashbill::domain::payments
