#pragma once
#include "http/router.hpp"

namespace flashbill::domain::invoices {
// Registers /api/v1/invoices routes (and /clients/{id}/invoices).
void add_routes(http::Router& router);
}  // namespace flashbill::domain::invoices
