#pragma once
// Enqueueing durable jobs. Enqueue inside the transaction of the business change (payment recorded
// -> receipt email queued) so the job exists if and only if the change committed.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "db/pool.hpp"

namespace flashbill::jobs {

struct NewJob {
    std::string kind;          // e.g. "mail.send"; handlers are registered per kind
    std::string payload_json;  // a JSON object, stored as jsonb
    std::optional<std::string> org_id;
    std::chrono::seconds delay{0};
    int max_attempts = 10;
};

// Inserts the job in the caller's transaction; returns its id.
// (Coroutine parameters are taken by value: GCC 12 destroys a temporary bound to a const&
// coroutine parameter twice.)
boost::asio::awaitable<Result<std::string>> enqueue(db::Transaction& tx, NewJob job);
// Inserts the job on its own (one statement, committed at once).
boost::asio::awaitable<Result<std::string>> enqueue(db::Pool& pool, NewJob job);

}  // namespace flashbill::jobs
