#include "redis/client.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <mutex>
#include <random>
#include <stdexcept>

#include "metrics/metrics.hpp"
#include "redis/link.hpp"

namespace flashbill::redis {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using detail::Clock;
using detail::Link;
using detail::Target;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

thread_local Client* t_current = nullptr;

constexpr std::chrono::milliseconds kFirstBackoff{50};
// Capped low: a refused connection costs little, and recovery should be seen within ~0.5 s.
constexpr std::chrono::milliseconds kMaxBackoff{400};

Error bad_url(std::string message) { return Error::validation("REDIS_URL", std::move(message)); }

Error unavailable(std::string cause) {
    return Error{ErrorCode::kUnavailable, "cache unavailable", {}, std::move(cause)};
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_value(s[i + 1]);
        int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::optional<int> parse_int(std::string_view s, int min, int max) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v < min || v > max) return std::nullopt;
    return v;
}

// "[user]:password" (or a bare "password", as redis-cli accepts) into the target.
Result<void> parse_userinfo(std::string_view info, Target& t) {
    auto colon = info.find(':');
    std::string_view user = colon == std::string_view::npos ? std::string_view{} : info.substr(0, colon);
    std::string_view pass = colon == std::string_view::npos ? info : info.substr(colon + 1);
    auto u = percent_decode(user);
    auto p = percent_decode(pass);
    if (!u || !p) return bad_url("has a malformed percent-escape in its user or password");
    t.user = std::move(*u);
    t.password = std::move(*p);
    t.has_password = !t.password.empty() || !t.user.empty();
    return Result<void>{};
}

}  // namespace

namespace detail {

Result<Target> parse_target(std::string_view url) {
    Target t;
    if (url.rfind("rediss://", 0) == 0) {
        return bad_url("TLS to Redis is not supported; use a local stunnel or a private network");
    }
    if (url.rfind("unix://", 0) == 0) {
        std::string_view rest = url.substr(7);
        t.is_unix = true;
        auto q = rest.find('?');
        std::string_view query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
        rest = rest.substr(0, q);
        auto at = rest.rfind('@');
        if (at != std::string_view::npos) {
            auto r = parse_userinfo(rest.substr(0, at), t);
            if (!r) return std::move(r).error();
            rest = rest.substr(at + 1);
        }
        if (rest.empty() || rest.front() != '/')
            return bad_url("unix:// needs an absolute socket path, e.g. unix:///run/redis/redis.sock");
        t.path = std::string(rest);
        while (!query.empty()) {
            auto amp = query.find('&');
            std::string_view kv = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (kv.rfind("db=", 0) == 0) {
                auto db = parse_int(kv.substr(3), 0, 1'000'000);
                if (!db) return bad_url("has an invalid database number (db=N, N >= 0)");
                t.db = *db;
            } else if (!kv.empty()) {
                return bad_url("has an unsupported parameter '" + std::string(kv) + "' (only db=N)");
            }
        }
        return t;
    }
    if (url.rfind("redis://", 0) != 0) {
        return bad_url("must look like redis://[:password@]host:port[/db] or unix:///path/to.sock");
    }
    std::string_view rest = url.substr(8);
    if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
        return bad_url("query parameters are not supported in a redis:// URL");
    }
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        auto r = parse_userinfo(authority.substr(0, at), t);
        if (!r) return std::move(r).error();
        authority = authority.substr(at + 1);
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return bad_url("has an unterminated [IPv6] host");
        t.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad_url("has garbage after the [IPv6] host");
            port = after.substr(1);
            if (port.empty()) return bad_url("has an empty port");
        }
    } else {
        auto colon = authority.rfind(':');
        t.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return bad_url("has an empty port");
        }
    }
    if (t.host.empty()) return bad_url("has no host");
    if (!port.empty()) {
        auto p = parse_int(port, 1, 65535);
        if (!p) return bad_url("has an invalid port '" + std::string(port) + "'");
        t.port = static_cast<unsigned short>(*p);
    }
    if (!path.empty()) {
        auto db = parse_int(path, 0, 1'000'000);
        if (!db) return bad_url("has an invalid database number '/" + std::string(path) + "' (expected /N)");
        t.db = *db;
    }
    return t;
}

}  // namespace detail

Result<Settings> parse_url(std::string_view url) {
    auto t = detail::parse_target(url);
    if (!t) return std::move(t).error();
    Settings s;
    s.url = std::string(url);
    return s;
}

namespace {

void describe_metrics() {
    static std::once_flag once;
    std::call_once(once, [] {
        using metrics::Type;
        metrics::describe("redis_commands_total", Type::kCounter,
                          "Redis commands by outcome (error = a Redis error reply).");
        metrics::describe("redis_connected", Type::kGauge, "Redis links up (one per event-loop thread).");
        metrics::describe("redis_reconnects_total", Type::kCounter, "Redis links re-established after a loss.");
        metrics::describe("redis_connect_failures_total", Type::kCounter, "Failed attempts to connect to Redis.");
        metrics::describe("redis_timeouts_total", Type::kCounter,
                          "Redis links dropped because a reply missed its deadline.");
    });
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, Settings s, Target t)
        : ioc(io), settings(std::move(s)), target(std::move(t)), changed(io, Clock::time_point::max()), sleeper(io) {}

    asio::io_context& ioc;
    const Settings settings;
    const Target target;
    std::shared_ptr<Link> link;
    asio::steady_timer changed;  // cancelled to wake every waiter when something changes
    asio::steady_timer sleeper;  // the backoff between failed attempts (cancelled by close)
    bool started = false;
    bool closing = false;
    bool running = false;         // the keeper coroutine is alive
    bool last_connect_ok = true;  // false while Redis refuses us: commands fail fast
    std::uint64_t generation = 0;
    std::string last_error;

    void notify() {
        changed.cancel();
        changed.expires_at(Clock::time_point::max());
    }

    // Waits until notified or the deadline passes; returns false at the deadline.
    asio::awaitable<bool> wait_change(Clock::time_point deadline) {
        asio::steady_timer t(ioc, deadline);
        auto which = co_await (changed.async_wait(kTuple) || t.async_wait(kTuple));
        co_return which.index() == 0;
    }

    // Keeps one link up. A link that drops is replaced at once; while attempts fail, this one
    // coroutine probes with exponential backoff and jitter (capped) and commands fail fast.
    asio::awaitable<void> keep() {
        auto self = shared_from_this();
        running = true;
        auto backoff = kFirstBackoff;
        std::mt19937 rng{std::random_device{}()};
        while (!closing) {
            if (link && (link->ready() || link->state() == Link::State::kConnecting)) {
                co_await wait_change(Clock::time_point::max());
                continue;
            }
            auto l = std::make_shared<Link>(ioc, target, settings);
            std::weak_ptr<Impl> weak = self;
            l->on_change = [weak] {
                if (auto s = weak.lock()) s->notify();
            };
            link = l;
            auto r = co_await l->connect();
            if (closing) {
                l->close("client closed");
                break;
            }
            if (r) {
                if (generation > 0) metrics::inc("redis_reconnects_total");
                if (!last_connect_ok) spdlog::info("redis: connected again");
                ++generation;
                last_connect_ok = true;
                last_error.clear();
                backoff = kFirstBackoff;
                notify();
                continue;
            }
            if (last_connect_ok || last_error != l->last_error)
                spdlog::warn("redis: cannot connect: {}", l->last_error);
            last_error = l->last_error;
            last_connect_ok = false;
            metrics::inc("redis_connect_failures_total");
            notify();
            std::uniform_int_distribution<long> jitter(0, backoff.count() / 2);
            sleeper.expires_after(backoff + std::chrono::milliseconds(jitter(rng)));
            co_await sleeper.async_wait(kTuple);
            backoff = std::min(backoff * 2, kMaxBackoff);
        }
        running = false;
        notify();
    }
};

Client::Client(asio::io_context& ioc, Settings settings) {
    auto t = detail::parse_target(settings.url);
    if (!t) {
        const auto& e = t.error();
        throw std::invalid_argument("REDIS_URL " + (e.details.empty() ? e.message : e.details.front().message));
    }
    describe_metrics();
    impl_ = std::make_shared<Impl>(ioc, std::move(settings), std::move(*t));
}

Client::~Client() {
    if (t_current == this) t_current = nullptr;
    impl_->closing = true;
    if (impl_->link) impl_->link->close("client destroyed");
    impl_->sleeper.cancel();
    impl_->notify();
}

void Client::start() {
    if (impl_->started) return;
    impl_->started = true;
    asio::co_spawn(impl_->ioc, impl_->keep(), asio::detached);
}

asio::awaitable<void> Client::close() {
    auto impl = impl_;
    // Let commands in flight finish briefly; then fail whatever is left.
    auto deadline = Clock::now() + impl->settings.command_timeout;
    while (impl->link && impl->link->ready() && impl->link->in_flight() > 0 && Clock::now() < deadline) {
        asio::steady_timer t(impl->ioc, std::chrono::milliseconds(2));
        co_await t.async_wait(kTuple);
    }
    impl->closing = true;
    if (impl->link) impl->link->close("client closed");
    while (impl->running) {
        impl->sleeper.cancel();
        impl->notify();
        asio::steady_timer t(impl->ioc, std::chrono::milliseconds(2));
        co_await t.async_wait(kTuple);
    }
}

asio::awaitable<Result<Reply>> Client::command(std::vector<std::string> args) {
    auto impl = impl_;
    const auto connect_deadline = Clock::now() + impl->settings.connect_timeout;
    std::optional<Error> refused;
    for (;;) {
        if (impl->closing || !impl->started) {
            refused = unavailable(impl->closing ? "client closed" : "client not started");
            break;
        }
        if (impl->link && impl->link->ready()) break;
        if (!impl->last_connect_ok) {
            refused = unavailable(impl->last_error.empty() ? "not connected" : impl->last_error);
            break;
        }
        bool changed = co_await impl->wait_change(connect_deadline);
        if (!changed) {
            refused = unavailable("not connected within the connect timeout");
            break;
        }
    }
    if (refused) {
        metrics::inc("redis_commands_total", "status=\"unavailable\"");
        co_return std::move(*refused);
    }
    auto link = impl->link;
    auto r = co_await link->execute(args, Clock::now() + impl->settings.command_timeout);
    if (!r)
        metrics::inc("redis_commands_total", "status=\"unavailable\"");
    else if (r->is_error())
        metrics::inc("redis_commands_total", "status=\"error\"");
    else
        metrics::inc("redis_commands_total", "status=\"ok\"");
    co_return r;
}

bool Client::connected() const { return impl_->link && impl_->link->ready(); }

std::uint64_t Client::generation() const { return impl_->generation; }

const Settings& Client::settings() const { return impl_->settings; }

Client* Client::current() { return t_current; }

void Client::set_current(Client* client) { t_current = client; }

}  // namespace flashbill::redis
