#include "redis/link.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "metrics/metrics.hpp"

namespace flashbill::redis::detail {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
constexpr std::size_t kKeepBuffer = 1 << 20;  // larger write buffers are released after use

Error unavailable(std::string cause) {
    return Error{ErrorCode::kUnavailable, "cache unavailable", {}, std::move(cause)};
}

Reply convert(const redisReply* r) {
    Reply out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::kString;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::kError;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(r->elements);
            for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
            break;
        default:  // REDIS_REPLY_NIL (RESP2 has nothing else)
            out.type = Reply::Type::kNil;
    }
    return out;
}

}  // namespace

void encode_command(const std::vector<std::string>& args, std::string& out) {
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto& a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
}

Link::Link(asio::io_context& ioc, const Target& target, const Settings& settings)
    : ioc_(ioc),
      target_(target),
      settings_(settings),
      socket_(ioc),
      write_signal_(ioc, Clock::time_point::max()),
      deadline_timer_(ioc, Clock::time_point::max()),
      parser_(redisReaderCreate()),
      in_(kReadChunk) {
    if (!parser_) throw std::bad_alloc();
}

Link::~Link() {
    if (parser_) redisReaderFree(parser_);
}

asio::awaitable<Result<void>> Link::open_socket(Clock::time_point deadline) {
    asio::steady_timer timer(ioc_, deadline);
    std::vector<asio::generic::stream_protocol::endpoint> endpoints;
    if (target_.is_unix) {
        endpoints.emplace_back(asio::local::stream_protocol::endpoint(target_.path));
    } else {
        boost::system::error_code ec;
        auto addr = asio::ip::make_address(target_.host, ec);
        if (!ec) {
            endpoints.emplace_back(asio::ip::tcp::endpoint(addr, target_.port));
        } else {
            // A host name: getaddrinfo runs on Asio's resolver thread, not on this event loop.
            asio::ip::tcp::resolver resolver(ioc_);
            auto which = co_await (resolver.async_resolve(target_.host, std::to_string(target_.port), kTuple) ||
                                   timer.async_wait(kTuple));
            if (which.index() == 1) co_return unavailable("resolving " + target_.host + " timed out");
            auto [rec, results] = std::get<0>(which);
            if (rec) co_return unavailable("cannot resolve " + target_.host + ": " + rec.message());
            for (const auto& e : results) endpoints.emplace_back(e.endpoint());
        }
    }
    std::string err = "no address";
    for (const auto& ep : endpoints) {
        if (!alive()) co_return unavailable(last_error);  // closed meanwhile
        boost::system::error_code ignored;
        if (socket_.is_open()) socket_.close(ignored);
        auto which = co_await (socket_.async_connect(ep, kTuple) || timer.async_wait(kTuple));
        if (which.index() == 1) co_return unavailable("connect timed out");
        auto [ec] = std::get<0>(which);
        if (!ec) {
            if (!target_.is_unix) {
                socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
                socket_.set_option(asio::socket_base::keep_alive(true), ignored);
            }
            co_return Result<void>{};
        }
        err = ec.message();
    }
    co_return unavailable("connect: " + err);
}

asio::awaitable<Result<void>> Link::connect() {
    auto self = shared_from_this();
    state_ = State::kConnecting;
    const auto deadline = Clock::now() + settings_.connect_timeout;
    auto opened = co_await open_socket(deadline);
    if (!opened || !alive()) {
        if (opened) co_return unavailable(last_error);  // closed while connecting
        last_error = opened.error().cause;
        fail(last_error);
        co_return std::move(opened).error();
    }
    asio::co_spawn(
        ioc_, [self]() { return self->reader(); }, asio::detached);
    asio::co_spawn(
        ioc_, [self]() { return self->writer(); }, asio::detached);
    asio::co_spawn(
        ioc_, [self]() { return self->watchdog(); }, asio::detached);

    // AUTH, SELECT and a PING in one round trip: the PING proves the server answers commands (a
    // paused or wedged server fails the connect, so callers fail fast instead of timing out).
    std::vector<std::pair<std::string, std::shared_ptr<Waiter>>> steps;
    if (target_.has_password) {
        std::vector<std::string> auth{"AUTH"};
        if (!target_.user.empty()) auth.push_back(target_.user);
        auth.push_back(target_.password);
        steps.emplace_back("AUTH", enqueue(auth, deadline));
    }
    if (target_.db != 0) steps.emplace_back("SELECT", enqueue({"SELECT", std::to_string(target_.db)}, deadline));
    steps.emplace_back("PING", enqueue({"PING"}, deadline));
    std::optional<Error> error;
    for (auto& [name, waiter] : steps) {
        while (!waiter->result) co_await waiter->signal.async_wait(kTuple);
        if (error) continue;
        auto& r = *waiter->result;
        if (!r) {
            error = r.error();
            error->cause = name + ": " + error->cause;
        } else if (r->is_error()) {
            error = unavailable(name + " refused: " + r->str);
        }
    }
    if (error) {
        last_error = error->cause;
        fail(last_error);
        co_return std::move(*error);
    }
    if (!alive()) co_return unavailable(last_error.empty() ? "link closed" : last_error);
    state_ = State::kReady;
    metrics::gauge_add("redis_connected", {}, 1);
    co_return Result<void>{};
}

std::shared_ptr<Waiter> Link::enqueue(const std::vector<std::string>& args, Clock::time_point deadline) {
    auto waiter = std::make_shared<Waiter>(ioc_);
    if (!alive()) {
        waiter->deliver(unavailable(last_error.empty() ? "not connected" : last_error));
        return waiter;
    }
    encode_command(args, out_);
    pending_.push_back(Pending{waiter, deadline});
    arm_watchdog();
    if (writer_waiting_) write_signal_.cancel();  // runs after this turn: the turn's commands go in one write
    return waiter;
}

asio::awaitable<Result<Reply>> Link::execute(const std::vector<std::string>& args, Clock::time_point deadline) {
    if (!alive()) co_return unavailable(last_error.empty() ? "not connected" : last_error);
    auto self = shared_from_this();
    auto waiter = enqueue(args, deadline);
    while (!waiter->result) co_await waiter->signal.async_wait(kTuple);
    co_return std::move(*waiter->result);
}

asio::awaitable<void> Link::writer() {
    auto self = shared_from_this();
    while (alive()) {
        if (out_.empty()) {
            writer_waiting_ = true;
            write_signal_.expires_at(Clock::time_point::max());
            co_await write_signal_.async_wait(kTuple);
            writer_waiting_ = false;
            continue;
        }
        writing_.clear();
        writing_.swap(out_);
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing_), kTuple);
        if (!alive()) break;
        if (ec) {
            fail("write failed: " + ec.message());
            break;
        }
        if (writing_.capacity() > kKeepBuffer) std::string().swap(writing_);
    }
}

asio::awaitable<void> Link::reader() {
    auto self = shared_from_this();
    while (alive()) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(in_), kTuple);
        if (!alive()) break;
        if (ec) {
            fail(ec == asio::error::eof ? std::string("connection closed by the server")
                                        : "read failed: " + ec.message());
            break;
        }
        if (redisReaderFeed(parser_, in_.data(), n) != REDIS_OK) {
            fail(std::string("reply parser: ") + parser_->errstr);
            break;
        }
        drain_replies();
    }
}

void Link::drain_replies() {
    while (alive()) {
        void* raw = nullptr;
        if (redisReaderGetReply(parser_, &raw) != REDIS_OK) {
            fail(std::string("protocol error: ") + parser_->errstr);
            return;
        }
        if (!raw) return;
        std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw), freeReplyObject);
        if (pending_.empty()) {
            fail("protocol out of step: a reply nobody asked for");
            return;
        }
        auto waiter = std::move(pending_.front().waiter);
        pending_.pop_front();
        waiter->deliver(convert(reply.get()));
    }
}

void Link::arm_watchdog() {
    // Only ever move the timer earlier; when it fires, the watchdog re-arms for the next deadline.
    if (!pending_.empty() && pending_.back().deadline < deadline_timer_.expiry()) {
        deadline_timer_.expires_at(pending_.back().deadline);
    }
}

asio::awaitable<void> Link::watchdog() {
    auto self = shared_from_this();
    while (alive()) {
        co_await deadline_timer_.async_wait(kTuple);
        if (!alive()) break;
        auto now = Clock::now();
        if (deadline_timer_.expiry() > now) continue;  // re-armed (earlier or later); wait again
        auto next = Clock::time_point::max();
        bool expired = false;
        for (const auto& p : pending_) {
            if (p.deadline <= now) expired = true;
            next = std::min(next, p.deadline);
        }
        if (expired) {
            metrics::inc("redis_timeouts_total");
            fail("no reply before the deadline");
            break;
        }
        deadline_timer_.expires_at(next);
    }
}

void Link::fail(const std::string& reason) {
    if (state_ == State::kBroken) return;
    const bool was_ready = state_ == State::kReady;
    state_ = State::kBroken;
    last_error = reason;
    if (was_ready) {
        metrics::gauge_add("redis_connected", {}, -1);
        if (!closing_) spdlog::warn("redis: link lost: {}", reason);
    }
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& p : pending) p.waiter->deliver(unavailable(reason));
    boost::system::error_code ignored;
    socket_.close(ignored);
    write_signal_.cancel();
    deadline_timer_.cancel();
    out_.clear();
    if (on_change)
        asio::post(ioc_, [self = shared_from_this()] {
            if (self->on_change) self->on_change();
        });
}

}  // namespace flashbill::redis::detail
