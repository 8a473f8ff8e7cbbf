#pragma once
// Invoices (API.md §4): the service over the totals engine, the status machine and per-org
// gap-free numbering. Every function takes the caller's org first; another org's id is 404.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/json.hpp"
#include "domain/common/list.hpp"

namespace flashbill::domain::invoices {

struct ListFilter {
    std::optional<std::string> status;  // draft…cancelled, overdue, unpaid
    std::optional<std::string> client_id;
    std::optional<std::string> date_from, date_to;
    std::optional<std::string> search;
};

struct ListResult {
    std::string json;
    std::int64_t total = 0;
    std::optional<std::string> next_cursor;
};

// Each returns the invoice as API JSON.
boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body);
// The invoice `create` would store, computed by the same engine, not saved (no id, no number).
boost::asio::awaitable<Result<std::string>> preview(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body);
boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id);
boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter filter, Page page);

// draft → sent with the next number of the org's counter for the issue date's year.
boost::asio::awaitable<Result<std::string>> mark_sent(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> cancel(std::string org_id, std::string id, std::optional<std::string> reason);
boost::asio::awaitable<Result<std::string>> duplicate(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> rotate_public_link(std::string org_id, std::string id);

// The invoice's discussion, oldest first: {"messages": [...]}; post adds a seller message.
boost::asio::awaitable<Result<std::string>> discussion(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> post_message(std::string org_id, std::string id, json::Value body);

// Configured once at startup: the base of public_url ({PUBLIC_URL}/i/{token}).
void set_public_url(std::string base);

// Renders one invoice (with items) by id inside the caller's org; used by payments too.
boost::asio::awaitable<Result<std::string>> render(std::string org_id, std::string id);

}  // namespace flashbill::domain::invoices
