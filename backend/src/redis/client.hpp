#pragma once
// Redis over Asio: one Client per event-loop thread, one link to Redis, commands pipelined and
// their replies matched in order (RESP2). The same shape as db::Pool/db::Connection: a reader
// coroutine on the socket, writes coalesced per event-loop turn, a deadline per command; a link
// that breaks or misses a deadline is dropped and reconnected, never resynchronised. While Redis
// refuses us, commands fail at once with UNAVAILABLE and one probe reconnects with capped
// backoff, so callers (cache, rate limiter) can fall back without waiting.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace flashbill::redis {

struct Settings {
    // redis://[[user]:password@]host[:port][/db] or unix://[[user]:password@]/path/to.sock[?db=N].
    // Percent-escapes in the user and password are decoded.
    std::string url;
    std::chrono::milliseconds connect_timeout{1000};  // resolve + TCP connect + AUTH/SELECT/PING
    std::chrono::milliseconds command_timeout{1000};  // per command, from queueing to its reply
};

// Validates a Redis URL; a VALIDATION error on the field REDIS_URL says what is wrong with it.
Result<Settings> parse_url(std::string_view url);

// One RESP2 reply. A Redis error reply (-ERR ...) is a value of type kError with the text in `str`.
struct Reply {
    enum class Type { kNil, kStatus, kError, kInteger, kString, kArray };
    Type type = Type::kNil;
    std::string str;              // kStatus, kError, kString (binary-safe)
    long long integer = 0;        // kInteger
    std::vector<Reply> elements;  // kArray

    bool is_error() const { return type == Type::kError; }
    bool is_nil() const { return type == Type::kNil; }
};

// Builds a command's arguments: co_await client.command(redis::cmd("SET", key, value)).
// Prefer it to a braced list inside a co_await expression: GCC 12 rejects an
// std::initializer_list<std::string> temporary there ("array used as initializer").
template <class... Args>
std::vector<std::string> cmd(Args&&... args) {
    std::vector<std::string> v;
    v.reserve(sizeof...(args));
    (v.emplace_back(std::forward<Args>(args)), ...);
    return v;
}

class Client {
public:
    // Throws std::invalid_argument for a URL parse_url() rejects (a startup error).
    Client(boost::asio::io_context& ioc, Settings settings);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Connects in the background (AUTH and SELECT from the URL) and keeps reconnecting with capped
    // backoff until close().
    void start();
    // Fails queued commands with UNAVAILABLE, closes the link and stops reconnecting.
    boost::asio::awaitable<void> close();

    // Sends one command and waits for its reply. UNAVAILABLE when not connected (immediately when
    // the last connection attempt failed; up to connect_timeout while a first attempt or a
    // reconnect after a drop is under way), on command_timeout (the link is then dropped and
    // reconnected) or when the link breaks with the command in flight.
    boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> args);

    // True while a link is up and ready for commands.
    bool connected() const;
    // Number of links established so far (1 after the first connect; grows at each reconnect).
    std::uint64_t generation() const;
    const Settings& settings() const;

    // The calling event-loop thread's client; nullptr when Redis is not configured (or on a
    // thread without one).
    static Client* current();
    static void set_current(Client* client);

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace flashbill::redis
