#pragma once
// Tax rates and tax operations (API.md §6). At most one default rate per org (a database
// constraint); making a rate default takes the flag from the previous one in one transaction.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/json.hpp"

namespace flashbill::domain::taxes {

boost::asio::awaitable<Result<std::string>> list(std::string org_id);
boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> get_default(std::string org_id);  // object or "null"
boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body);
boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id);

boost::asio::awaitable<Result<std::string>> calculate(std::string org_id, json::Value body);
boost::asio::awaitable<Result<std::string>> summary(std::string org_id, json::Value body);
// US EIN: 9 digits with or without the dash, normalised to NN-NNNNNNN.
Result<std::string> validate(const json::Value& body);

}  // namespace flashbill::domain::taxes
