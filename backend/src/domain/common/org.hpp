#pragma once
// What every feature needs to know about the caller's organization: its currency and time zone
// (API.md §1: the org's currency from business settings, USD until set; UTC until set) and its
// invoice defaults (§8). Read in one query; features call it inside their own transactions too.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/money.hpp"
#include "db/pool.hpp"

namespace flashbill::domain {

struct OrgDefaults {
    Currency currency = kUsd;
    std::string time_zone = "UTC";
    std::string today;  // YYYY-MM-DD in the org's time zone
    std::string number_prefix = "INV-";
    int default_payment_terms = 30;
    std::optional<std::string> terms;
    std::optional<std::string> notes;
};

boost::asio::awaitable<Result<OrgDefaults>> load_org_defaults(std::string org_id);
boost::asio::awaitable<Result<OrgDefaults>> load_org_defaults(db::Transaction& tx, std::string org_id);

// The currency a stored code names (codes in the database were validated on the way in).
Currency stored_currency(std::string_view code);

// Money as JSON number text with exactly the currency's decimals.
inline std::string money_text(std::int64_t minor, Currency c) { return format_minor_units(minor, c); }

}  // namespace flashbill::domain
