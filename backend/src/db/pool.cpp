#include "db/pool.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "db/connection.hpp"
#include "metrics/metrics.hpp"

namespace flashbill::db {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {
thread_local Pool* t_current = nullptr;
}

struct Pool::Impl {
    Impl(asio::io_context& io, const PoolSettings& s) : ioc(io), settings(s), changed(io) {
        changed.expires_at(Clock::time_point::max());
    }

    asio::io_context& ioc;
    const PoolSettings& settings;
    std::vector<std::shared_ptr<Connection>> slots;
    asio::steady_timer changed;  // cancelled to wake every waiter when something changes
    bool closing = false;
    bool last_connect_ok = true;  // false while the database refuses us: requests fail fast
    int connecting = 0;
    int running_slots = 0;
    bool probing = false;  // one slot is testing whether the database is back
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

    std::shared_ptr<Connection> pick_shared() {
        std::shared_ptr<Connection> best;
        for (auto& c : slots) {
            if (!c || !c->ready() || c->exclusive || c->reserved) continue;
            if (!best || c->in_flight() < best->in_flight()) best = c;
        }
        return best;
    }

    int ready_count() const {
        int n = 0;
        for (auto& c : slots) n += c && c->ready() ? 1 : 0;
        return n;
    }

    Error unavailable() const {
        return Error{ErrorCode::kUnavailable, "database unavailable", {},
                     last_error.empty() ? "no connection" : last_error};
    }

    asio::awaitable<Result<std::shared_ptr<Connection>>> acquire_shared(Clock::time_point deadline) {
        for (;;) {
            if (closing) co_return unavailable();
            if (auto c = pick_shared()) co_return c;
            if (ready_count() == 0 && !last_connect_ok) co_return unavailable();
            if (!co_await wait_change(deadline)) co_return unavailable();
        }
    }

    asio::awaitable<Result<std::shared_ptr<Connection>>> acquire_exclusive(Clock::time_point deadline) {
        std::shared_ptr<Connection> claimed;
        for (;;) {
            if (closing) break;
            if (claimed) {
                if (!claimed->ready()) {
                    claimed->reserved = false;
                    claimed.reset();
                    continue;
                }
                if (claimed->in_flight() == 0) {
                    claimed->reserved = false;
                    claimed->exclusive = true;
                    metrics::gauge_add("db_pool_connections", "state=\"in_transaction\"", 1);
                    co_return claimed;
                }
            } else {
                // An idle connection at once; otherwise reserve the least loaded one and let it
                // drain, keeping at least one connection for shared traffic when the pool has two.
                std::shared_ptr<Connection> idle, least;
                int shared_ready = 0;
                for (auto& c : slots) {
                    if (!c || !c->ready() || c->exclusive || c->reserved) continue;
                    ++shared_ready;
                    if (c->in_flight() == 0 && !idle) idle = c;
                    if (!least || c->in_flight() < least->in_flight()) least = c;
                }
                if (idle) {
                    idle->exclusive = true;
                    metrics::gauge_add("db_pool_connections", "state=\"in_transaction\"", 1);
                    co_return idle;
                }
                if (least && (shared_ready > 1 || slots.size() == 1)) {
                    least->reserved = true;
                    claimed = least;
                    continue;
                }
                if (ready_count() == 0 && !last_connect_ok) break;
            }
            if (!co_await wait_change(deadline)) break;
        }
        if (claimed) claimed->reserved = false;
        co_return unavailable();
    }

    void release_exclusive(const std::shared_ptr<Connection>& c, bool rollback) {
        if (rollback && c->ready()) c->execute_detached("ROLLBACK");
        c->exclusive = false;
        metrics::gauge_add("db_pool_connections", "state=\"in_transaction\"", -1);
        notify();
    }

    // Keeps slot i connected. While the database refuses us, one slot per pool probes on a short
    // backoff and the others wait; a successful probe wakes them all, so every slot (and so every
    // request) recovers within one probe interval of the database coming back.
    asio::awaitable<void> keep_slot(std::size_t i) {
        ++running_slots;
        std::chrono::milliseconds backoff{100};
        std::mt19937 rng{std::random_device{}()};
        while (!closing) {
            auto& slot = slots[i];
            if (slot && (slot->ready() || slot->state() == Connection::State::kConnecting)) {
                co_await wait_change(Clock::time_point::max());
                continue;
            }
            if (!last_connect_ok && probing) {
                co_await wait_change(Clock::time_point::max());
                continue;
            }
            const bool probe = !last_connect_ok;
            if (probe) probing = true;
            auto conn = std::make_shared<Connection>(ioc, settings);
            conn->on_change = [this] { notify(); };
            slot = conn;
            ++connecting;
            metrics::gauge_add("db_pool_connections", "state=\"connecting\"", 1);
            auto r = co_await conn->connect();
            metrics::gauge_add("db_pool_connections", "state=\"connecting\"", -1);
            --connecting;
            if (closing) {
                conn->close("pool closing");
                if (probe) probing = false;
                break;
            }
            if (r) {
                if (!last_connect_ok) spdlog::info("postgres: connected again");
                last_connect_ok = true;
                if (probe) probing = false;
                backoff = std::chrono::milliseconds(100);
                notify();
                continue;
            }
            if (last_connect_ok || last_error != conn->last_error) {
                spdlog::warn("postgres: cannot connect: {}", conn->last_error);
            }
            last_error = conn->last_error;
            last_connect_ok = false;
            metrics::inc("db_connect_failures_total");
            notify();
            // Exponential backoff with jitter, capped low: a refused connection costs little and
            // recovery should be seen within about a second.
            std::uniform_int_distribution<long> jitter(0, backoff.count() / 2);
            asio::steady_timer t(ioc, backoff + std::chrono::milliseconds(jitter(rng)));
            co_await t.async_wait(kTuple);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(800));
            if (probe) probing = false;
        }
        --running_slots;
        notify();
    }
};

// --- Transaction ---------------------------------------------------------------------------

Transaction::Transaction(Pool& pool, std::shared_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}

Transaction::Transaction(Transaction&& o) noexcept
    : pool_(o.pool_), conn_(std::move(o.conn_)), begun_(o.begun_), done_(o.done_) {
    o.done_ = true;
}

Transaction::~Transaction() {
    if (!done_) release(begun_);
}

void Transaction::release(bool rollback) {
    done_ = true;
    if (conn_) pool_->impl_->release_exclusive(conn_, rollback);
    conn_.reset();
}

asio::awaitable<Result<std::vector<Rows>>> Transaction::batch(std::vector<Statement> statements) {
    if (done_ || !conn_) co_return Error::internal("transaction already finished");
    std::vector<Statement> all;
    bool with_begin = !begun_;
    if (with_begin) all.push_back(Statement{"BEGIN", {}});
    for (auto& s : statements) all.push_back(std::move(s));
    begun_ = true;
    auto r = co_await conn_->execute(all, std::chrono::milliseconds(0));
    if (!r) co_return std::move(r).error();
    auto rows = std::move(r).value();
    if (with_begin) rows.erase(rows.begin());
    co_return rows;
}

asio::awaitable<Result<Rows>> Transaction::query(std::string_view sql, Params params) {
    std::vector<Statement> one;
    one.push_back(Statement{sql, std::move(params)});
    auto r = co_await batch(std::move(one));
    if (!r) co_return std::move(r).error();
    co_return std::move(r->front());
}

asio::awaitable<Result<void>> Transaction::commit() {
    if (done_ || !conn_) co_return Error::internal("transaction already finished");
    if (!begun_) {
        release(false);
        co_return Result<void>{};
    }
    Statement st{"COMMIT", {}};
    auto r = co_await conn_->execute(std::span<const Statement>(&st, 1), std::chrono::milliseconds(0));
    release(!r);
    if (!r) co_return std::move(r).error();
    co_return Result<void>{};
}

asio::awaitable<void> Transaction::rollback() {
    if (done_ || !conn_) co_return;
    if (!begun_) {
        release(false);
        co_return;
    }
    Statement st{"ROLLBACK", {}};
    auto r = co_await conn_->execute(std::span<const Statement>(&st, 1), std::chrono::milliseconds(0));
    release(false);
    (void)r;
}

// --- Pool ----------------------------------------------------------------------------------

Pool::Pool(asio::io_context& ioc, PoolSettings settings)
    : impl_(std::make_unique<Impl>(ioc, settings_)), settings_(std::move(settings)) {}

Pool::~Pool() {
    if (t_current == this) t_current = nullptr;
}

void Pool::start() {
    impl_->slots.resize(static_cast<std::size_t>(std::max(1, settings_.size)));
    for (std::size_t i = 0; i < impl_->slots.size(); ++i) {
        asio::co_spawn(impl_->ioc, impl_->keep_slot(i), asio::detached);
    }
}

asio::awaitable<void> Pool::close() {
    impl_->closing = true;
    impl_->notify();
    // Let queued requests finish briefly, then close every connection.
    auto deadline = Clock::now() + std::chrono::seconds(2);
    for (;;) {
        bool busy = false;
        for (auto& c : impl_->slots) busy = busy || (c && c->ready() && c->in_flight() > 0);
        if (!busy || Clock::now() >= deadline) break;
        asio::steady_timer t(impl_->ioc, std::chrono::milliseconds(5));
        co_await t.async_wait(kTuple);
    }
    for (auto& c : impl_->slots) {
        if (c) c->close("pool closed");
    }
    while (impl_->running_slots > 0) {
        impl_->notify();
        asio::steady_timer t(impl_->ioc, std::chrono::milliseconds(5));
        co_await t.async_wait(kTuple);
    }
    impl_->changed.cancel();
}

asio::awaitable<Result<std::vector<Rows>>> Pool::batch(std::vector<Statement> statements) {
    auto deadline = Clock::now() + settings_.connect_timeout;
    auto conn = co_await impl_->acquire_shared(deadline);
    if (!conn) co_return std::move(conn).error();
    co_return co_await (*conn)->execute(statements, std::chrono::milliseconds(0));
}

asio::awaitable<Result<Rows>> Pool::query(std::string_view sql, Params params, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + (timeout.count() > 0 ? std::min(timeout, settings_.connect_timeout) : settings_.connect_timeout);
    auto conn = co_await impl_->acquire_shared(deadline);
    if (!conn) co_return std::move(conn).error();
    Statement st{sql, std::move(params)};
    auto r = co_await (*conn)->execute(std::span<const Statement>(&st, 1), timeout);
    if (!r) co_return std::move(r).error();
    co_return std::move(r->front());
}

asio::awaitable<Result<Transaction>> Pool::begin() {
    auto deadline = Clock::now() + settings_.connect_timeout;
    auto conn = co_await impl_->acquire_exclusive(deadline);
    if (!conn) co_return std::move(conn).error();
    co_return Transaction(*this, std::move(*conn));
}

PoolStatus Pool::status() const {
    PoolStatus s;
    for (auto& c : impl_->slots) {
        if (!c) continue;
        if (c->ready()) ++s.healthy;
        if (c->state() == Connection::State::kConnecting) ++s.connecting;
        if (c->exclusive) ++s.exclusive;
    }
    s.last_error = impl_->last_error;
    return s;
}

Pool& Pool::current() {
    if (!t_current) throw std::logic_error("no database pool on this thread");
    return *t_current;
}

void Pool::set_current(Pool* pool) { t_current = pool; }

}  // namespace flashbill::db
