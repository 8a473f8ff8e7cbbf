// The job queue against a real PostgreSQL: leasing, outcomes, retries with backoff, dead jobs,
// expired leases, NOTIFY wake-ups and transactional enqueue.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "jobs/queue.hpp"
#include "jobs/worker.hpp"
#include "test_db.hpp"

namespace flashbill::jobs {
namespace {

namespace asio = boost::asio;
using test::TestDatabase;
using namespace std::chrono_literals;

WorkerSettings fast(const TestDatabase& db) {
    WorkerSettings s;
    s.database_url = db.url();
    s.concurrency = 4;
    s.lease = std::chrono::seconds(30);
    s.poll_interval = 200ms;
    s.backoff_base = 20ms;
    s.backoff_max = 200ms;
    return s;
}

void enqueue_sql(const TestDatabase& db, const std::string& kind, int n, int max_attempts = 10) {
    db.exec("INSERT INTO jobs (kind, payload, max_attempts) SELECT '" + kind +
            "', jsonb_build_object('n', g), " + std::to_string(max_attempts) + " FROM generate_series(1, " +
            std::to_string(n) + ") g");
}

// Waits until the SQL scalar equals `want` (bounded).
bool eventually(const TestDatabase& db, const std::string& sql, const std::string& want,
                std::chrono::milliseconds within = 15s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        if (db.scalar(sql) == want) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

TEST(RetryDelay, DoublesFromTheBaseUpToTheCapWithBoundedJitter) {
    WorkerSettings s;
    s.backoff_base = 1000ms;
    s.backoff_max = 10'000ms;
    EXPECT_EQ(retry_delay(s, 1, 0.5), 1000ms);
    EXPECT_EQ(retry_delay(s, 2, 0.5), 2000ms);
    EXPECT_EQ(retry_delay(s, 3, 0.5), 4000ms);
    EXPECT_EQ(retry_delay(s, 10, 0.5), 10'000ms);
    EXPECT_EQ(retry_delay(s, 1, 0.0), 800ms);   // -20 %
    EXPECT_EQ(retry_delay(s, 1, 0.999), 1199ms);  // +20 %
    EXPECT_EQ(retry_delay(s, 60, 0.5), 10'000ms);  // no overflow on huge attempt counts
}

TEST(Worker, RunsEveryJobExactlyOnce) {
    TestDatabase db;
    enqueue_sql(db, "t.count", 300);
    std::mutex mu;
    std::multiset<std::string> seen;
    Registry reg;
    reg.add("t.count", [&](const Job& j, JobContext&) {
        std::lock_guard lock(mu);
        seen.insert(j.id);
        return JobResult::done();
    });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT count(*) FROM jobs WHERE state = 'done'", "300"));
    w.stop();
    EXPECT_EQ(seen.size(), 300u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 300u);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE attempts <> 1 OR locked_by IS NOT NULL"), "0");
}

TEST(Worker, TransientFailuresRetryWithBackoffThenSucceed) {
    TestDatabase db;
    enqueue_sql(db, "t.flaky", 5);
    std::atomic<int> calls{0};
    Registry reg;
    reg.add("t.flaky", [&](const Job& j, JobContext&) {
        ++calls;
        if (j.attempts < 3) return JobResult::retry("temporary failure " + std::to_string(j.attempts));
        return JobResult::done();
    });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT count(*) FROM jobs WHERE state = 'done' AND attempts = 3", "5"));
    w.stop();
    EXPECT_EQ(calls.load(), 15);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE last_error IS NOT NULL"), "0");  // cleared on success
}

TEST(Worker, PermanentFailureGoesDeadAtOnceWithTheReason) {
    TestDatabase db;
    enqueue_sql(db, "t.bad", 1);
    Registry reg;
    reg.add("t.bad", [](const Job&, JobContext&) { return JobResult::dead("550 5.1.1 no such user"); });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT state || ' ' || attempts FROM jobs", "dead 1"));
    w.stop();
    EXPECT_EQ(db.scalar("SELECT last_error FROM jobs"), "550 5.1.1 no such user");
    EXPECT_EQ(db.scalar("SELECT finished_at IS NOT NULL AND locked_until IS NULL FROM jobs"), "t");
}

TEST(Worker, GivesUpAfterMaxAttempts) {
    TestDatabase db;
    enqueue_sql(db, "t.always_fails", 1, 3);
    Registry reg;
    reg.add("t.always_fails", [](const Job& j, JobContext&) { return JobResult::retry("still down " + std::to_string(j.attempts)); });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT state || ' ' || attempts FROM jobs", "dead 3"));
    w.stop();
    EXPECT_EQ(db.scalar("SELECT last_error FROM jobs"), "still down 3");
}

TEST(Worker, HandlerExceptionsAndUnknownKindsAreRetriedNotLost) {
    TestDatabase db;
    enqueue_sql(db, "t.throws", 1, 2);
    enqueue_sql(db, "t.unknown", 1, 2);
    Registry reg;
    reg.add("t.throws", [](const Job&, JobContext&) -> JobResult { throw std::runtime_error("boom"); });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT count(*) FROM jobs WHERE state = 'dead' AND attempts = 2", "2"));
    w.stop();
    EXPECT_EQ(db.scalar("SELECT last_error FROM jobs WHERE kind = 't.throws'"), "handler threw: boom");
    EXPECT_EQ(db.scalar("SELECT last_error FROM jobs WHERE kind = 't.unknown'"),
              "no handler for kind 't.unknown' in this worker");
}

TEST(Worker, ExpiredLeaseOfADeadWorkerIsTakenBackAndRun) {
    TestDatabase db;
    db.exec("INSERT INTO jobs (kind, state, attempts, locked_until, locked_by) "
            "VALUES ('t.count', 'running', 1, now() - interval '1 second', 'gone-host:1:0')");
    std::atomic<int> runs{0};
    Registry reg;
    reg.add("t.count", [&](const Job&, JobContext&) {
        ++runs;
        return JobResult::done();
    });
    Worker w(fast(db), reg);
    w.start();
    EXPECT_TRUE(eventually(db, "SELECT state || ' ' || attempts FROM jobs", "done 2"));
    w.stop();
    EXPECT_EQ(runs.load(), 1);
}

TEST(Worker, NotifyWakesAnIdleWorkerWithoutWaitingForThePoll) {
    TestDatabase db;
    auto s = fast(db);
    s.poll_interval = 10s;  // only NOTIFY can make this fast
    s.concurrency = 1;
    Registry reg;
    reg.add("t.count", [](const Job&, JobContext&) { return JobResult::done(); });
    Worker w(s, reg);
    w.start();
    std::this_thread::sleep_for(300ms);  // let the worker go idle and the listener LISTEN
    auto start = std::chrono::steady_clock::now();
    enqueue_sql(db, "t.count", 1);
    EXPECT_TRUE(eventually(db, "SELECT state FROM jobs", "done", 5s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    w.stop();
}

TEST(Worker, StopLetsTheRunningJobFinish) {
    TestDatabase db;
    enqueue_sql(db, "t.slow", 1);
    std::atomic<bool> started{false};
    Registry reg;
    reg.add("t.slow", [&](const Job&, JobContext&) {
        started = true;
        std::this_thread::sleep_for(500ms);
        return JobResult::done();
    });
    Worker w(fast(db), reg);
    w.start();
    while (!started) std::this_thread::sleep_for(5ms);
    w.stop();
    EXPECT_EQ(db.scalar("SELECT state FROM jobs"), "done");
}

TEST(Queue, EnqueueFollowsTheTransaction) {
    TestDatabase db;
    asio::io_context ioc;
    db::PoolSettings ps;
    ps.url = db.url();
    ps.size = 2;
    db::Pool pool(ioc, ps);
    pool.start();
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            {
                auto tx = co_await pool.begin();
                EXPECT_TRUE(tx.ok());
                NewJob job{"t.count", R"({"a":1})", std::nullopt, 0s, 5};
                auto id = co_await enqueue(*tx, job);
                EXPECT_TRUE(id.ok());
                co_await tx->rollback();
            }
            {
                auto tx = co_await pool.begin();
                NewJob job{"t.count", R"({"a":2})", std::nullopt, 60s, 5};
                auto id = co_await enqueue(*tx, job);
                EXPECT_TRUE(id.ok());
                EXPECT_TRUE((co_await tx->commit()).ok());
            }
            // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
            NewJob bad_job{"Not A Kind!", "{}", std::nullopt, 0s, 5};
            auto bad = co_await enqueue(pool, bad_job);
            EXPECT_FALSE(bad.ok());
            co_await pool.close();
            finished = true;
        },
        asio::detached);
    ioc.run_for(20s);
    ASSERT_TRUE(finished);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs"), "1");
    EXPECT_EQ(db.scalar("SELECT payload->>'a' FROM jobs"), "2");
    EXPECT_EQ(db.scalar("SELECT run_at > now() + interval '50 seconds' AND max_attempts = 5 FROM jobs"), "t");
}

}  // namespace
}  // namespace flashbill::jobs
