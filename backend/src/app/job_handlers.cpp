#include "app/job_handlers.hpp"

#include <thread>

#include "core/json.hpp"

namespace flashbill::app {

namespace {

// test.record: records that the job's effect ran (idempotently keyed by job id, counting runs so
// tests can see re-runs), optionally after sleeping sleep_ms. The table is the test's own.
jobs::JobResult test_record(const jobs::Job& job, jobs::JobContext& ctx) {
    auto payload = json::parse(job.payload_json);
    if (!payload) return jobs::JobResult::dead("payload is not JSON");
    if (const auto* ms = payload->find("sleep_ms"); ms && ms->as_exact_int64()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(*ms->as_exact_int64()));
    }
    auto r = ctx.exec(
        "INSERT INTO test_job_effects (job_id, runs) VALUES ($1::uuid, 1) "
        "ON CONFLICT (job_id) DO UPDATE SET runs = test_job_effects.runs + 1",
        {job.id});
    if (!r) return jobs::JobResult::retry(r.error().cause);
    return jobs::JobResult::done();
}

}  // namespace

jobs::Registry make_job_registry(const config::Config& config) {
    jobs::Registry registry;
    registry.add("system.noop", [](const jobs::Job&, jobs::JobContext&) { return jobs::JobResult::done(); });
    if (config.test_routes) registry.add("test.record", test_record);
    return registry;
}

jobs::WorkerSettings worker_settings(const config::Config& config) {
    jobs::WorkerSettings s;
    s.database_url = config.database_url;
    s.concurrency = config.worker_concurrency;
    s.lease = config.job_lease;
    s.poll_interval = config.job_poll_interval;
    s.backoff_base = config.job_backoff_base;
    s.backoff_max = config.job_backoff_max;
    return s;
}

}  // namespace flashbill::app
