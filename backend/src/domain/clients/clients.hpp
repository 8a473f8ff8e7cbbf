#pragma once
// Clients (API.md §3): the business's customers, with live aggregates over their issued invoices.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "domain/common/input.hpp"
#include "domain/common/list.hpp"

namespace flashbill::domain::clients {

// Fields a create or update may set; Patch semantics for PUT (absent keeps, null clears).
struct ClientChanges {
    Patch<std::string> name, email, phone, company_name, notes, currency;
    Patch<std::string> billing_address;  // serialized JSON object
    std::optional<int> payment_terms;
    std::optional<bool> tax_exempt, archived;
};

struct ListFilter {
    std::optional<std::string> search;
    bool archived = false;
};

// Each returns the client (or list) as JSON text in the API shape.
boost::asio::awaitable<Result<std::string>> create(std::string org_id, ClientChanges c);
boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id);
boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, ClientChanges c);
// 409 when the client has invoices (archive instead).
boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id);

struct ListResult {
    std::string json;
    std::int64_t total = 0;
    std::optional<std::string> next_cursor;
};
boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter filter, Page page);
boost::asio::awaitable<Result<std::string>> stats(std::string org_id);

// Parses a create (all required fields) or update body.
Result<ClientChanges> parse_changes(const json::Value& body, bool create);

}  // namespace flashbill::domain::clients
