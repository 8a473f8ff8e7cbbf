#pragma once
// Private to db/: one non-blocking libpq connection in pipeline mode, driven by Asio.
//
// Requests are "segments": statements followed by one Sync. Segments queue in order; results come
// back in order. The socket is watched by a reader coroutine; sends are coalesced and flushed
// once per event-loop turn. A connection that fails or misses its deadline is closed and every
// queued segment fails with UNAVAILABLE; it is never resynchronised (DESIGN.md).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/pool.hpp"

typedef struct pg_conn PGconn;

namespace flashbill::db {

using SegmentResult = Result<std::vector<Rows>>;

// Where a finished segment's result is left for the coroutine waiting on it; the timer is the
// wake-up signal (cancelled when the result arrives).
struct Waiter {
    explicit Waiter(boost::asio::io_context& ioc) : signal(ioc, std::chrono::steady_clock::time_point::max()) {}
    std::optional<SegmentResult> result;
    boost::asio::steady_timer signal;
    void deliver(SegmentResult r) {
        result.emplace(std::move(r));
        signal.cancel();
    }
};

class Connection : public std::enable_shared_from_this<Connection> {
public:
    enum class State { kNew, kConnecting, kReady, kBroken };

    Connection(boost::asio::io_context& ioc, const PoolSettings& settings);
    ~Connection();

    // Connects within settings.connect_timeout and enters pipeline mode.
    boost::asio::awaitable<Result<void>> connect();

    // Queues one segment and waits for its results (one Rows per statement) or its first error.
    boost::asio::awaitable<SegmentResult> execute(std::span<const Statement> statements,
                                                  std::chrono::milliseconds timeout);

    // Queues one segment nobody waits for (ROLLBACK of an abandoned transaction).
    void execute_detached(std::string_view sql);

    // Fails every queued segment with `reason` and closes the socket.
    void close(const std::string& reason);

    State state() const { return state_; }
    bool ready() const { return state_ == State::kReady; }
    std::size_t in_flight() const { return pending_.size(); }

    bool exclusive = false;  // held by a Transaction
    bool reserved = false;   // draining so a Transaction can take it; gets no new shared work
    std::function<void()> on_change;  // pool notification: state or load changed
    std::string last_error;

private:
    struct Pending {
        std::size_t count = 0;    // statements in the segment (results expected)
        std::size_t current = 0;  // statement whose results are being read
        bool awaiting_sync = false;
        std::vector<Rows> rows;
        std::optional<Error> error;
        std::string prepare_name;  // set for a prepare-only segment (holds the SQL text)
        std::vector<std::string_view> sqls;  // statement texts, for mapping prepare failures
        std::chrono::steady_clock::time_point deadline;
        std::shared_ptr<struct Waiter> waiter;  // null for segments nobody waits for
    };

    // Queues the statements and a Sync; returns false when libpq refused (connection broken).
    bool send_segment(std::span<const Statement> statements, Pending& p);
    const std::string* ensure_prepared(std::string_view sql, std::size_t nparams);
    void schedule_flush();
    void flush();
    void process_results();
    void complete(Pending& p);
    boost::asio::awaitable<void> reader();
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> watchdog();
    void fail(const std::string& reason);
    void release_socket();
    void arm_watchdog();

    boost::asio::io_context& ioc_;
    const PoolSettings& settings_;
    PGconn* conn_ = nullptr;
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer deadline_timer_;
    boost::asio::steady_timer write_signal_;
    State state_ = State::kNew;
    std::deque<Pending> pending_;
    std::unordered_map<std::string, std::string> prepared_;  // sql -> statement name
    std::unordered_map<std::string, Error> prepare_errors_;  // sql -> why preparing it failed
    bool flush_scheduled_ = false;
    bool want_write_ = false;
    int next_statement_ = 0;
};

}  // namespace flashbill::db
