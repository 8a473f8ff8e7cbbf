#include "http/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <thread>
#include <unordered_set>

#include "core/log.hpp"
#include "http/session.hpp"
#include "metrics/metrics.hpp"
#include "spdlog/spdlog.h"

namespace flashbill::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::optional<int> systemd_listen_fd() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds) return std::nullopt;
    if (std::strtol(pid, nullptr, 10) != static_cast<long>(::getpid())) return std::nullopt;
    if (std::strtol(fds, nullptr, 10) < 1) return std::nullopt;
    // The variables are meant for this process only; children must not inherit them.
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;  // SD_LISTEN_FDS_START
}

Server::Server(ServerOptions options, const Router& router) : impl_(std::make_unique<Impl>(std::move(options), router)) {}
Server::~Server() = default;

int Server::thread_count() const { return static_cast<int>(impl_->loops.size()); }
asio::io_context& Server::context(int i) { return impl_->loops[static_cast<std::size_t>(i)]->ioc; }
std::uint16_t Server::port() const { return impl_->bound_port; }

void Server::listen() {
    auto& opt = impl_->options;
    for (auto& loop : impl_->loops) {
        loop->acceptor.emplace(loop->ioc);
        if (opt.inherited_fd) {
            int fd = ::dup(*opt.inherited_fd);
            if (fd < 0) throw std::system_error(errno, std::system_category(), "dup(listen fd)");
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
            loop->acceptor->assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
        } else {
            tcp::endpoint ep(asio::ip::make_address(opt.host), impl_->bound_port ? impl_->bound_port : opt.port);
            loop->acceptor->open(ep.protocol());
            loop->acceptor->set_option(tcp::acceptor::reuse_address(true));
            loop->acceptor->set_option(ReusePort(true));
            loop->acceptor->bind(ep);
            loop->acceptor->listen(asio::socket_base::max_listen_connections);
        }
        if (!impl_->bound_port) impl_->bound_port = loop->acceptor->local_endpoint().port();
    }
}

namespace {

asio::awaitable<void> accept_loop(Server::Impl& srv, Loop& loop) {
    for (;;) {
        auto [ec, sock] = co_await loop.acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted || !loop.acceptor->is_open() || srv.stopping) co_return;
            // EMFILE/ENFILE and friends: back off briefly rather than spin.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer t(loop.ioc, std::chrono::milliseconds(50));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        if (srv.open_connections.load(std::memory_order_relaxed) >= srv.options.max_connections) {
            metrics::inc("http_connections_rejected_total");
            asio::co_spawn(loop.ioc, reject_connection(srv, std::move(sock)), asio::detached);
            continue;
        }
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        asio::co_spawn(loop.ioc, run_session(srv, loop, std::move(sock)), asio::detached);
    }
}

// The access log is buffered per thread; its loop writes it out at least once a second.
asio::awaitable<void> flush_access_log_every_second(Server::Impl& srv, Loop& loop) {
    asio::steady_timer t(loop.ioc);
    while (!srv.stopping) {
        t.expires_after(std::chrono::seconds(1));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        log::flush_access_log();
    }
}

}  // namespace

// The deadline sweep: wakes every quarter of the shortest I/O timeout (10–250 ms) while the loop
// has connections, and cancels the I/O of every connection past its deadline.
void ensure_sweep(Server::Impl& srv, Loop& loop) {
    if (loop.sweeping) return;
    loop.sweeping = true;
    auto shortest = std::min({srv.options.read_timeout, srv.options.idle_timeout, srv.options.write_timeout});
    auto tick = std::clamp<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 4, std::chrono::milliseconds(10),
        std::chrono::milliseconds(250));
    asio::co_spawn(
        loop.ioc,
        [&loop, tick]() -> asio::awaitable<void> {
            asio::steady_timer t(loop.ioc);
            while (!loop.connections.empty()) {
                t.expires_after(tick);
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                auto now = Connection::Clock::now();
                for (Connection* c : loop.connections) {
                    if (c->deadline <= now) c->expire();
                }
            }
            loop.sweeping = false;
        },
        asio::detached);
}

namespace {

// Closes idle connections during shutdown: at once for connections that already served a
// request (clients retry those), after a short grace for fresh ones whose request may be in flight.
void close_idle(Loop& loop, bool include_fresh) {
    for (Connection* c : loop.connections) {
        if (c->idle && (include_fresh || c->served > 0)) c->cancel();
    }
}

}  // namespace

bool Server::run(const std::function<void(int)>& on_start, const std::function<asio::awaitable<void>(int)>& on_stop) {
    auto& srv = *impl_;
    srv.on_stop = on_stop;
    std::vector<std::thread> threads;
    auto body = [&](int i) {
        Loop& loop = *srv.loops[static_cast<std::size_t>(i)];
        on_start(i);
        asio::co_spawn(loop.ioc, accept_loop(srv, loop), asio::detached);
        asio::co_spawn(loop.ioc, flush_access_log_every_second(srv, loop), asio::detached);
        for (;;) {
            try {
                loop.ioc.run();
                break;
            } catch (const std::exception& e) {
                spdlog::error("event loop {}: unhandled exception: {}", i, e.what());
            }
        }
        log::flush_access_log();
        if (i != 0) srv.loop_done(i);
    };
    for (int i = 1; i < thread_count(); ++i) threads.emplace_back(body, i);
    body(0);
    srv.loop_done(0);
    for (auto& t : threads) t.join();
    if (srv.watchdog.joinable()) srv.watchdog.join();
    return !srv.forced;
}

void Server::shutdown() {
    auto& srv = *impl_;
    if (srv.stopping.exchange(true)) return;
    spdlog::info("shutdown: no longer accepting; draining in-flight requests (bound {} ms)",
                 srv.options.shutdown_timeout.count());
    auto deadline = std::chrono::steady_clock::now() + srv.options.shutdown_timeout;
    for (auto& lp : srv.loops) {
        Loop* loop = lp.get();
        asio::post(loop->ioc, [loop] {
            boost::system::error_code ignored;
            if (loop->acceptor) loop->acceptor->close(ignored);
            close_idle(*loop, false);
        });
    }
    // Thread 0 watches the drain, then runs each thread's cleanup and releases the loops.
    asio::co_spawn(
        srv.loops[0]->ioc,
        [&srv, deadline]() -> asio::awaitable<void> {
            asio::steady_timer t(srv.loops[0]->ioc);
            auto grace_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
            bool grace_done = false;
            while (srv.active_sessions.load() > 0 && std::chrono::steady_clock::now() < deadline) {
                if (!grace_done && std::chrono::steady_clock::now() >= grace_end) {
                    grace_done = true;
                    for (auto& lp : srv.loops) {
                        Loop* loop = lp.get();
                        asio::post(loop->ioc, [loop] { close_idle(*loop, true); });
                    }
                }
                t.expires_after(std::chrono::milliseconds(10));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            if (srv.active_sessions.load() > 0) {
                spdlog::error("shutdown: {} connection(s) still open after the bound; closing them",
                              srv.active_sessions.load());
                srv.forced = true;
                for (auto& lp : srv.loops) {
                    Loop* loop = lp.get();
                    asio::post(loop->ioc, [loop] {
                        for (Connection* c : loop->connections) c->cancel();
                    });
                }
            }
            auto pending = std::make_shared<std::atomic<std::size_t>>(srv.loops.size());
            for (std::size_t i = 0; i < srv.loops.size(); ++i) {
                Loop* loop = srv.loops[i].get();
                asio::co_spawn(
                    loop->ioc,
                    [&srv, loop, i, pending]() -> asio::awaitable<void> {
                        if (srv.on_stop) co_await srv.on_stop(static_cast<int>(i));
                        loop->work.reset();
                        if (pending->fetch_sub(1) == 1) srv.start_watchdog();
                    },
                    asio::detached);
            }
            co_return;
        },
        asio::detached);
}

}  // namespace flashbill::http
