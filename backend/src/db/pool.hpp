#pragma once
// The per-thread PostgreSQL pool. Each event-loop thread owns one Pool of non-blocking libpq
// connections in pipeline mode: independent requests share connections (each request is its own
// Sync segment, so one request's failure never aborts another's), transactions take a connection
// exclusively. No locks: a Pool is only ever touched from its own thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "db/params.hpp"

namespace flashbill::db {

struct PoolSettings {
    std::string url;
    int size = 4;
    std::chrono::milliseconds statement_timeout{5'000};
    std::chrono::milliseconds connect_timeout{2'000};
    std::string application_name = "flashbill";
};

class Connection;
class Pool;

// A transaction on an exclusively held connection. BEGIN travels with the first statement; a
// Transaction dropped without commit() is rolled back.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    boost::asio::awaitable<Result<Rows>> query(std::string_view sql, Params params = {});
    // Several statements in one round trip.
    boost::asio::awaitable<Result<std::vector<Rows>>> batch(std::vector<Statement> statements);
    boost::asio::awaitable<Result<void>> commit();
    boost::asio::awaitable<void> rollback();

private:
    friend class Pool;
    Transaction(Pool& pool, std::shared_ptr<Connection> conn);
    void release(bool rollback);

    Pool* pool_;
    std::shared_ptr<Connection> conn_;
    bool begun_ = false;
    bool done_ = false;
};

struct PoolStatus {
    int healthy = 0;
    int connecting = 0;
    int exclusive = 0;
    std::string last_error;
};

class Pool {
public:
    Pool(boost::asio::io_context& ioc, PoolSettings settings);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Starts connecting (in the background, with backoff) and keeps `size` connections.
    void start();
    // Closes every connection and stops reconnecting; pending requests fail with UNAVAILABLE.
    boost::asio::awaitable<void> close();

    // One statement in its own Sync segment. `timeout` (0 = the statement timeout plus a margin)
    // bounds the wait; a connection that misses it is discarded.
    boost::asio::awaitable<Result<Rows>> query(std::string_view sql, Params params = {},
                                               std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
    // Several statements in one Sync segment: atomic (one implicit transaction) and one round trip.
    boost::asio::awaitable<Result<std::vector<Rows>>> batch(std::vector<Statement> statements);
    // Begins a transaction on an exclusively held connection.
    boost::asio::awaitable<Result<Transaction>> begin();

    PoolStatus status() const;
    const PoolSettings& settings() const { return settings_; }

    // The pool of the calling event-loop thread (set by the app when the thread starts).
    static Pool& current();
    static void set_current(Pool* pool);

    struct Impl;

private:
    friend class Transaction;
    std::unique_ptr<Impl> impl_;
    PoolSettings settings_;
};

// Maps a SQLSTATE and server message to the API error vocabulary (23505 -> CONFLICT, ...).
Error map_sqlstate(std::string_view sqlstate, std::string_view message, std::string_view constraint);

}  // namespace flashbill::db
