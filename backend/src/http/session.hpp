#pragma once
// Private to the http layer: server internals shared by the accept loop and the session.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "http/server.hpp"

namespace flashbill::http {

// One accepted connection, registered with its loop so shutdown can close it when idle and the
// loop's sweep can enforce its I/O deadline.
struct Connection {
    using Clock = std::chrono::steady_clock;
    boost::asio::ip::tcp::socket* socket = nullptr;
    bool idle = true;
    std::uint64_t served = 0;
    // When the pending read or write must have finished; max while no I/O is timed (the handler
    // runs). A deadline is a plain store, not a timer per operation: the loop's sweep (every
    // quarter of the shortest timeout, at most 250 ms) cancels the I/O of connections past it.
    Clock::time_point deadline = Clock::time_point::max();
    bool timed_out = false;

    void cancel() {
        boost::system::error_code ignored;
        socket->cancel(ignored);
        socket->shutdown(boost::asio::ip::tcp::socket::shutdown_receive, ignored);
    }
    // Called by the sweep once the deadline has passed; the session sets the next deadline.
    void expire() {
        timed_out = true;
        deadline = Clock::time_point::max();
        boost::system::error_code ignored;
        socket->cancel(ignored);
    }
};

struct Loop {
    // Each loop's sockets and timers are only ever touched from its own thread, so the reactor
    // needs no locks; cross-thread work goes through post(), whose scheduler lock stays.
    boost::asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
        boost::asio::make_work_guard(ioc);
    std::optional<boost::asio::ip::tcp::acceptor> acceptor;
    std::unordered_set<Connection*> connections;
    bool sweeping = false;  // the deadline sweep runs while the loop has connections
    bool finished = false;  // guarded by Server::Impl::mu
};

struct Server::Impl {
    Impl(ServerOptions opt, const Router& r) : options(std::move(opt)), router(r) {
        for (int i = 0; i < std::max(1, options.threads); ++i) loops.push_back(std::make_unique<Loop>());
    }

    ServerOptions options;
    const Router& router;
    std::vector<std::unique_ptr<Loop>> loops;
    std::uint16_t bound_port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<bool> forced{false};
    std::atomic<std::int64_t> active_sessions{0};
    std::atomic<std::size_t> open_connections{0};
    std::function<boost::asio::awaitable<void>(int)> on_stop;

    std::mutex mu;
    std::condition_variable cv;
    std::thread watchdog;

    void loop_done(int i) {
        std::lock_guard lock(mu);
        loops[static_cast<std::size_t>(i)]->finished = true;
        cv.notify_all();
    }

    // After every thread's cleanup: loops should now run out of work and return. Whatever has not
    // returned within two seconds is stopped, and the shutdown is reported as forced.
    void start_watchdog() {
        watchdog = std::thread([this] {
            std::unique_lock lock(mu);
            bool all = cv.wait_for(lock, std::chrono::seconds(2), [this] {
                for (auto& l : loops) {
                    if (!l->finished) return false;
                }
                return true;
            });
            if (!all) {
                forced = true;
                for (auto& l : loops) {
                    if (!l->finished) l->ioc.stop();
                }
            }
        });
    }
};

// Starts the loop's deadline sweep if it is not running (called when a connection registers).
void ensure_sweep(Server::Impl& srv, Loop& loop);

boost::asio::awaitable<void> run_session(Server::Impl& srv, Loop& loop, boost::asio::ip::tcp::socket sock);
boost::asio::awaitable<void> reject_connection(Server::Impl& srv, boost::asio::ip::tcp::socket sock);

}  // namespace flashbill::http
