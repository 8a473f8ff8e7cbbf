#pragma once
// Private to redis/: one connection to Redis (TCP or a unix socket) speaking RESP2, pipelined.
//
// Commands queue in order; replies come back in order and are parsed by hiredis's reader. A
// reader coroutine owns the socket's receive side, a writer coroutine sends whatever accumulated
// during an event-loop turn in one write, a watchdog enforces each command's deadline. A link that
// breaks or misses a deadline fails every queued command with UNAVAILABLE and is never reused.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "redis/client.hpp"

struct redisReader;

namespace flashbill::redis::detail {

using Clock = std::chrono::steady_clock;

// Where the reply to a queued command is left for the coroutine waiting on it; the timer is only
// the wake-up signal (cancelled when the result arrives).
struct Waiter {
    explicit Waiter(boost::asio::io_context& ioc) : signal(ioc, Clock::time_point::max()) {}
    std::optional<Result<Reply>> result;
    boost::asio::steady_timer signal;
    void deliver(Result<Reply> r) {
        result.emplace(std::move(r));
        signal.cancel();
    }
};

// What a URL designates.
struct Target {
    bool is_unix = false;
    std::string host;  // TCP host name or address (no brackets)
    unsigned short port = 6379;
    std::string path;  // unix socket path
    std::string user;
    std::string password;
    bool has_password = false;
    int db = 0;
};

Result<Target> parse_target(std::string_view url);

// Appends the RESP encoding of one command (an array of bulk strings) to `out`.
void encode_command(const std::vector<std::string>& args, std::string& out);

class Link : public std::enable_shared_from_this<Link> {
public:
    enum class State { kNew, kConnecting, kReady, kBroken };

    Link(boost::asio::io_context& ioc, const Target& target, const Settings& settings);
    ~Link();
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;

    // Connects, then AUTH/SELECT/PING in one round trip, all within settings.connect_timeout.
    boost::asio::awaitable<Result<void>> connect();

    // Queues one command (answered in order) and waits for its reply or the link's failure.
    boost::asio::awaitable<Result<Reply>> execute(const std::vector<std::string>& args, Clock::time_point deadline);

    // Fails every queued command with UNAVAILABLE(reason) and closes the socket. Idempotent.
    void fail(const std::string& reason);
    // The same, on purpose (the client is closing): not logged as a loss.
    void close(const std::string& reason) {
        closing_ = true;
        fail(reason);
    }

    State state() const { return state_; }
    bool ready() const { return state_ == State::kReady; }
    std::size_t in_flight() const { return pending_.size(); }

    std::function<void()> on_change;  // posted when the link breaks
    std::string last_error;

private:
    struct Pending {
        std::shared_ptr<Waiter> waiter;
        Clock::time_point deadline;
    };

    bool alive() const { return state_ == State::kConnecting || state_ == State::kReady; }
    std::shared_ptr<Waiter> enqueue(const std::vector<std::string>& args, Clock::time_point deadline);
    void arm_watchdog();
    void drain_replies();
    boost::asio::awaitable<Result<void>> open_socket(Clock::time_point deadline);
    boost::asio::awaitable<void> reader();
    boost::asio::awaitable<void> writer();
    boost::asio::awaitable<void> watchdog();

    boost::asio::io_context& ioc_;
    const Target target_;
    const Settings settings_;
    boost::asio::generic::stream_protocol::socket socket_;
    boost::asio::steady_timer write_signal_;
    boost::asio::steady_timer deadline_timer_;
    redisReader* parser_ = nullptr;
    State state_ = State::kNew;
    std::deque<Pending> pending_;
    std::string out_;      // commands queued since the last write
    std::string writing_;  // the buffer being written
    std::vector<char> in_;
    bool writer_waiting_ = false;
    bool closing_ = false;
};

}  // namespace flashbill::redis::detail
