#include "db/connection.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "metrics/metrics.hpp"

namespace flashbill::db {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string trim_message(const char* m) {
    std::string s = m ? m : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

Error error_from_result(const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char* constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
    return map_sqlstate(state ? state : "", primary ? primary : "", constraint ? constraint : "");
}

void notice_processor(void*, const char* message) { spdlog::debug("postgres: {}", trim_message(message)); }

}  // namespace

Error map_sqlstate(std::string_view sqlstate, std::string_view message, std::string_view constraint) {
    Error e;
    e.cause = std::string(sqlstate) + ":" + std::string(constraint.empty() ? message : constraint);
    auto cls = sqlstate.substr(0, 2);
    if (sqlstate == "23505") {
        e.code = ErrorCode::kConflict;
        e.message = "a resource with the same unique value already exists";
    } else if (cls == "23") {
        e.code = ErrorCode::kConflict;
        e.message = "the change conflicts with related data";
    } else if (cls == "22") {
        e.code = ErrorCode::kValidation;
        e.message = "invalid value";
    } else if (sqlstate == "40001" || sqlstate == "40P01") {
        e.code = ErrorCode::kConflict;
        e.message = "concurrent update; please retry";
    } else if (sqlstate == "57014") {
        e.code = ErrorCode::kUnavailable;
        e.message = "database query timed out";
    } else if (cls == "08" || cls == "53" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03") {
        e.code = ErrorCode::kUnavailable;
        e.message = "database unavailable";
    } else {
        e.code = ErrorCode::kInternal;
        e.message = "internal error";
    }
    return e;
}

Connection::Connection(asio::io_context& ioc, const PoolSettings& settings)
    : ioc_(ioc), settings_(settings), socket_(ioc), deadline_timer_(ioc), write_signal_(ioc) {}

Connection::~Connection() {
    release_socket();
    if (conn_) PQfinish(conn_);
}

void Connection::release_socket() {
    if (socket_.is_open()) {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
        (void)socket_.release();  // libpq owns the descriptor; PQfinish closes it
    }
}

asio::awaitable<Result<void>> Connection::connect() {
    state_ = State::kConnecting;
    std::string timeout_opt = "-c statement_timeout=" + std::to_string(settings_.statement_timeout.count()) +
                              " -c TimeZone=UTC -c idle_in_transaction_session_timeout=" +
                              std::to_string(std::max<long long>(settings_.statement_timeout.count() * 2, 10'000));
    const char* keys[] = {"dbname", "application_name", "options", "client_encoding", nullptr};
    const char* vals[] = {settings_.url.c_str(), settings_.application_name.c_str(), timeout_opt.c_str(), "UTF8",
                          nullptr};
    conn_ = PQconnectStartParams(keys, vals, 1);
    auto deadline = Clock::now() + settings_.connect_timeout;
    std::string err;
    if (!conn_ || PQstatus(conn_) == CONNECTION_BAD) {
        err = conn_ ? trim_message(PQerrorMessage(conn_)) : "out of memory";
    } else {
        PQsetNoticeProcessor(conn_, notice_processor, nullptr);
        PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
        int fd = -1;
        asio::steady_timer timer(ioc_);
        while (poll != PGRES_POLLING_OK && poll != PGRES_POLLING_FAILED) {
            int now_fd = PQsocket(conn_);
            if (now_fd != fd) {
                release_socket();
                fd = now_fd;
                if (fd >= 0) socket_.assign(fd);
            }
            if (fd < 0) break;
            timer.expires_at(deadline);
            auto wait_type = poll == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                           : asio::posix::stream_descriptor::wait_write;
            auto which = co_await (socket_.async_wait(wait_type, kTuple) || timer.async_wait(kTuple));
            if (which.index() == 1) {
                err = "timed out after " + std::to_string(settings_.connect_timeout.count()) + " ms";
                break;
            }
            poll = PQconnectPoll(conn_);
        }
        if (err.empty() && poll != PGRES_POLLING_OK) err = trim_message(PQerrorMessage(conn_));
        if (err.empty() && PQsetnonblocking(conn_, 1) != 0) err = "cannot switch to non-blocking mode";
        if (err.empty() && PQenterPipelineMode(conn_) != 1) err = "cannot enter pipeline mode";
    }
    if (!err.empty()) {
        release_socket();
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        state_ = State::kBroken;
        last_error = err;
        co_return Error{ErrorCode::kUnavailable, "database unavailable", {}, "connect: " + err};
    }
    state_ = State::kReady;
    metrics::gauge_add("db_pool_connections", "state=\"ready\"", 1);
    auto self = shared_from_this();
    asio::co_spawn(ioc_, [self]() { return self->reader(); }, asio::detached);
    asio::co_spawn(ioc_, [self]() { return self->writer(); }, asio::detached);
    asio::co_spawn(ioc_, [self]() { return self->watchdog(); }, asio::detached);
    co_return Result<void>{};
}

const std::string* Connection::ensure_prepared(std::string_view sql, std::size_t nparams) {
    auto it = prepared_.find(std::string(sql));
    if (it != prepared_.end()) return &it->second;
    std::string name = "fb" + std::to_string(next_statement_++);
    std::string text(sql);
    if (PQsendPrepare(conn_, name.c_str(), text.c_str(), static_cast<int>(nparams), nullptr) != 1) return nullptr;
    if (PQpipelineSync(conn_) != 1) return nullptr;
    // A prepare travels in its own segment so its failure cannot abort anybody's request; later
    // requests may use the name at once because the pipeline keeps order.
    Pending p;
    p.count = 1;
    p.prepare_name = text;
    p.deadline = Clock::now() + settings_.statement_timeout + std::chrono::seconds(1);
    pending_.push_back(std::move(p));
    auto [ins, ok] = prepared_.emplace(std::move(text), std::move(name));
    return &ins->second;
}

bool Connection::send_segment(std::span<const Statement> statements, Pending& p) {
    // Prepares first (each in its own segment), so the request's statements stay in one segment.
    std::vector<const std::string*> names;
    names.reserve(statements.size());
    for (const auto& st : statements) {
        const std::string* name = ensure_prepared(st.sql, st.params.size());
        if (!name) return false;
        names.push_back(name);
    }
    std::vector<const char*> values;
    for (std::size_t i = 0; i < statements.size(); ++i) {
        values.clear();
        for (const auto& v : statements[i].params.values()) values.push_back(v ? v->c_str() : nullptr);
        if (PQsendQueryPrepared(conn_, names[i]->c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0) != 1) {
            return false;
        }
    }
    if (PQpipelineSync(conn_) != 1) return false;
    p.count = statements.size();
    p.sqls.reserve(statements.size());
    for (const auto& st : statements) p.sqls.push_back(st.sql);
    return true;
}

asio::awaitable<SegmentResult> Connection::execute(std::span<const Statement> statements,
                                                   std::chrono::milliseconds timeout) {
    if (!ready()) co_return Error{ErrorCode::kUnavailable, "database unavailable", {}, "connection not ready"};
    auto self = shared_from_this();
    Pending p;
    if (!send_segment(statements, p)) {
        std::string reason = trim_message(PQerrorMessage(conn_));
        fail("send failed: " + reason);
        co_return Error{ErrorCode::kUnavailable, "database unavailable", {}, reason};
    }
    auto waiter = std::make_shared<Waiter>(ioc_);
    p.deadline = Clock::now() + (timeout.count() > 0 ? timeout : settings_.statement_timeout + std::chrono::seconds(1));
    p.waiter = waiter;
    pending_.push_back(std::move(p));
    arm_watchdog();
    schedule_flush();
    while (!waiter->result) co_await waiter->signal.async_wait(kTuple);
    co_return std::move(*waiter->result);
}

void Connection::execute_detached(std::string_view sql) {
    if (!ready()) return;
    Statement st{sql, {}};
    Pending p;
    if (!send_segment(std::span<const Statement>(&st, 1), p)) {
        fail("send failed: " + trim_message(PQerrorMessage(conn_)));
        return;
    }
    p.deadline = Clock::now() + settings_.statement_timeout + std::chrono::seconds(1);
    pending_.push_back(std::move(p));
    arm_watchdog();
    schedule_flush();
}

void Connection::schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    // Coalesce every segment queued during this turn of the event loop into one write.
    asio::post(ioc_, [self = shared_from_this()] {
        self->flush_scheduled_ = false;
        self->flush();
    });
}

void Connection::flush() {
    if (!ready()) return;
    int r = PQflush(conn_);
    if (r < 0) {
        fail("flush failed: " + trim_message(PQerrorMessage(conn_)));
    } else if (r == 1 && !want_write_) {
        want_write_ = true;
        write_signal_.cancel();
    }
}

asio::awaitable<void> Connection::writer() {
    auto self = shared_from_this();
    while (ready()) {
        if (!want_write_) {
            write_signal_.expires_at(Clock::time_point::max());
            co_await write_signal_.async_wait(kTuple);
            continue;
        }
        auto [ec] = co_await socket_.async_wait(asio::posix::stream_descriptor::wait_write, kTuple);
        if (!ready()) break;
        if (ec) {
            fail("socket wait failed: " + ec.message());
            break;
        }
        int r = PQflush(conn_);
        if (r < 0) {
            fail("flush failed: " + trim_message(PQerrorMessage(conn_)));
            break;
        }
        want_write_ = r == 1;
    }
}

asio::awaitable<void> Connection::reader() {
    auto self = shared_from_this();
    while (ready()) {
        auto [ec] = co_await socket_.async_wait(asio::posix::stream_descriptor::wait_read, kTuple);
        if (!ready()) break;
        if (ec) {
            fail("socket wait failed: " + ec.message());
            break;
        }
        if (PQconsumeInput(conn_) != 1) {
            fail(trim_message(PQerrorMessage(conn_)));
            break;
        }
        process_results();
        if (ready() && want_write_) flush();
    }
}

void Connection::arm_watchdog() {
    // Only ever move the timer earlier; when it fires, the watchdog re-arms for the next deadline.
    if (!pending_.empty() && pending_.back().deadline < deadline_timer_.expiry()) {
        deadline_timer_.expires_at(pending_.back().deadline);
    }
}

asio::awaitable<void> Connection::watchdog() {
    auto self = shared_from_this();
    deadline_timer_.expires_at(Clock::time_point::max());
    while (ready()) {
        co_await deadline_timer_.async_wait(kTuple);
        if (!ready()) break;
        auto now = Clock::now();
        if (deadline_timer_.expiry() > now) continue;  // re-armed earlier; wait again
        auto next = Clock::time_point::max();
        bool expired = false;
        for (const auto& p : pending_) {
            if (p.deadline <= now) expired = true;
            next = std::min(next, p.deadline);
        }
        if (expired) {
            metrics::inc("db_timeouts_total");
            fail("no answer before the client deadline");
            break;
        }
        deadline_timer_.expires_at(next);
    }
}

void Connection::process_results() {
    while (ready() && !pending_.empty() && PQisBusy(conn_) == 0) {
        PGresult* r = PQgetResult(conn_);
        Pending& p = pending_.front();
        if (p.awaiting_sync) {
            ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
            if (r) PQclear(r);
            if (st != PGRES_PIPELINE_SYNC) {
                fail("protocol out of step: expected the end of a pipeline segment");
                return;
            }
            Pending done = std::move(p);
            pending_.pop_front();
            complete(done);
            continue;
        }
        if (!r) {
            if (++p.current >= p.count) p.awaiting_sync = true;
            continue;
        }
        switch (PQresultStatus(r)) {
            case PGRES_TUPLES_OK:
            case PGRES_COMMAND_OK:
                if (p.prepare_name.empty()) p.rows.emplace_back(std::shared_ptr<void>(r, [](void* x) {
                    PQclear(static_cast<PGresult*>(x));
                }));
                else PQclear(r);
                break;
            case PGRES_FATAL_ERROR:
                if (!p.error) {
                    p.error = error_from_result(r);
                    if (p.error->cause.rfind("26000:", 0) == 0 && p.current < p.sqls.size()) {
                        auto it = prepare_errors_.find(std::string(p.sqls[p.current]));
                        if (it != prepare_errors_.end()) p.error = it->second;
                    }
                }
                PQclear(r);
                break;
            case PGRES_PIPELINE_ABORTED:
                if (!p.error) p.error = Error{ErrorCode::kInternal, "internal error", {}, "pipeline aborted"};
                PQclear(r);
                break;
            case PGRES_PIPELINE_SYNC:
                PQclear(r);
                fail("protocol out of step: unexpected end of segment");
                return;
            default:
                PQclear(r);
                if (!p.error) p.error = Error{ErrorCode::kInternal, "internal error", {}, "unexpected result type"};
        }
    }
}

void Connection::complete(Pending& p) {
    if (!p.prepare_name.empty()) {
        if (p.error) {
            if (p.error->code == ErrorCode::kInternal) {
                spdlog::error("postgres: preparing a statement failed ({}): {}", p.error->cause, p.prepare_name);
            }
            // Requests already queued with this statement will see "does not exist"; they get
            // this error instead. The cache entry goes, so the next use prepares again.
            prepare_errors_.insert_or_assign(p.prepare_name, *p.error);
            prepared_.erase(p.prepare_name);
        } else {
            prepare_errors_.erase(p.prepare_name);
        }
        return;
    }
    if (p.error) {
        metrics::inc("db_queries_total", "status=\"error\"");
        if (p.error->code == ErrorCode::kInternal) spdlog::error("postgres: query failed: {}", p.error->cause);
    } else {
        metrics::inc("db_queries_total", "status=\"ok\"");
    }
    if (p.waiter) p.waiter->deliver(p.error ? SegmentResult(std::move(*p.error)) : SegmentResult(std::move(p.rows)));
    if (reserved && pending_.empty() && on_change) on_change();
}

void Connection::fail(const std::string& reason) {
    if (state_ == State::kBroken) return;
    bool was_ready = state_ == State::kReady;
    state_ = State::kBroken;
    last_error = reason;
    if (was_ready) {
        metrics::gauge_add("db_pool_connections", "state=\"ready\"", -1);
        spdlog::warn("postgres: connection lost: {}", reason);
        metrics::inc("db_connection_failures_total");
    }
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& p : pending) {
        if (p.waiter) p.waiter->deliver(Error{ErrorCode::kUnavailable, "database unavailable", {}, reason});
    }
    boost::system::error_code ignored;
    deadline_timer_.cancel();
    write_signal_.cancel();
    release_socket();
    if (conn_) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    if (on_change) asio::post(ioc_, [self = shared_from_this()] {
        if (self->on_change) self->on_change();
    });
}

void Connection::close(const std::string& reason) { fail(reason); }

}  // namespace flashbill::db
