#pragma once
// Helpers for the redis/ tests: running a coroutine on its own event loop, a private
// redis-server the test may stop, pause or reconfigure, and reading metrics.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <random>
#include <sstream>
#include <string>

#include "metrics/metrics.hpp"
#include "redis/client.hpp"
#include "test_env.hpp"

// ASSERT_* cannot be used inside coroutines (it expands to a plain `return`).
#define CO_ASSERT_TRUE(cond)                                \
    do {                                                    \
        if (!(cond)) {                                      \
            ADD_FAILURE() << "assertion failed: " << #cond; \
            co_return;                                      \
        }                                                   \
    } while (0)

namespace flashbill::redis::testing {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Polls `pred` every few ms until it holds or `timeout` passes.
template <class Pred>
asio::awaitable<bool> eventually(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline) co_return false;
        co_await sleep_for(2ms);
    }
    co_return true;
}

// Runs a shell command on a helper thread, so the test's event loop keeps running meanwhile.
inline asio::awaitable<int> run_shell(std::string cmd) {
    auto fut = std::async(std::launch::async, [cmd] { return std::system(cmd.c_str()); });
    while (fut.wait_for(0s) != std::future_status::ready) co_await sleep_for(5ms);
    co_return fut.get();
}

// Runs `body()` (a coroutine) on a fresh io_context until it finishes; rethrows its exception.
template <class F>
void run_loop(F body, std::chrono::seconds limit = 60s) {
    asio::io_context ioc;
    bool finished = false;
    std::exception_ptr error;
    asio::co_spawn(ioc, body(ioc), [&](std::exception_ptr e) {
        error = e;
        finished = true;
    });
    ioc.run_for(limit);
    ASSERT_TRUE(finished) << "test coroutine did not finish";
    if (error) std::rethrow_exception(error);
}

inline Settings settings_for(std::string url, std::chrono::milliseconds command_timeout = 1000ms,
                             std::chrono::milliseconds connect_timeout = 1000ms) {
    Settings s;
    s.url = std::move(url);
    s.command_timeout = command_timeout;
    s.connect_timeout = connect_timeout;
    return s;
}

// A client on `ioc`, started and set as the thread's current client for its lifetime.
class ScopedClient {
public:
    ScopedClient(asio::io_context& ioc, Settings s, bool make_current = true) : client_(ioc, std::move(s)) {
        client_.start();
        if (make_current) Client::set_current(&client_);
    }
    ~ScopedClient() {
        if (Client::current() == &client_) Client::set_current(nullptr);
    }
    Client& operator*() { return client_; }
    Client* operator->() { return &client_; }
    Client& get() { return client_; }

private:
    Client client_;
};

inline asio::awaitable<bool> wait_connected(Client& c, std::chrono::milliseconds timeout = 3000ms) {
    co_return co_await eventually([&] { return c.connected(); }, timeout);
}

// A command that must succeed; returns its reply (a kNil reply after a test failure).
inline asio::awaitable<Reply> must(Client& c, std::vector<std::string> args) {
    std::string what = args.empty() ? "" : args.front();
    auto r = co_await c.command(std::move(args));
    EXPECT_TRUE(r.ok()) << what << ": " << (r.ok() ? "" : r.error().cause);
    if (!r) co_return Reply{};
    EXPECT_FALSE(r->is_error()) << what << ": " << r->str;
    co_return std::move(*r);
}

// A name no other test (or run) uses, so tests may share the harness's Redis.
inline std::string unique(const std::string& prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    std::ostringstream s;
    s << prefix << "-" << std::hex << rng();
    return s.str();
}

inline int free_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor a(ioc, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

// The value of a series ("name" or "name{labels}") in metrics::render(); 0 when absent.
inline double metric(const std::string& series) {
    std::istringstream in(metrics::render());
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return 0;
}

// A private redis-server (scripts/redis) on a free port, for tests that stop, pause or
// reconfigure it; stopped and removed at the end.
class OwnRedis {
public:
    OwnRedis() : dir_(test::make_temp_dir("redis")), port_(free_port()) {
        int rc = std::system((script("start") + " --port " + std::to_string(port_) + quiet()).c_str());
        if (rc != 0) throw std::runtime_error("scripts/redis start failed in " + dir_);
    }
    ~OwnRedis() {
        (void)std::system((script("stop") + quiet()).c_str());
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    OwnRedis(const OwnRedis&) = delete;
    OwnRedis& operator=(const OwnRedis&) = delete;

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
    int port() const { return port_; }

    // Stop and start without blocking the calling event loop.
    asio::awaitable<bool> stop() { co_return co_await run_shell(script("stop") + quiet()) == 0; }
    asio::awaitable<bool> start() {
        co_return co_await run_shell(script("start") + " --port " + std::to_string(port_) + quiet()) == 0;
    }

private:
    std::string script(const std::string& cmd) const {
        return "'" + test::repo_root() + "/scripts/redis' " + cmd + " --dir '" + dir_ + "'";
    }
    static std::string quiet() { return " >/dev/null 2>&1"; }

    std::string dir_;
    int port_;
};

}  // namespace flashbill::redis::testing
