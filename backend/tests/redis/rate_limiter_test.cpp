// Rate limiting: the in-process GCRA with a fake clock (no sleeps), and the Redis-backed limiter:
// exact limits, one limit shared by two nodes, NOSCRIPT recovery, fallback while Redis is down.

#include "redis/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "redis_test_util.hpp"

namespace flashbill::redis {
namespace {

using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using std::chrono::seconds;

struct FakeClock {
    LocalRateLimiter::Clock::time_point now = LocalRateLimiter::Clock::time_point{} + 1000h;
    LocalRateLimiter::NowFn fn() {
        return [this] { return now; };
    }
};

// --- LocalRateLimiter (unit: fake clock) -------------------------------------------------------

TEST(LocalRateLimiter, AdmitsABurstOfExactlyLimitThenDenies) {
    FakeClock clock;
    LocalRateLimiter rl(1000, clock.fn());
    Rule rule{"auth", 5, 60s};
    for (int i = 0; i < 5; ++i) {
        auto d = rl.hit(rule, "1.2.3.4");
        EXPECT_TRUE(d.allowed) << i;
        EXPECT_EQ(d.limit, 5);
        EXPECT_EQ(d.remaining, 4 - i);
        EXPECT_EQ(d.reset_after, seconds(12 * (i + 1)));  // until fully refilled
        EXPECT_EQ(d.retry_after, seconds(0));
    }
    auto denied = rl.hit(rule, "1.2.3.4");
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.remaining, 0);
    EXPECT_EQ(denied.retry_after, seconds(12));  // one emission interval: 60 s / 5
    EXPECT_EQ(denied.reset_after, seconds(60));
    // Denials take nothing: the wait does not grow with retries.
    EXPECT_EQ(rl.hit(rule, "1.2.3.4").retry_after, seconds(12));
}

TEST(LocalRateLimiter, RefillsOneUnitPerEmissionInterval) {
    FakeClock clock;
    LocalRateLimiter rl(1000, clock.fn());
    Rule rule{"api", 10, 60s};  // one unit every 6 s
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(rl.hit(rule, "u").allowed);
    EXPECT_FALSE(rl.hit(rule, "u").allowed);
    clock.now += 5999ms;
    auto early = rl.hit(rule, "u");
    EXPECT_FALSE(early.allowed);
    EXPECT_EQ(early.retry_after, seconds(1));  // 1 ms left, rounded up to a whole second
    clock.now += 1ms;
    auto one = rl.hit(rule, "u");
    EXPECT_TRUE(one.allowed);
    EXPECT_EQ(one.remaining, 0);
    EXPECT_FALSE(rl.hit(rule, "u").allowed);
    clock.now += 30s;  // five more units
    int admitted = 0;
    while (rl.hit(rule, "u").allowed) ++admitted;
    EXPECT_EQ(admitted, 5);
    clock.now += 60s;  // fully refilled, and never more than the burst
    admitted = 0;
    while (rl.hit(rule, "u").allowed) ++admitted;
    EXPECT_EQ(admitted, 10);
}

TEST(LocalRateLimiter, ACostTakesSeveralUnitsAndIsDeniedWhole) {
    FakeClock clock;
    LocalRateLimiter rl(1000, clock.fn());
    Rule rule{"export", 10, 100s};  // T = 10 s
    auto a = rl.hit(rule, "u", 4);
    EXPECT_TRUE(a.allowed);
    EXPECT_EQ(a.remaining, 6);
    EXPECT_TRUE(rl.hit(rule, "u", 4).allowed);
    auto c = rl.hit(rule, "u", 4);
    EXPECT_FALSE(c.allowed) << "only 2 units are left";
    EXPECT_EQ(c.remaining, 2);
    EXPECT_EQ(c.retry_after, seconds(20));  // two more units
    auto two = rl.hit(rule, "u", 2);
    EXPECT_TRUE(two.allowed) << "a denial takes nothing";
    EXPECT_EQ(two.remaining, 0);
    auto peek = rl.hit(rule, "u", 0);
    EXPECT_TRUE(peek.allowed);
    EXPECT_EQ(peek.remaining, 0);
}

TEST(LocalRateLimiter, ACostAboveTheLimitIsNeverAdmitted) {
    FakeClock clock;
    LocalRateLimiter rl(1000, clock.fn());
    Rule rule{"r", 3, 3s};
    auto d = rl.hit(rule, "u", 4);
    EXPECT_FALSE(d.allowed);
    EXPECT_GE(d.retry_after, seconds(1));
    EXPECT_TRUE(rl.hit(rule, "u", 3).allowed) << "the refused hit took nothing";
}

TEST(LocalRateLimiter, KeysAndRulesAreIndependent) {
    FakeClock clock;
    LocalRateLimiter rl(1000, clock.fn());
    Rule auth{"auth", 2, 60s}, guest{"guest", 2, 60s};
    EXPECT_TRUE(rl.hit(auth, "ip1").allowed);
    EXPECT_TRUE(rl.hit(auth, "ip1").allowed);
    EXPECT_FALSE(rl.hit(auth, "ip1").allowed);
    EXPECT_TRUE(rl.hit(auth, "ip2").allowed);
    EXPECT_TRUE(rl.hit(guest, "ip1").allowed);
}

TEST(LocalRateLimiter, AMisconfiguredRuleDenies) {
    LocalRateLimiter rl;
    auto zero = rl.hit(Rule{"r", 0, 60s}, "u");
    EXPECT_FALSE(zero.allowed);
    EXPECT_GE(zero.retry_after, seconds(1));
    EXPECT_FALSE(rl.hit(Rule{"r", 5, 0s}, "u").allowed);
}

TEST(LocalRateLimiter, ForgetsKeysOnceTheyAreFullyRefilled) {
    FakeClock clock;
    LocalRateLimiter rl(100'000, clock.fn());
    Rule rule{"r", 10, 60s};
    for (int i = 0; i < 1000; ++i) rl.hit(rule, "idle" + std::to_string(i));
    rl.hit(Rule{"slow", 1, 600s}, "busy");
    EXPECT_EQ(rl.size(), 1001u);
    clock.now += 6s;  // each idle key's single unit has come back
    EXPECT_EQ(rl.expire_idle(), 1000u);
    EXPECT_EQ(rl.size(), 1u);
    EXPECT_FALSE(rl.hit(Rule{"slow", 1, 600s}, "busy").allowed) << "a key still refilling is kept";

    // Without explicit sweeps, a stream of new keys does not grow the table past the live ones.
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 2000; ++i) rl.hit(rule, "r" + std::to_string(round) + "-" + std::to_string(i));
        clock.now += 7s;
    }
    EXPECT_LT(rl.size(), 8000u) << "idle keys of earlier rounds should have been swept";
}

TEST(LocalRateLimiter, StaysWithinMaxKeysAndKeepsTheKeysThatAreLimited) {
    FakeClock clock;
    LocalRateLimiter rl(1600, clock.fn());
    Rule tight{"tight", 3, 3600s};
    for (int i = 0; i < 3; ++i) rl.hit(tight, "attacker");
    EXPECT_FALSE(rl.hit(tight, "attacker").allowed);
    Rule loose{"loose", 100, 60s};
    for (int i = 0; i < 50'000; ++i) {
        rl.hit(loose, "k" + std::to_string(i));
        if (i % 1000 == 0) clock.now += 1ms;
    }
    EXPECT_LE(rl.size(), 1600u);
    EXPECT_FALSE(rl.hit(tight, "attacker").allowed) << "evictions take the keys closest to a full refill first";
}

TEST(LocalRateLimiter, IsSafeUnderConcurrentThreads) {
    LocalRateLimiter rl;
    Rule rule{"r", 1000, 3600s};
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 600; ++i) admitted += rl.hit(rule, "shared").allowed ? 1 : 0;
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(admitted.load(), 1000);
}

// --- RateLimiter with the harness's Redis ------------------------------------------------------

TEST(RateLimiter, AllowsExactlyTheLimitInRedisThenDeniesWithRetryAfter) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        bool up = co_await wait_connected(*c);
        CO_ASSERT_TRUE(up);
        RateLimiter rl;
        Rule rule{"auth", 5, 60s};
        std::string ip = unique("203.0.113.7");
        const double fallback = metric("rate_limiter_fallback_total{reason=\"unavailable\"}");
        for (int i = 0; i < 5; ++i) {
            auto d = co_await rl.hit(rule, ip);
            EXPECT_TRUE(d.allowed) << i;
            EXPECT_EQ(d.limit, 5);
            EXPECT_EQ(d.remaining, 4 - i);
            EXPECT_GE(d.reset_after, seconds(12 * (i + 1)));
            EXPECT_LE(d.reset_after, seconds(12 * (i + 1) + 1));
        }
        auto denied = co_await rl.hit(rule, ip);
        EXPECT_FALSE(denied.allowed);
        EXPECT_EQ(denied.remaining, 0);
        EXPECT_GE(denied.retry_after, seconds(11));
        EXPECT_LE(denied.retry_after, seconds(12));
        EXPECT_GE(denied.reset_after, seconds(59));
        EXPECT_LE(denied.reset_after, seconds(60));
        EXPECT_EQ(metric("rate_limiter_fallback_total{reason=\"unavailable\"}"), fallback) << "all decided in Redis";

        // The state lives in Redis under fb:rl:{rule}:{key}, expiring when fully refilled.
        auto pttl = co_await c->command(cmd("PTTL", "fb:rl:auth:" + ip));
        EXPECT_TRUE(pttl.ok() && pttl->integer > 58'000 && pttl->integer <= 60'000);
        // Another key is untouched.
        auto other = co_await rl.hit(rule, ip + "-other");
        EXPECT_TRUE(other.allowed);
        co_await c->close();
    });
}

TEST(RateLimiter, ChargesACostInRedis) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        bool up = co_await wait_connected(*c);
        CO_ASSERT_TRUE(up);
        RateLimiter rl;
        Rule rule{"export", 10, 100s};
        std::string key = unique("user");
        auto a = co_await rl.hit(rule, key, 7);
        EXPECT_TRUE(a.allowed);
        EXPECT_EQ(a.remaining, 3);
        auto b = co_await rl.hit(rule, key, 4);
        EXPECT_FALSE(b.allowed);
        EXPECT_EQ(b.remaining, 3);
        EXPECT_GE(b.retry_after, seconds(9));
        EXPECT_LE(b.retry_after, seconds(10));
        auto c3 = co_await rl.hit(rule, key, 3);
        EXPECT_TRUE(c3.allowed);
        EXPECT_EQ(c3.remaining, 0);
        co_await c->close();
    });
}

TEST(RateLimiter, TwoNodesWithTheirOwnLinksShareOneLimit) {
    const std::string key = unique("198.51.100.1");
    const Rule rule{"guest", 40, 60s};
    std::atomic<int> admitted{0};
    std::atomic<int> decided{0};
    std::atomic<int> ready{0};
    auto node = [&] {
        run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
            ScopedClient c(ioc, settings_for(test::redis_url()));
            bool up = co_await wait_connected(*c);
            EXPECT_TRUE(up);
            RateLimiter rl;  // each node its own limiter object and Redis link
            ++ready;
            co_await eventually([&] { return ready.load() == 2; }, 5s);
            for (int i = 0; i < 50; ++i) {
                auto d = co_await rl.hit(rule, key);
                if (d.allowed) ++admitted;
                ++decided;
            }
            co_await c->close();
        });
    };
    std::thread a(node), b(node);
    a.join();
    b.join();
    EXPECT_EQ(decided.load(), 100);
    EXPECT_EQ(admitted.load(), 40);
}

TEST(RateLimiter, KeepsWorkingAfterTheScriptCacheIsFlushed) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        bool up = co_await wait_connected(*c);
        CO_ASSERT_TRUE(up);
        RateLimiter rl;
        Rule rule{"api", 3, 60s};
        std::string key = unique("user");
        auto first = co_await rl.hit(rule, key);
        EXPECT_TRUE(first.allowed);
        co_await must(*c, cmd("SCRIPT", "FLUSH"));
        const double fallback = metric("rate_limiter_fallback_total{reason=\"unavailable\"}");
        const double loads = metric("redis_script_loads_total");
        auto second = co_await rl.hit(rule, key);
        EXPECT_TRUE(second.allowed);
        EXPECT_EQ(second.remaining, 1) << "decided in Redis, which counted the first hit";
        EXPECT_EQ(metric("rate_limiter_fallback_total{reason=\"unavailable\"}"), fallback);
        EXPECT_EQ(metric("redis_script_loads_total"), loads + 1);
        auto third = co_await rl.hit(rule, key);
        EXPECT_EQ(third.remaining, 0);
        EXPECT_EQ(metric("redis_script_loads_total"), loads + 1) << "EVAL cached the script again";
        co_await c->close();
    });
}

TEST(RateLimiter, WithoutRedisOnTheThreadLimitsInProcess) {
    run_loop([](asio::io_context&) -> asio::awaitable<void> {
        EXPECT_EQ(Client::current(), nullptr);
        RateLimiter rl;
        Rule rule{"auth", 2, 60s};
        const double no_redis = metric("rate_limiter_fallback_total{reason=\"no_redis\"}");
        auto a = co_await rl.hit(rule, "ip");
        auto b = co_await rl.hit(rule, "ip");
        auto c = co_await rl.hit(rule, "ip");
        EXPECT_TRUE(a.allowed && b.allowed);
        EXPECT_FALSE(c.allowed);
        EXPECT_EQ(c.retry_after, seconds(30));
        EXPECT_EQ(metric("rate_limiter_fallback_total{reason=\"no_redis\"}"), no_redis + 3);
        EXPECT_EQ(metric("rate_limiter_degraded"), 0) << "no Redis configured is not a degradation";
    });
}

// --- Across an outage of a private Redis -------------------------------------------------------

TEST(RateLimiter, LimitsInProcessWhileRedisIsDownAndReturnsToRedisAfter) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(redis.url()));
        bool up = co_await wait_connected(*c);
        CO_ASSERT_TRUE(up);
        RateLimiter rl;
        Rule rule{"auth", 3, 60s};
        auto in_redis = co_await rl.hit(rule, "before");
        EXPECT_TRUE(in_redis.allowed);
        EXPECT_EQ(metric("rate_limiter_degraded"), 0);

        bool stopped = co_await redis.stop();
        EXPECT_TRUE(stopped);
        bool down = co_await eventually([&] { return !c->connected(); }, 2s);
        EXPECT_TRUE(down);
        const double fallback = metric("rate_limiter_fallback_total{reason=\"unavailable\"}");
        int admitted = 0;
        auto t0 = Clock::now();
        for (int i = 0; i < 4; ++i) {
            auto d = co_await rl.hit(rule, "during");
            admitted += d.allowed ? 1 : 0;
            if (!d.allowed) {
                EXPECT_EQ(d.remaining, 0);
                EXPECT_EQ(d.retry_after, seconds(20));
            }
        }
        EXPECT_LT(Clock::now() - t0, 1000ms) << "no waiting on a dead Redis";
        EXPECT_EQ(admitted, 3);
        EXPECT_EQ(metric("rate_limiter_fallback_total{reason=\"unavailable\"}"), fallback + 4);
        EXPECT_EQ(metric("rate_limiter_degraded"), 1);

        bool started = co_await redis.start();
        EXPECT_TRUE(started);
        bool back = co_await wait_connected(*c, 3s);
        EXPECT_TRUE(back);
        auto after = co_await rl.hit(rule, "after");
        EXPECT_TRUE(after.allowed);
        EXPECT_EQ(metric("rate_limiter_degraded"), 0);
        EXPECT_EQ(metric("rate_limiter_fallback_total{reason=\"unavailable\"}"), fallback + 4);
        auto stored = co_await c->command(cmd("EXISTS", "fb:rl:auth:after"));
        EXPECT_TRUE(stored.ok() && stored->integer == 1) << "decided in Redis again";
        co_await c->close();
    });
}

}  // namespace
}  // namespace flashbill::redis
