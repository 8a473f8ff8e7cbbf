#pragma once
// Expenses (API.md §7): what the business spent, optionally with a receipt file, and the totals
// over them.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/money.hpp"
#include "domain/common/input.hpp"
#include "domain/common/list.hpp"
#include "domain/files/files.hpp"

namespace flashbill::domain::expenses {

inline const std::vector<std::string_view> kCategories = {"supplies", "office_supplies", "travel",    "equipment",
                                                          "software", "marketing",       "utilities", "other"};

// Fields a create or update may set; Patch semantics for PUT (absent keeps, null clears).
struct ExpenseChanges {
    std::optional<std::int64_t> amount;  // minor units of the effective currency
    std::optional<std::string> currency;
    std::optional<std::string> category;
    std::optional<std::string> date_incurred;  // YYYY-MM-DD
    std::optional<bool> tax_deductible;
    Patch<std::string> vendor, description, notes;
};

// Parses a create (amount, category and date_incurred required) or update body. Amounts are read in
// the body's `currency` when it is valid, else in `fallback` (the org's on create, the stored one
// on update).
Result<ExpenseChanges> parse_changes(const json::Value& body, bool create, Currency fallback);

struct ListFilter {
    std::optional<std::string> category;
    std::optional<std::string> date_from, date_to;  // inclusive, on date_incurred
    std::optional<bool> tax_deductible;
    std::optional<std::string> search;  // vendor or description, case-insensitive substring
};
// Validates the query parameters, every offending one in the error.
Result<ListFilter> parse_filter(std::optional<std::string> category, std::optional<std::string> date_from,
                                std::optional<std::string> date_to, std::optional<std::string> tax_deductible,
                                std::optional<std::string> search);

// Each returns the expense (or list) as JSON text in the API shape.
boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body);
boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id);

struct ListResult {
    std::string json;
    std::int64_t total = 0;
    std::optional<std::string> next_cursor;
};
boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter filter, Page page);

// {total_expenses, count, tax_deductible, by_category, monthly_average, currency} over the expenses
// in the org's currency (others are not converted, so they are left out of every figure).
// monthly_average = the sum of this calendar year's expenses (date_incurred from 1 January through
// today, in the org's time zone) divided by the number of months from January through the current
// month, in minor units rounded half-up.
boost::asio::awaitable<Result<std::string>> stats(std::string org_id);
// The rounding of monthly_average, exposed for unit tests: round-half-up of total / months.
std::int64_t monthly_average(std::int64_t year_total, int months);

// Stores the uploaded receipt and points the expense at it (in one transaction; the bytes are
// removed when it fails). Returns the expense.
boost::asio::awaitable<Result<std::string>> attach_receipt(std::string org_id, std::string id, files::Part part);
// The expense's receipt file for download; NOT_FOUND when the expense or its receipt is missing.
boost::asio::awaitable<Result<files::Download>> receipt(std::string org_id, std::string id);

}  // namespace flashbill::domain::expenses
