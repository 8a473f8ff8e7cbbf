#pragma once
// Org settings (API.md §8): business details, notification preferences, invoice defaults. One
// row per org in org_settings (created on first write); the time zone lives on the organization.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/error.hpp"
#include "core/json.hpp"

namespace flashbill::domain::settings {

boost::asio::awaitable<Result<std::string>> get_business(std::string org_id);
boost::asio::awaitable<Result<std::string>> put_business(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get_notifications(std::string org_id);
boost::asio::awaitable<Result<std::string>> put_notifications(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get_invoice(std::string org_id);
boost::asio::awaitable<Result<std::string>> put_invoice(std::string org_id, json::Value body);

}  // namespace flashbill::domain::settings
