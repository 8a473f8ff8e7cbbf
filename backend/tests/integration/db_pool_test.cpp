// The async PostgreSQL layer against a real server: pipelining, isolation of concurrent requests,
// transactions, error mapping, deadlines and reconnection.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <thread>

#include "db/pool.hpp"
#include "test_db.hpp"
#include "test_env.hpp"

namespace flashbill::db {
namespace {

namespace asio = boost::asio;
using test::TestDatabase;

// Runs a coroutine to completion on its own io_context with a pool set up for it.
class PoolTest : public ::testing::Test {
protected:
    PoolSettings settings(int size = 2) {
        PoolSettings s;
        s.url = db_.url();
        s.size = size;
        s.statement_timeout = std::chrono::milliseconds(2000);
        s.connect_timeout = std::chrono::milliseconds(2000);
        return s;
    }

    template <class F>
    void run(PoolSettings s, F body) {
        asio::io_context ioc;
        Pool pool(ioc, s);
        pool.start();
        bool finished = false;
        std::exception_ptr error;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                co_await body(pool);
                co_await pool.close();
            },
            [&](std::exception_ptr e) {
                error = e;
                finished = true;
            });
        ioc.run_for(std::chrono::seconds(60));
        ASSERT_TRUE(finished) << "test coroutine did not finish";
        if (error) std::rethrow_exception(error);
    }

    TestDatabase db_;
};

asio::awaitable<void> sleep_ms(int ms) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await t.async_wait(asio::use_awaitable);
}

TEST_F(PoolTest, RunsTypedParametersAndReadsRows) {
    run(settings(), [](Pool& pool) -> asio::awaitable<void> {
        auto r = co_await pool.query("SELECT $1::bigint + 1 AS n, $2::text AS s, $3::text IS NULL AS isnull, $4::bool",
                                     Params(std::int64_t{41}, "héllo", std::nullopt, true));
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().cause);
        if (!r) co_return;
        EXPECT_EQ(r->size(), 1);
        EXPECT_EQ(r->int64(0, r->column("n")), 42);
        EXPECT_EQ(r->text(0, 1), "héllo");
        EXPECT_TRUE(r->boolean(0, 2));
        EXPECT_TRUE(r->boolean(0, 3));
    });
}

TEST_F(PoolTest, ManyConcurrentRequestsShareOnePipelinedConnection) {
    run(settings(1), [](Pool& pool) -> asio::awaitable<void> {
        constexpr int kN = 500;
        int ok = 0;
        int wrong = 0;
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < kN; ++i) {
            asio::co_spawn(
                ex,
                [&pool, &ok, &wrong, i]() -> asio::awaitable<void> {
                    auto r = co_await pool.query("SELECT $1::int * 2", Params(i));
                    if (r && r->int64(0, 0) == i * 2) ++ok;
                    else ++wrong;
                },
                asio::detached);
        }
        while (ok + wrong < kN) co_await sleep_ms(5);
        EXPECT_EQ(ok, kN);
        EXPECT_EQ(wrong, 0);
    });
}

TEST_F(PoolTest, OneFailingRequestDoesNotAbortItsNeighbours) {
    run(settings(1), [](Pool& pool) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        int done = 0;
        std::optional<Result<Rows>> a, b, c;
        auto launch = [&](std::optional<Result<Rows>>& out, std::string_view sql) {
            asio::co_spawn(
                ex,
                [&out, &done, &pool, sql]() -> asio::awaitable<void> {
                    out.emplace(co_await pool.query(sql));
                    ++done;
                },
                asio::detached);
        };
        launch(a, "SELECT 1");
        launch(b, "SELECT 1/0");  // division by zero in the middle of the pipeline
        launch(c, "SELECT 3");
        while (done < 3) co_await sleep_ms(2);
        EXPECT_TRUE(a->ok());
        EXPECT_FALSE(b->ok());
        EXPECT_TRUE(c->ok());
        if (*c) {
            EXPECT_EQ((*c)->int64(0, 0), 3);
        }
    });
}

TEST_F(PoolTest, BatchIsAtomic) {
    db_.exec("CREATE TABLE t (id int PRIMARY KEY)");
    run(settings(), [](Pool& pool) -> asio::awaitable<void> {
        std::vector<Statement> ok;
        ok.push_back({"INSERT INTO t VALUES ($1)", Params(1)});
        ok.push_back({"INSERT INTO t VALUES ($1)", Params(2)});
        auto r1 = co_await pool.batch(std::move(ok));
        EXPECT_TRUE(r1.ok());
        std::vector<Statement> bad;
        bad.push_back({"INSERT INTO t VALUES ($1)", Params(3)});
        bad.push_back({"INSERT INTO t VALUES ($1)", Params(1)});  // duplicate: the whole batch fails
        auto r2 = co_await pool.batch(std::move(bad));
        EXPECT_FALSE(r2.ok());
        if (!r2) {
            EXPECT_EQ(r2.error().code, ErrorCode::kConflict);
        }
        auto count = co_await pool.query("SELECT count(*) FROM t");
        EXPECT_EQ(count->int64(0, 0), 2);
    });
}

TEST_F(PoolTest, TransactionCommitsAndRollsBack) {
    db_.exec("CREATE TABLE t (id int PRIMARY KEY)");
    run(settings(), [](Pool& pool) -> asio::awaitable<void> {
        {
            auto tx = co_await pool.begin();
            EXPECT_TRUE(tx.ok());
            EXPECT_TRUE((co_await tx->query("INSERT INTO t VALUES (1)")).ok());
            EXPECT_TRUE((co_await tx->commit()).ok());
        }
        {
            auto tx = co_await pool.begin();
            EXPECT_TRUE((co_await tx->query("INSERT INTO t VALUES (2)")).ok());
            co_await tx->rollback();
        }
        {
            // Dropped without commit: rolled back.
            auto tx = co_await pool.begin();
            EXPECT_TRUE((co_await tx->query("INSERT INTO t VALUES (3)")).ok());
        }
        auto r = co_await pool.query("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM t");
        EXPECT_EQ(r->text(0, 0), "1");
    });
}

TEST_F(PoolTest, TransactionHoldsItsConnectionExclusively) {
    db_.exec("CREATE TABLE t (id int)");
    run(settings(2), [](Pool& pool) -> asio::awaitable<void> {
        auto tx = co_await pool.begin();
        EXPECT_TRUE((co_await tx->query("INSERT INTO t VALUES (1)")).ok());
        // Uncommitted work is invisible to a shared request: it ran on another connection.
        auto outside = co_await pool.query("SELECT count(*) FROM t");
        EXPECT_EQ(outside->int64(0, 0), 0);
        auto inside = co_await tx->query("SELECT count(*) FROM t");
        EXPECT_EQ(inside->int64(0, 0), 1);
        EXPECT_TRUE((co_await tx->commit()).ok());
        auto after = co_await pool.query("SELECT count(*) FROM t");
        EXPECT_EQ(after->int64(0, 0), 1);
    });
}

TEST_F(PoolTest, ConcurrentTransactionsSerialiseOnRowLocks) {
    db_.exec("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)");
    run(settings(4), [](Pool& pool) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        constexpr int kN = 40;
        int done = 0, failed = 0;
        for (int i = 0; i < kN; ++i) {
            asio::co_spawn(
                ex,
                [&]() -> asio::awaitable<void> {
                    auto tx = co_await pool.begin();
                    if (!tx) {
                        ++failed;
                        ++done;
                        co_return;
                    }
                    auto r = co_await tx->query("SELECT n FROM counter WHERE id = 1 FOR UPDATE");
                    auto n = r ? r->int64(0, 0) : -1;
                    auto w = co_await tx->query("UPDATE counter SET n = $1 WHERE id = 1", Params(n + 1));
                    auto c = co_await tx->commit();
                    if (!r || !w || !c) ++failed;
                    ++done;
                },
                asio::detached);
        }
        while (done < kN) co_await sleep_ms(5);
        EXPECT_EQ(failed, 0);
        auto r = co_await pool.query("SELECT n FROM counter WHERE id = 1");
        EXPECT_EQ(r->int64(0, 0), kN);  // no lost update
    });
}

TEST_F(PoolTest, MapsSqlStates) {
    db_.exec("CREATE TABLE u (email text UNIQUE)");
    run(settings(), [](Pool& pool) -> asio::awaitable<void> {
        EXPECT_TRUE((co_await pool.query("INSERT INTO u VALUES ('a@x.test')")).ok());
        auto dup = co_await pool.query("INSERT INTO u VALUES ('a@x.test')");
        EXPECT_FALSE(dup.ok());
        EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
        EXPECT_EQ(dup.error().cause, "23505:u_email_key");
        auto bad = co_await pool.query("SELECT 'nope'::uuid");
        EXPECT_EQ(bad.error().code, ErrorCode::kValidation);
        auto syntax = co_await pool.query("SELEKT 1");
        EXPECT_EQ(syntax.error().code, ErrorCode::kInternal);
        // The connection survives all of that.
        auto ok = co_await pool.query("SELECT 7");
        EXPECT_EQ(ok->int64(0, 0), 7);
    });
}

TEST_F(PoolTest, StatementTimeoutIsUnavailableAndConnectionSurvives) {
    auto s = settings(1);
    s.statement_timeout = std::chrono::milliseconds(200);
    run(s, [](Pool& pool) -> asio::awaitable<void> {
        auto slow = co_await pool.query("SELECT pg_sleep(2)");
        EXPECT_FALSE(slow.ok());
        EXPECT_EQ(slow.error().code, ErrorCode::kUnavailable);
        EXPECT_EQ(slow.error().cause.substr(0, 5), "57014");
        auto ok = co_await pool.query("SELECT 1");
        EXPECT_TRUE(ok.ok());
    });
}

TEST_F(PoolTest, ClientDeadlineDiscardsAConnectionThatDoesNotAnswer) {
    run(settings(1), [](Pool& pool) -> asio::awaitable<void> {
        auto start = std::chrono::steady_clock::now();
        auto r = co_await pool.query("SELECT pg_sleep(5)", {}, std::chrono::milliseconds(300));
        auto took = std::chrono::steady_clock::now() - start;
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
        EXPECT_LT(took, std::chrono::milliseconds(2000));
        // The pool replaces the discarded connection.
        std::optional<Result<Rows>> again;
        for (int i = 0; i < 100 && !(again && again->ok()); ++i) {
            again.emplace(co_await pool.query("SELECT 1"));
            if (!again->ok()) co_await sleep_ms(50);
        }
        EXPECT_TRUE(again && again->ok());
    });
}

TEST_F(PoolTest, ReconnectsAfterTheServerKillsTheConnection) {
    run(settings(1), [this](Pool& pool) -> asio::awaitable<void> {
        auto pid = co_await pool.query("SELECT pg_backend_pid()");
        EXPECT_TRUE(pid.ok());
        test::pg_scalar(test::pg_admin_url(), "SELECT pg_terminate_backend(" + std::string(pid->text(0, 0)) + ")");
        // Requests in the meantime fail cleanly; within a short time the pool is back.
        bool recovered = false;
        for (int i = 0; i < 100 && !recovered; ++i) {
            auto r = co_await pool.query("SELECT pg_backend_pid()");
            if (r && r->text(0, 0) != pid->text(0, 0)) recovered = true;
            else if (!r) {
                EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
            }
            if (!recovered) co_await sleep_ms(50);
        }
        EXPECT_TRUE(recovered);
        (void)this;
    });
}

TEST_F(PoolTest, UnreachableDatabaseFailsFastWithUnavailable) {
    PoolSettings s;
    s.url = "postgresql://flashbill@127.0.0.1:1/nowhere";  // nothing listens on port 1
    s.size = 1;
    s.connect_timeout = std::chrono::milliseconds(1000);
    run(s, [](Pool& pool) -> asio::awaitable<void> {
        co_await sleep_ms(200);  // let the first attempt fail
        auto start = std::chrono::steady_clock::now();
        auto r = co_await pool.query("SELECT 1");
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
        auto tx = co_await pool.begin();
        EXPECT_FALSE(tx.ok());
    });
}

}  // namespace
}  // namespace flashbill::db
