#include "jobs/worker.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>

#include "metrics/metrics.hpp"

namespace flashbill::jobs {

namespace {

using Clock = std::chrono::steady_clock;

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// A blocking connection owned by one worker thread. Any error drops the connection; the next
// call reconnects.
class BlockingConn {
public:
    explicit BlockingConn(std::string url) : url_(std::move(url)) {}
    ~BlockingConn() { reset(); }

    bool ensure() {
        if (conn_ && PQstatus(conn_) == CONNECTION_OK) return true;
        reset();
        conn_ = PQconnectdb(url_.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            error_ = PQerrorMessage(conn_);
            reset();
            return false;
        }
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
        return true;
    }

    // nullptr on failure (error() says why; the connection is dropped).
    ResultPtr exec(const char* sql, std::initializer_list<const char*> params = {}) {
        if (!ensure()) return nullptr;
        std::vector<const char*> values(params);
        ResultPtr r(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr,
                                 0));
        auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            error_ = conn_ ? PQerrorMessage(conn_) : "no connection";
            if (PQstatus(conn_) != CONNECTION_OK) reset();
            return nullptr;
        }
        return r;
    }

    PGconn* raw() { return conn_; }
    const std::string& error() const { return error_; }
    void reset() {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
    }

private:
    std::string url_;
    PGconn* conn_ = nullptr;
    std::string error_;
};

class ConnContext final : public JobContext {
public:
    explicit ConnContext(BlockingConn& c) : conn_(c) {}
    Result<std::vector<std::optional<std::string>>> exec(const std::string& sql,
                                                         const std::vector<std::optional<std::string>>& params) override {
        if (!conn_.ensure()) return Error{ErrorCode::kUnavailable, "database unavailable", {}, conn_.error()};
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
        ResultPtr r(PQexecParams(conn_.raw(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                 nullptr, nullptr, 0));
        auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            std::string why = conn_.raw() ? PQerrorMessage(conn_.raw()) : "no connection";
            if (PQstatus(conn_.raw()) != CONNECTION_OK) conn_.reset();
            return Error{ErrorCode::kInternal, "query failed", {}, why};
        }
        std::vector<std::optional<std::string>> row;
        if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) {
            for (int c = 0; c < PQnfields(r.get()); ++c) {
                if (PQgetisnull(r.get(), 0, c)) row.emplace_back(std::nullopt);
                else row.emplace_back(PQgetvalue(r.get(), 0, c));
            }
        }
        return row;
    }

private:
    BlockingConn& conn_;
};

constexpr const char* kLease =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
    "  locked_until = now() + make_interval(secs => $2::int), locked_by = $1 "
    "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now() "
    "            ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, kind, payload::text, coalesce(org_id::text, ''), attempts, max_attempts";

constexpr const char* kDone =
    "UPDATE jobs SET state = 'done', finished_at = now(), locked_until = NULL, locked_by = NULL, last_error = NULL "
    "WHERE id = $1 AND locked_by = $2 AND state = 'running'";

constexpr const char* kRetry =
    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
    "  finished_at = CASE WHEN attempts >= max_attempts THEN now() END, "
    "  run_at = now() + make_interval(secs => $3::double precision), last_error = $4, "
    "  locked_until = NULL, locked_by = NULL "
    "WHERE id = $1 AND locked_by = $2 AND state = 'running' RETURNING state";

constexpr const char* kDead =
    "UPDATE jobs SET state = 'dead', finished_at = now(), last_error = $3, locked_until = NULL, locked_by = NULL "
    "WHERE id = $1 AND locked_by = $2 AND state = 'running'";

// Leases whose worker died: back to the queue (or dead when that was the last attempt).
constexpr const char* kReclaim =
    "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
    "  finished_at = CASE WHEN attempts >= max_attempts THEN now() END, "
    "  last_error = 'lease expired: worker ' || coalesce(locked_by, '?') || ' did not finish', "
    "  run_at = now(), locked_until = NULL, locked_by = NULL "
    "WHERE state = 'running' AND locked_until < now() RETURNING id";

constexpr const char* kDepth =
    "SELECT (SELECT count(*) FROM jobs WHERE state = 'queued'), (SELECT count(*) FROM jobs WHERE state = 'running'), "
    "       (SELECT count(*) FROM jobs WHERE state = 'dead')";

constexpr const char* kRetention =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' "
    "  AND finished_at < now() - make_interval(hours => $1::int) LIMIT 1000)";

std::string host_name() {
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0) return "worker";
    return buf;
}

// Queue depth as last seen by any worker of this process (process-wide, like /metrics).
std::atomic<long long> g_depth_queued{0}, g_depth_running{0}, g_depth_dead{0};

void register_metrics_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        metrics::describe("jobs_processed_total", metrics::Type::kCounter, "Jobs run, by kind and outcome.");
        metrics::describe("job_duration_seconds", metrics::Type::kHistogram, "Job handler run time by kind.");
        metrics::describe("jobs_leases_expired_total", metrics::Type::kCounter,
                          "Leases taken back from workers that did not finish.");
        metrics::add_collector([](std::string& out) {
            out += "# HELP jobs_queue_depth Jobs by state (queued includes backing off; dead needs an operator).\n";
            out += "# TYPE jobs_queue_depth gauge\n";
            out += "jobs_queue_depth{state=\"queued\"} " + std::to_string(g_depth_queued.load()) + "\n";
            out += "jobs_queue_depth{state=\"running\"} " + std::to_string(g_depth_running.load()) + "\n";
            out += "jobs_queue_depth{state=\"dead\"} " + std::to_string(g_depth_dead.load()) + "\n";
        });
    });
}

std::string seconds_text(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(1000 + d.count() % 1000).substr(1);
}

}  // namespace

std::chrono::milliseconds retry_delay(const WorkerSettings& s, int attempt, double jitter_unit) {
    long long ms = s.backoff_base.count();
    for (int i = 1; i < attempt && ms < s.backoff_max.count(); ++i) ms *= 2;
    ms = std::min<long long>(ms, s.backoff_max.count());
    // jitter_unit in [0,1): spread retries over ±20 % so a burst of failures does not retry in lockstep.
    auto jitter = static_cast<long long>(static_cast<double>(ms) * 0.4 * (jitter_unit - 0.5));
    return std::chrono::milliseconds(std::max<long long>(1, ms + jitter));
}

struct Worker::Impl {
    Impl(WorkerSettings s, const Registry& r) : settings(std::move(s)), registry(r), id_base(host_name() + ":" + std::to_string(getpid())) {}

    WorkerSettings settings;
    const Registry& registry;
    std::string id_base;
    std::atomic<bool> stopping{false};
    std::mutex mu;
    std::condition_variable wake;
    std::uint64_t wake_seq = 0;  // guarded by mu: bumped on every notification
    std::vector<std::thread> threads;
    std::thread listener;
    int stop_fd = -1;

    void notify() {
        {
            std::lock_guard lock(mu);
            ++wake_seq;
        }
        wake.notify_all();
    }

    void run_listener() {
        BlockingConn conn(settings.database_url);
        bool listening = false;
        auto last_depth = Clock::time_point{};
        auto last_retention = Clock::now();
        bool warned = false;
        while (!stopping) {
            if (!listening) {
                if (conn.exec("LISTEN flashbill_jobs")) {
                    listening = true;
                    if (warned) spdlog::info("jobs: listening for new jobs again");
                    warned = false;
                } else if (!warned) {
                    spdlog::warn("jobs: cannot listen for new jobs ({}); polling", conn.error());
                    warned = true;
                }
            }
            // Housekeeping on every tick: reclaim expired leases, refresh the depth gauges.
            if (auto r = conn.exec(kReclaim); r && PQntuples(r.get()) > 0) {
                spdlog::warn("jobs: {} expired lease(s) returned to the queue", PQntuples(r.get()));
                metrics::inc("jobs_leases_expired_total", {}, static_cast<std::uint64_t>(PQntuples(r.get())));
                notify();
            }
            if (Clock::now() - last_depth > std::chrono::seconds(2)) {
                if (auto r = conn.exec(kDepth)) {
                    g_depth_queued = std::atoll(PQgetvalue(r.get(), 0, 0));
                    g_depth_running = std::atoll(PQgetvalue(r.get(), 0, 1));
                    g_depth_dead = std::atoll(PQgetvalue(r.get(), 0, 2));
                }
                last_depth = Clock::now();
            }
            if (Clock::now() - last_retention > std::chrono::minutes(10)) {
                std::string hours = std::to_string(settings.keep_done.count());
                (void)conn.exec(kRetention, {hours.c_str()});
                last_retention = Clock::now();
            }
            // Sleep until a notification, the stop signal or the poll interval.
            int pgfd = listening && conn.raw() ? PQsocket(conn.raw()) : -1;
            pollfd fds[2] = {{stop_fd, POLLIN, 0}, {pgfd, POLLIN, 0}};
            int n = ::poll(fds, pgfd >= 0 ? 2 : 1, static_cast<int>(settings.poll_interval.count()));
            if (stopping) break;
            if (n > 0 && pgfd >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
                if (PQconsumeInput(conn.raw()) != 1) {
                    listening = false;
                    conn.reset();
                    continue;
                }
                bool any = false;
                while (PGnotify* note = PQnotifies(conn.raw())) {
                    any = true;
                    PQfreemem(note);
                }
                if (any) notify();
            } else {
                notify();  // polling fallback: let workers look even without a notification
            }
            if (!listening) {
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        }
    }

    void run_worker(int index) {
        const std::string worker_id = id_base + ":" + std::to_string(index);
        BlockingConn conn(settings.database_url);
        std::mt19937_64 rng{std::random_device{}()};
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        const std::string lease_seconds = std::to_string(settings.lease.count());
        bool db_warned = false;
        while (!stopping) {
            std::uint64_t seen;
            {
                std::lock_guard lock(mu);
                seen = wake_seq;
            }
            ResultPtr leased = conn.exec(kLease, {worker_id.c_str(), lease_seconds.c_str()});
            if (!leased) {
                if (!db_warned) spdlog::warn("jobs: worker {} cannot lease: {}", worker_id, conn.error());
                db_warned = true;
                std::unique_lock lock(mu);
                wake.wait_for(lock, settings.poll_interval, [&] { return stopping.load(); });
                continue;
            }
            db_warned = false;
            if (PQntuples(leased.get()) == 0) {
                std::unique_lock lock(mu);
                wake.wait_for(lock, settings.poll_interval, [&] { return stopping.load() || wake_seq != seen; });
                continue;
            }
            Job job;
            job.id = PQgetvalue(leased.get(), 0, 0);
            job.kind = PQgetvalue(leased.get(), 0, 1);
            job.payload_json = PQgetvalue(leased.get(), 0, 2);
            job.org_id = PQgetvalue(leased.get(), 0, 3);
            job.attempts = std::atoi(PQgetvalue(leased.get(), 0, 4));
            job.max_attempts = std::atoi(PQgetvalue(leased.get(), 0, 5));
            leased.reset();
            run_job(conn, worker_id, job, unit(rng));
        }
    }

    void run_job(BlockingConn& conn, const std::string& worker_id, const Job& job, double jitter) {
        auto start = Clock::now();
        JobResult result;
        if (const Handler* h = registry.find(job.kind)) {
            try {
                ConnContext ctx(conn);
                result = (*h)(job, ctx);
            } catch (const std::exception& e) {
                result = JobResult::retry(std::string("handler threw: ") + e.what());
            }
        } else {
            // Possibly enqueued by a newer release during a rolling update: retry rather than lose it.
            result = JobResult::retry("no handler for kind '" + job.kind + "' in this worker");
        }
        auto elapsed = Clock::now() - start;
        std::string kind_label = "kind=\"" + job.kind + "\"";
        metrics::observe("job_duration_seconds", kind_label, elapsed);

        std::string_view outcome = "done";
        ResultPtr r;
        if (result.outcome == Outcome::kDone) {
            r = conn.exec(kDone, {job.id.c_str(), worker_id.c_str()});
        } else if (result.outcome == Outcome::kRetry) {
            auto delay = retry_delay(settings, job.attempts, jitter);
            std::string secs = seconds_text(delay);
            r = conn.exec(kRetry, {job.id.c_str(), worker_id.c_str(), secs.c_str(), result.error.c_str()});
            outcome = r && PQntuples(r.get()) > 0 && std::string_view(PQgetvalue(r.get(), 0, 0)) == "dead" ? "dead"
                                                                                                            : "retry";
            spdlog::warn("jobs: {} {} attempt {}/{} failed ({}): {}", job.kind, job.id, job.attempts,
                         job.max_attempts, outcome == "dead" ? "giving up" : "will retry", result.error);
        } else {
            outcome = "dead";
            r = conn.exec(kDead, {job.id.c_str(), worker_id.c_str(), result.error.c_str()});
            spdlog::error("jobs: {} {} failed permanently: {}", job.kind, job.id, result.error);
        }
        if (!r) {
            // The outcome could not be recorded: the lease will expire and the job runs again.
            spdlog::error("jobs: cannot record the outcome of {} {}: {}", job.kind, job.id, conn.error());
            outcome = "unrecorded";
        } else if (PQcmdTuples(r.get())[0] == '0') {
            spdlog::warn("jobs: lease of {} {} was lost before it finished; it will run again", job.kind, job.id);
            outcome = "lease_lost";
        }
        metrics::inc("jobs_processed_total", kind_label + ",outcome=\"" + std::string(outcome) + "\"");
    }
};

Worker::Worker(WorkerSettings settings, const Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(settings), registry)) {}

Worker::~Worker() { stop(); }

void Worker::start() {
    auto& s = *impl_;
    s.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    register_metrics_once();
    Impl* impl = impl_.get();
    s.listener = std::thread([impl] { impl->run_listener(); });
    for (int i = 0; i < std::max(1, s.settings.concurrency); ++i) {
        s.threads.emplace_back([impl, i] { impl->run_worker(i); });
    }
    spdlog::info("jobs: worker {} started with {} thread(s)", s.id_base, s.threads.size());
}

void Worker::stop() {
    auto& s = *impl_;
    if (s.stopping.exchange(true)) return;
    if (s.stop_fd >= 0) {
        std::uint64_t one = 1;
        (void)!::write(s.stop_fd, &one, sizeof one);
    }
    s.wake.notify_all();
    for (auto& t : s.threads) {
        if (t.joinable()) t.join();
    }
    if (s.listener.joinable()) s.listener.join();
    if (s.stop_fd >= 0) ::close(s.stop_fd);
    s.stop_fd = -1;
    spdlog::info("jobs: worker {} stopped", s.id_base);
}

}  // namespace flashbill::jobs
