#pragma once
// The job worker: leases jobs from the jobs table and runs their handlers.
//
// Workers are plain threads with blocking libpq connections, deliberately apart from the HTTP
// event loops: job handlers may block (SMTP through libcurl, PDF rendering) and must never stall
// request handling. Any number of workers in any number of processes share the table:
//   - a job is leased with FOR UPDATE SKIP LOCKED and a lease deadline (locked_until);
//   - a lease that expires (the worker was killed) is taken back and the job runs again, so
//     handlers must be idempotent (mail uses a stable Message-ID per job);
//   - transient failures retry with exponential backoff and jitter up to max_attempts, permanent
//     ones go to the dead state at once, with the reason in last_error;
//   - workers sleep on LISTEN flashbill_jobs (NOTIFY from the insert trigger) with a polling
//     fallback, so a lost notification delays a job by at most one poll interval.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"

namespace flashbill::jobs {

struct Job {
    std::string id;
    std::string kind;
    std::string payload_json;
    std::string org_id;  // empty when none
    int attempts = 0;    // including this run
    int max_attempts = 0;
};

enum class Outcome { kDone, kRetry, kDead };

struct JobResult {
    Outcome outcome = Outcome::kDone;
    std::string error;  // recorded as last_error for kRetry and kDead

    static JobResult done() { return {Outcome::kDone, {}}; }
    static JobResult retry(std::string why) { return {Outcome::kRetry, std::move(why)}; }
    static JobResult dead(std::string why) { return {Outcome::kDead, std::move(why)}; }
};

// What a handler may use besides its job: the worker thread's own database connection.
class JobContext {
public:
    virtual ~JobContext() = default;
    // Runs one statement (text parameters, nullopt = NULL); returns the rows' first column values
    // of the first row, or an error. Each call is its own transaction.
    virtual Result<std::vector<std::optional<std::string>>> exec(const std::string& sql,
                                                                 const std::vector<std::optional<std::string>>& params) = 0;
};

// Runs on a worker thread; may block. Exceptions count as transient failures.
using Handler = std::function<JobResult(const Job&, JobContext&)>;

class Registry {
public:
    void add(std::string kind, Handler handler) { handlers_[std::move(kind)] = std::move(handler); }
    const Handler* find(const std::string& kind) const {
        auto it = handlers_.find(kind);
        return it == handlers_.end() ? nullptr : &it->second;
    }

private:
    std::map<std::string, Handler> handlers_;
};

struct WorkerSettings {
    std::string database_url;
    int concurrency = 2;                                // worker threads in this process
    std::chrono::seconds lease{60};                     // a handler must finish within it
    std::chrono::milliseconds poll_interval{1000};      // fallback when a NOTIFY is missed
    std::chrono::milliseconds backoff_base{5000};       // first retry delay; doubles per attempt
    std::chrono::milliseconds backoff_max{3'600'000};
    std::chrono::hours keep_done{24 * 7};               // done jobs are deleted after this
};

// Delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped, with ±20 % jitter.
std::chrono::milliseconds retry_delay(const WorkerSettings& s, int attempt, double jitter_unit);

class Worker {
public:
    Worker(WorkerSettings settings, const Registry& registry);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void start();
    // Stops leasing, lets running handlers finish (each is bounded by its lease), joins threads.
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace flashbill::jobs
