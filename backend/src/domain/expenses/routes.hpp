#pragma once
#include <cstddef>

#include "http/router.hpp"

namespace flashbill::domain::expenses {
// Registers /api/v1/expenses routes; receipts accept files up to `max_upload_bytes` (413 above).
void add_routes(http::Router& router, std::size_t max_upload_bytes);
}  // namespace flashbill::domain::expenses
