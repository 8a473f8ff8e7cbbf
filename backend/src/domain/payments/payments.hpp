#pragma once
// Payments and refunds (API.md §5): recorded in one transaction with the invoice row locked, so
// concurrent payments can never together overpay and refunds never exceed what was paid.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/json.hpp"
#include "domain/common/list.hpp"

namespace flashbill::domain::payments {

// Normalises a method name: case-insensitive, and the mobile client's spellings (PayPal,
// BankTransfer, AchDebit); nullopt when unknown.
std::optional<std::string> normalize_method(std::string_view raw);

// POST /payments (invoice_id in the body) and POST /invoices/{id}/payments (invoice_id given).
boost::asio::awaitable<Result<std::string>> record(std::string org_id, std::optional<std::string> invoice_id,
                                                   json::Value body);
boost::asio::awaitable<Result<std::string>> refund(std::string org_id, std::string payment_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id);

struct ListFilter {
    std::optional<std::string> status, payment_method, invoice_id, date_from, date_to;
};
struct ListResult {
    std::string json;
    std::int64_t total = 0;
    std::optional<std::string> next_cursor;
};
boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter filter, Page page);
boost::asio::awaitable<Result<std::string>> stats(std::string org_id);

}  // namespace flashbill::domain::payments
