#pragma once
// The HTTP server: one io_context per thread, each with its own acceptor (SO_REUSEPORT) or a
// duplicate of a listening socket inherited from systemd (LISTEN_FDS), so the hot path shares
// nothing between threads. Graceful shutdown: stop accepting, let in-flight requests finish
// (bounded), close idle keep-alive connections, then run each thread's cleanup.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/router.hpp"

namespace flashbill::http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 3000;
    int threads = 1;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_connections = 10'000;
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds write_timeout{30'000};
    std::chrono::milliseconds shutdown_timeout{25'000};
    std::vector<std::string> cors_origins;
    bool trust_proxy = false;
    bool access_log = true;
    std::optional<int> inherited_fd;  // a listening socket handed over by systemd or a supervisor
};

// The first socket passed with the systemd LISTEN_FDS protocol, if any is meant for this process.
std::optional<int> systemd_listen_fd();

class Server {
public:
    Server(ServerOptions options, const Router& router);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Opens the listening sockets (throws std::system_error on failure).
    void listen();
    std::uint16_t port() const;
    int thread_count() const;
    boost::asio::io_context& context(int thread_index);

    // Runs the event loops (thread 0 is the caller). on_start runs in each thread before its loop;
    // on_stop runs in each thread's loop after draining and must end that thread's remaining work.
    // Returns true when every loop finished cleanly, false when the shutdown bound forced them.
    bool run(const std::function<void(int)>& on_start,
             const std::function<boost::asio::awaitable<void>(int)>& on_stop);

    // Begins graceful shutdown. Thread-safe and idempotent.
    void shutdown();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace flashbill::http
