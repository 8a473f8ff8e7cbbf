// The job worker as real processes: several workers share the queue, one is killed mid-run.

#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "server_process.hpp"
#include "test_db.hpp"

namespace flashbill::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> worker_env(const TestDatabase& db) {
    return {{"DATABASE_URL", db.url()},
            {"WORKER_CONCURRENCY", "4"},
            {"JOB_LEASE_SECONDS", "2"},
            {"JOB_POLL_INTERVAL_MS", "200"},
            {"JOB_BACKOFF_BASE_MS", "50"},
            {"JOB_BACKOFF_MAX_MS", "500"}};
}

TEST(WorkerProcesses, KilledWorkerLosesNoJobAndEffectsHappenOnce) {
    TestDatabase db;
    db.exec("CREATE TABLE test_job_effects (job_id uuid PRIMARY KEY, runs int NOT NULL)");
    db.exec("INSERT INTO jobs (kind, payload) SELECT 'test.record', '{\"sleep_ms\": 15}' FROM generate_series(1, 1000)");
    ServerProcess a(worker_env(db), false, {"worker"});
    ServerProcess b(worker_env(db), false, {"worker"});
    // Let both work, then kill one without warning while it holds leases.
    for (int i = 0; i < 200 && std::stoi(db.scalar("SELECT count(*) FROM jobs WHERE state = 'done'")) < 150; ++i) {
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(db.scalar("SELECT count(*) > 0 FROM jobs WHERE state = 'running'"), "t");
    a.signal(SIGKILL);
    ASSERT_EQ(a.wait_exit(5s), std::optional<int>(128 + SIGKILL));

    bool all_done = false;
    for (auto start = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - start < 60s;) {
        if (db.scalar("SELECT count(*) FROM jobs WHERE state = 'done'") == "1000") {
            all_done = true;
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(all_done) << db.scalar("SELECT string_agg(state || ':' || n, ' ') FROM "
                                       "(SELECT state, count(*) n FROM jobs GROUP BY state) s");
    // Every job's effect exists exactly once (the effect is keyed by job id)...
    EXPECT_EQ(db.scalar("SELECT count(*) FROM test_job_effects"), "1000");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs j LEFT JOIN test_job_effects e ON e.job_id = j.id "
                        "WHERE e.job_id IS NULL"),
              "0");
    // ...and only the jobs the killed worker was holding ran a second time (at most its 4 threads).
    int reruns = std::stoi(db.scalar("SELECT coalesce(sum(runs - 1), 0) FROM test_job_effects"));
    EXPECT_LE(reruns, 4);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM test_job_effects e JOIN jobs j ON j.id = e.job_id "
                        "WHERE e.runs > 1 AND j.attempts < 2"),
              "0");
    b.signal(SIGTERM);
    EXPECT_EQ(b.wait_exit(10s), std::optional<int>(0)) << b.log();
}

TEST(WorkerProcesses, ServeRunsAWorkerUnlessToldNot) {
    TestDatabase db;
    db.exec("CREATE TABLE test_job_effects (job_id uuid PRIMARY KEY, runs int NOT NULL)");
    {
        ServerProcess api_only(worker_env(db), true, {"serve", "--no-worker"});
        db.exec("INSERT INTO jobs (kind) VALUES ('test.record')");
        std::this_thread::sleep_for(1s);
        EXPECT_EQ(db.scalar("SELECT state FROM jobs"), "queued");
    }
    ServerProcess with_worker(worker_env(db), true, {"serve"});
    bool done = false;
    for (int i = 0; i < 100 && !done; ++i) {
        done = db.scalar("SELECT state FROM jobs") == "done";
        if (!done) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(done);
}

}  // namespace
}  // namespace flashbill::test
