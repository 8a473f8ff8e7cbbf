// The shared cache: hits, misses, TTLs, per-org invalidation and isolation, the in-process
// fallback, and correctness across a Redis outage (the epoch).

#include "redis/cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "redis_test_util.hpp"

namespace flashbill::redis {
namespace {

using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// A clock the test moves by hand.
struct FakeClock {
    Clock::time_point now = Clock::time_point{} + 1000h;
    Cache::NowFn fn() {
        return [this] { return now; };
    }
};

asio::awaitable<long long> integer_of(Client& c, std::vector<std::string> args) {
    auto r = co_await c.command(std::move(args));
    if (!r || r->is_nil()) co_return 0;
    co_return std::stoll(r->str);
}

// --- With the harness's Redis ------------------------------------------------------------------

TEST(Cache, MissesThenHitsWhatWasSet) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got1 = co_await wait_connected(*c);
        EXPECT_TRUE(got1);
        Cache cache;
        std::string org = unique("org");
        const double redis_hits = metric("cache_lookups_total{result=\"hit\",store=\"redis\"}");
        auto got2 = co_await cache.get(org, "invoices:list");
        EXPECT_EQ(got2, std::nullopt);
        co_await cache.set(org, "invoices:list", std::string("[1,2,\0,3]", 9), 60s);
        auto v = co_await cache.get(org, "invoices:list");
        EXPECT_EQ(v, std::string("[1,2,\0,3]", 9));
        EXPECT_EQ(metric("cache_lookups_total{result=\"hit\",store=\"redis\"}"), redis_hits + 1);
        EXPECT_EQ(cache.local_size(), 0u) << "with Redis up nothing goes to the local store";
        co_await c->close();
    });
}

TEST(Cache, EntriesStoredInRedisHaveTheirTtl) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got3 = co_await wait_connected(*c);
        EXPECT_TRUE(got3);
        Cache cache;
        std::string org = unique("org");
        co_await cache.set(org, "short", "v", 1s);
        co_await cache.set(org, "long", "v", 60s);
        auto got4 = co_await cache.get(org, "short");
        EXPECT_EQ(got4, "v");
        co_await sleep_for(1100ms);  // time is the subject
        auto got5 = co_await cache.get(org, "short");
        EXPECT_EQ(got5, std::nullopt);
        auto got6 = co_await cache.get(org, "long");
        EXPECT_EQ(got6, "v");
        co_await c->close();
    });
}

TEST(Cache, InvalidateOrgHidesEveryEarlierEntryOfThatOrgOnly) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got7 = co_await wait_connected(*c);
        EXPECT_TRUE(got7);
        Cache cache;
        std::string a = unique("org-a"), b = unique("org-b");
        co_await cache.set(a, "k1", "a1", 60s);
        co_await cache.set(a, "k2", "a2", 60s);
        co_await cache.set(b, "k1", "b1", 60s);
        co_await cache.invalidate_org(a);
        auto got8 = co_await cache.get(a, "k1");
        EXPECT_EQ(got8, std::nullopt);
        auto got9 = co_await cache.get(a, "k2");
        EXPECT_EQ(got9, std::nullopt);
        auto got10 = co_await cache.get(b, "k1");
        EXPECT_EQ(got10, "b1");
        // New entries after the invalidation are served.
        co_await cache.set(a, "k1", "a1-new", 60s);
        auto got11 = co_await cache.get(a, "k1");
        EXPECT_EQ(got11, "a1-new");
        co_await c->close();
    });
}

TEST(Cache, OrgsNeverSeeEachOthersEntriesEvenWithColonsInIds) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got12 = co_await wait_connected(*c);
        EXPECT_TRUE(got12);
        Cache cache;
        std::string base = unique("org");
        // Without escaping, {org}:{version}:{key} of these two would be the same Redis key.
        co_await cache.set(base + ":0", "k", "first", 60s);
        auto got13 = co_await cache.get(base, "0:k");
        EXPECT_EQ(got13, std::nullopt);
        co_await cache.set(base, "0:k", "second", 60s);
        auto got14 = co_await cache.get(base + ":0", "k");
        EXPECT_EQ(got14, "first");
        auto got15 = co_await cache.get(base, "0:k");
        EXPECT_EQ(got15, "second");
        co_await c->close();
    });
}

TEST(Cache, AnInvalidationOnAnotherNodeIsSeenAtOnce) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got16 = co_await wait_connected(*c);
        EXPECT_TRUE(got16);
        Cache node1, node2;  // two processes' caches over one Redis
        std::string org = unique("org");
        co_await node1.set(org, "report", "old", 60s);
        auto got17 = co_await node2.get(org, "report");
        EXPECT_EQ(got17, "old");
        co_await node2.invalidate_org(org);
        auto got18 = co_await node1.get(org, "report");
        EXPECT_EQ(got18, std::nullopt);
        co_await c->close();
    });
}

TEST(Cache, ASetOfDataLoadedBeforeAnInvalidationIsNotStored) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got19 = co_await wait_connected(*c);
        EXPECT_TRUE(got19);
        Cache cache, other_node;
        std::string org = unique("org");
        // get (miss) -> load from the database -> [another request writes and invalidates] -> set
        auto got20 = co_await cache.get(org, "client:1");
        EXPECT_EQ(got20, std::nullopt);
        co_await other_node.invalidate_org(org);
        co_await cache.set(org, "client:1", "stale", 60s);
        auto got21 = co_await cache.get(org, "client:1");
        EXPECT_EQ(got21, std::nullopt);
        // The next get/set round stores normally.
        co_await cache.set(org, "client:1", "fresh", 60s);
        auto got22 = co_await cache.get(org, "client:1");
        EXPECT_EQ(got22, "fresh");
        co_await c->close();
    });
}

// --- Without Redis: the in-process store -------------------------------------------------------

TEST(CacheLocal, WithoutRedisSetGetAndInvalidateWorkInProcess) {
    run_loop([](asio::io_context&) -> asio::awaitable<void> {
        EXPECT_EQ(Client::current(), nullptr);
        Cache cache;
        co_await cache.set("org-a", "k", "a", 60s);
        co_await cache.set("org-b", "k", "b", 60s);
        auto got23 = co_await cache.get("org-a", "k");
        EXPECT_EQ(got23, "a");
        auto got24 = co_await cache.get("org-b", "k");
        EXPECT_EQ(got24, "b");
        auto got25 = co_await cache.get("org-a", "other");
        EXPECT_EQ(got25, std::nullopt);
        co_await cache.invalidate_org("org-a");
        auto got26 = co_await cache.get("org-a", "k");
        EXPECT_EQ(got26, std::nullopt);
        auto got27 = co_await cache.get("org-b", "k");
        EXPECT_EQ(got27, "b");
        co_await cache.set("org-a", "k", "a2", 60s);
        auto got28 = co_await cache.get("org-a", "k");
        EXPECT_EQ(got28, "a2");
    });
}

TEST(CacheLocal, EntriesLiveAtMostTheirTtlAndTheLocalCap) {
    FakeClock clock;
    run_loop([&](asio::io_context&) -> asio::awaitable<void> {
        Cache cache(100, clock.fn());
        co_await cache.set("org", "short", "s", 3s);
        co_await cache.set("org", "long", "l", 3600s);
        clock.now += 2999ms;
        auto got29 = co_await cache.get("org", "short");
        EXPECT_EQ(got29, "s");
        clock.now += 1ms;
        auto got30 = co_await cache.get("org", "short");
        EXPECT_EQ(got30, std::nullopt);
        clock.now = clock.now - 3s + Cache::kLocalTtlCap - 1ms;
        auto got31 = co_await cache.get("org", "long");
        EXPECT_EQ(got31, "l");
        clock.now += 1ms;
        auto got32 = co_await cache.get("org", "long");
        EXPECT_EQ(got32, std::nullopt) << "other nodes cannot invalidate a local entry";
        co_await cache.set("org", "none", "x", 0s);
        auto got33 = co_await cache.get("org", "none");
        EXPECT_EQ(got33, std::nullopt);
    });
}

TEST(CacheLocal, IsBoundedAndEvictsTheLeastRecentlyUsed) {
    run_loop([](asio::io_context&) -> asio::awaitable<void> {
        Cache cache(3);
        co_await cache.set("org", "a", "1", 60s);
        co_await cache.set("org", "b", "2", 60s);
        co_await cache.set("org", "c", "3", 60s);
        auto got34 = co_await cache.get("org", "a");
        EXPECT_EQ(got34, "1");                     // a is now the most recently used
        co_await cache.set("org", "d", "4", 60s);  // evicts b
        EXPECT_EQ(cache.local_size(), 3u);
        auto got35 = co_await cache.get("org", "b");
        EXPECT_EQ(got35, std::nullopt);
        auto got36 = co_await cache.get("org", "a");
        EXPECT_EQ(got36, "1");
        auto got37 = co_await cache.get("org", "c");
        EXPECT_EQ(got37, "3");
        auto got38 = co_await cache.get("org", "d");
        EXPECT_EQ(got38, "4");
        for (int i = 0; i < 1000; ++i) co_await cache.set("org" + std::to_string(i), "k", "v", 60s);
        EXPECT_EQ(cache.local_size(), 3u);
    });
}

TEST(CacheLocal, ManyThreadsShareOneCacheSafely) {
    Cache cache(500);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            run_loop([&](asio::io_context&) -> asio::awaitable<void> {
                for (int i = 0; i < 3000; ++i) {
                    std::string org = "org" + std::to_string(i % 7);
                    std::string key = "k" + std::to_string(i % 50);
                    std::string value = org;
                    value += '/';
                    value += key;
                    if (i % 97 == 0) co_await cache.invalidate_org(org);
                    co_await cache.set(org, key, value, 60s);
                    auto v = co_await cache.get(org, key);
                    if (v && *v != value) ++wrong;
                }
                (void)t;
            });
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_LE(cache.local_size(), 500u);
}

// --- Across outages of a private Redis ---------------------------------------------------------

TEST(Cache, KeepsServingFromTheLocalStoreWhileRedisIsDown) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(redis.url()));
        auto got39 = co_await wait_connected(*c);
        EXPECT_TRUE(got39);
        Cache cache;
        co_await cache.set("org", "in-redis", "r", 60s);
        auto got40 = co_await redis.stop();
        EXPECT_TRUE(got40);
        auto got41 = co_await eventually([&] { return !c->connected(); }, 2s);
        EXPECT_TRUE(got41);

        auto got42 = co_await cache.get("org", "in-redis");
        EXPECT_EQ(got42, std::nullopt);  // a miss, not a failure
        co_await cache.set("org", "local", "l", 60s);
        EXPECT_EQ(cache.local_size(), 1u);
        auto got43 = co_await cache.get("org", "local");
        EXPECT_EQ(got43, "l");
        co_await cache.invalidate_org("org");
        auto got44 = co_await cache.get("org", "local");
        EXPECT_EQ(got44, std::nullopt);

        auto got45 = co_await redis.start();
        EXPECT_TRUE(got45);
        auto got46 = co_await wait_connected(*c);
        EXPECT_TRUE(got46);
        co_await cache.set("org", "after", "a", 60s);
        auto got47 = co_await cache.get("org", "after");
        EXPECT_EQ(got47, "a");
        auto keys = co_await c->command(cmd("KEYS", "fb:c:*:org:*:after"));
        EXPECT_TRUE(keys.ok() && keys->elements.size() == 1u) << "back in Redis after the restart";
        co_await c->close();
    });
}

// An outage that keeps Redis's data (the server is paused, not restarted): an invalidation made
// meanwhile cannot reach Redis, so after recovery the whole epoch must be abandoned.
TEST(Cache, AnInvalidationLostDuringAnOutageHidesOlderEntriesAfterRecovery) {
    OwnRedis redis;
    run_loop(
        [&](asio::io_context& ioc) -> asio::awaitable<void> {
            ScopedClient admin(ioc, settings_for(redis.url()), false);
            ScopedClient c(ioc, settings_for(redis.url(), 200ms, 200ms));
            auto got48 = co_await wait_connected(*c);
            EXPECT_TRUE(got48);
            Cache cache;
            co_await cache.set("org", "client:1", "before", 600s);
            co_await cache.set("other", "client:9", "unrelated", 600s);
            auto got49 = co_await cache.get("org", "client:1");
            EXPECT_EQ(got49, "before");
            const long long epoch_before = co_await integer_of(*admin, cmd("GET", "fb:c:epoch"));
            const long long version_before = co_await integer_of(*admin, cmd("GET", "fb:c:ver:org"));

            co_await must(*admin, cmd("CLIENT", "PAUSE", "1500", "ALL"));
            (void)co_await c->command(cmd("PING"));  // times out: the link is dropped
            auto got50 = co_await eventually([&] { return !c->connected(); }, 1s);
            EXPECT_TRUE(got50);
            co_await cache.invalidate_org("org");  // cannot reach Redis
            auto got51 = co_await cache.get("org", "client:1");
            EXPECT_EQ(got51, std::nullopt);

            auto got52 = co_await wait_connected(*c, 5s);
            EXPECT_TRUE(got52);
            auto got53 = co_await integer_of(*admin, cmd("GET", "fb:c:ver:org"));
            EXPECT_EQ(got53, version_before)
                << "the invalidation must really have been lost for this test to mean anything";
            auto old_keys = co_await admin->command(cmd("KEYS", "fb:c:" + std::to_string(epoch_before) + ":org:*"));
            EXPECT_TRUE(old_keys.ok() && old_keys->elements.size() == 1u) << "the stale entry is still in Redis";

            auto got54 = co_await cache.get("org", "client:1");
            EXPECT_EQ(got54, std::nullopt);
            auto got55 = co_await integer_of(*admin, cmd("GET", "fb:c:epoch"));
            EXPECT_EQ(got55, epoch_before + 1);
            auto got56 = co_await cache.get("other", "client:9");
            EXPECT_EQ(got56, std::nullopt) << "an epoch covers every org";
            co_await cache.set("org", "client:1", "after", 600s);
            auto got57 = co_await cache.get("org", "client:1");
            EXPECT_EQ(got57, "after");
            auto got58 = co_await integer_of(*admin, cmd("GET", "fb:c:epoch"));
            EXPECT_EQ(got58, epoch_before + 1) << "bumped once";
            co_await c->close();
            co_await admin->close();
        });
}

TEST(Cache, AReconnectWithoutLostInvalidationsKeepsTheEntries) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient admin(ioc, settings_for(redis.url()), false);
        ScopedClient c(ioc, settings_for(redis.url()));
        auto got59 = co_await wait_connected(*c);
        EXPECT_TRUE(got59);
        Cache cache;
        co_await cache.set("org", "k", "v", 600s);
        co_await must(*admin, cmd("CLIENT", "KILL", "TYPE", "normal"));
        auto got60 = co_await eventually([&] { return c->generation() == 2 && c->connected(); }, 3s);
        EXPECT_TRUE(got60);
        auto got61 = co_await cache.get("org", "k");
        EXPECT_EQ(got61, "v");
        auto got62 = co_await integer_of(*admin, cmd("GET", "fb:c:epoch"));
        EXPECT_EQ(got62, 0);
        co_await c->close();
        co_await admin->close();
    });
}

}  // namespace
}  // namespace flashbill::redis
