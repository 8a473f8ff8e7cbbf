#pragma once
// The reports' SQL (API.md §9). Every figure is an aggregate computed by PostgreSQL over integer
// minor units, filtered on the caller's org and on the org currency. Each report is one batch:
// one round trip, one implicit transaction.

#include <boost/asio/awaitable.hpp>

#include "core/error.hpp"
#include "domain/reports/model.hpp"

namespace flashbill::domain::reports::repository {

boost::asio::awaitable<Result<Overview>> overview(Scope scope);
boost::asio::awaitable<Result<Income>> income(Scope scope);
boost::asio::awaitable<Result<Expenses>> expenses(Scope scope);
boost::asio::awaitable<Result<Tax>> tax(Scope scope);
boost::asio::awaitable<Result<Aging>> aging(Scope scope);

}  // namespace flashbill::domain::reports::repository
