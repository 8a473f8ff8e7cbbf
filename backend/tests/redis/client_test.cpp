// The Redis client against real servers: reply types, binary safety, pipelining, AUTH/SELECT,
// reconnection, fail-fast while Redis is down, command timeouts; and URL parsing.

#include "redis/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "redis/link.hpp"
#include "redis_test_util.hpp"

namespace flashbill::redis {
namespace {

using namespace testing;
using namespace std::chrono_literals;
namespace asio = boost::asio;

std::string field_message(const Error& e) { return e.details.empty() ? "" : e.details.front().message; }

// --- URLs --------------------------------------------------------------------------------------

TEST(RedisUrl, ParsesHostPortPasswordAndDatabase) {
    auto t = detail::parse_target("redis://:s3cret@cache.internal:6380/2");
    ASSERT_TRUE(t.ok());
    EXPECT_FALSE(t->is_unix);
    EXPECT_EQ(t->host, "cache.internal");
    EXPECT_EQ(t->port, 6380);
    EXPECT_TRUE(t->has_password);
    EXPECT_EQ(t->user, "");
    EXPECT_EQ(t->password, "s3cret");
    EXPECT_EQ(t->db, 2);
}

TEST(RedisUrl, DefaultsToPort6379AndDatabaseZeroWithoutPassword) {
    auto t = detail::parse_target("redis://localhost");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->host, "localhost");
    EXPECT_EQ(t->port, 6379);
    EXPECT_EQ(t->db, 0);
    EXPECT_FALSE(t->has_password);
}

TEST(RedisUrl, DecodesPercentEscapesInUserAndPassword) {
    auto t = detail::parse_target("redis://app%2Duser:p%40ss%3Aw%2Frd@127.0.0.1:7000/0");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->user, "app-user");
    EXPECT_EQ(t->password, "p@ss:w/rd");
}

TEST(RedisUrl, AcceptsBracketedIpv6Hosts) {
    auto t = detail::parse_target("redis://[::1]:7001/1");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->host, "::1");
    EXPECT_EQ(t->port, 7001);
    EXPECT_EQ(t->db, 1);
}

TEST(RedisUrl, AcceptsUnixSocketsWithPasswordAndDatabase) {
    auto t = detail::parse_target("unix://:pw@/run/redis/redis.sock?db=3");
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->is_unix);
    EXPECT_EQ(t->path, "/run/redis/redis.sock");
    EXPECT_EQ(t->password, "pw");
    EXPECT_EQ(t->db, 3);
    EXPECT_TRUE(parse_url("unix:///tmp/redis.sock").ok());
}

TEST(RedisUrl, RejectsTlsWithAClearMessage) {
    auto r = parse_url("rediss://cache.example.com:6380/0");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kValidation);
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_EQ(r.error().details[0].field, "REDIS_URL");
    EXPECT_EQ(r.error().details[0].message, "TLS to Redis is not supported; use a local stunnel or a private network");
}

TEST(RedisUrl, RejectsMalformedUrlsNamingRedisUrl) {
    for (const char* url : {"http://localhost:6379", "localhost:6379", "redis://", "redis://:pw@", "redis://host:0",
                            "redis://host:99999", "redis://host:abc", "redis://host:", "redis://host/x",
                            "redis://host/-1", "redis://host?db=1", "redis://[::1", "redis://:bad%zzescape@host",
                            "unix://relative.sock", "unix:///tmp/r.sock?db=x", "unix:///tmp/r.sock?timeout=1"}) {
        auto r = parse_url(url);
        ASSERT_FALSE(r.ok()) << url;
        EXPECT_EQ(r.error().code, ErrorCode::kValidation) << url;
        ASSERT_EQ(r.error().details.size(), 1u) << url;
        EXPECT_EQ(r.error().details[0].field, "REDIS_URL") << url;
        EXPECT_FALSE(field_message(r.error()).empty()) << url;
    }
}

TEST(RedisUrl, ClientRefusesAnInvalidUrlAtConstruction) {
    asio::io_context ioc;
    EXPECT_THROW(Client(ioc, settings_for("rediss://x")), std::invalid_argument);
}

TEST(RespEncoding, EncodesEachArgumentAsALengthPrefixedBulkString) {
    std::string out;
    detail::encode_command(cmd("SET", "k", std::string("a\0\r\nb", 5), ""), out);
    using namespace std::string_literals;
    EXPECT_EQ(out, "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0\r\nb\r\n$0\r\n\r\n"s);
}

// --- Commands against the harness's Redis ------------------------------------------------------

TEST(RedisClient, ReturnsEveryReplyType) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        std::string k = unique("fbtest:types");

        auto status = co_await c->command(cmd("SET", k, "v"));
        EXPECT_TRUE(status.ok() && status->type == Reply::Type::kStatus && status->str == "OK");

        auto bulk = co_await c->command(cmd("GET", k));
        EXPECT_TRUE(bulk.ok() && bulk->type == Reply::Type::kString && bulk->str == "v");

        auto nil = co_await c->command(cmd("GET", k + ":absent"));
        EXPECT_TRUE(nil.ok() && nil->is_nil());

        // A Redis error reply is a value, not an Error.
        auto err = co_await c->command(cmd("INCR", k));
        CO_ASSERT_TRUE(err.ok());
        EXPECT_EQ(err->type, Reply::Type::kError);
        EXPECT_NE(err->str.find("not an integer"), std::string::npos) << err->str;

        auto unknown = co_await c->command(cmd("NO_SUCH_COMMAND"));
        CO_ASSERT_TRUE(unknown.ok());
        EXPECT_TRUE(unknown->is_error());

        auto integer = co_await c->command(cmd("INCRBY", k + ":n", "-42"));
        EXPECT_TRUE(integer.ok() && integer->type == Reply::Type::kInteger && integer->integer == -42);

        auto nested = co_await c->command(cmd("EVAL", "return {1, {2, 'x', {}}, 'y', false}", "0"));
        CO_ASSERT_TRUE(nested.ok());
        CO_ASSERT_TRUE((nested->type) == (Reply::Type::kArray));
        CO_ASSERT_TRUE((nested->elements.size()) == (4u));
        EXPECT_EQ(nested->elements[0].integer, 1);
        const auto& inner = nested->elements[1];
        CO_ASSERT_TRUE((inner.type) == (Reply::Type::kArray));
        CO_ASSERT_TRUE((inner.elements.size()) == (3u));
        EXPECT_EQ(inner.elements[0].integer, 2);
        EXPECT_EQ(inner.elements[1].str, "x");
        EXPECT_EQ(inner.elements[2].type, Reply::Type::kArray);
        EXPECT_TRUE(inner.elements[2].elements.empty());
        EXPECT_EQ(nested->elements[2].str, "y");
        EXPECT_TRUE(nested->elements[3].is_nil());

        auto empty = co_await c->command(cmd("LRANGE", k + ":nolist", "0", "-1"));
        EXPECT_TRUE(empty.ok() && empty->type == Reply::Type::kArray && empty->elements.empty());

        co_await must(*c, cmd("DEL", k, k + ":n"));
        co_await c->close();
    });
}

TEST(RedisClient, ValuesAreBinarySafe) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        std::string k = unique("fbtest:bin");
        using namespace std::string_literals;
        const std::string tricky = "\0a\r\nb\r\n$3\r\n*1\0\xff"s;
        std::string key_with_crlf = k + std::string("\r\n\0", 3);
        co_await must(*c, cmd("SET", key_with_crlf, tricky));
        auto r = co_await c->command(cmd("GET", key_with_crlf));
        CO_ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->str, tricky);

        // Larger than one socket read: the parser must assemble it across reads.
        std::string big(3 * 1024 * 1024 + 7, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) % 256);
        co_await must(*c, cmd("SET", k, big));
        auto b = co_await c->command(cmd("GET", k));
        CO_ASSERT_TRUE(b.ok());
        EXPECT_EQ(b->str.size(), big.size());
        EXPECT_TRUE(b->str == big);

        auto empty = co_await c->command(cmd("ECHO", ""));
        EXPECT_TRUE(empty.ok() && empty->type == Reply::Type::kString && empty->str.empty());
        co_await must(*c, cmd("DEL", k, key_with_crlf));
        co_await c->close();
    });
}

TEST(RedisClient, MatchesOneThousandConcurrentPipelinedCommandsToTheirReplies) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got1 = co_await wait_connected(*c);
        EXPECT_TRUE(got1);
        std::string k = unique("fbtest:pipe");
        constexpr int kN = 1000;
        int ok = 0, wrong = 0, done = 0;
        for (int i = 0; i < kN; ++i) {
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    // Different commands and reply types interleaved in one pipeline.
                    bool good = false;
                    switch (i % 4) {
                        case 0: {
                            auto r = co_await c->command(cmd("ECHO", "v" + std::to_string(i)));
                            good = r && r->str == "v" + std::to_string(i);
                            break;
                        }
                        case 1: {
                            auto r = co_await c->command(cmd("HSET", k, std::to_string(i), std::to_string(i * 7)));
                            good = r && r->type == Reply::Type::kInteger && r->integer == 1;
                            break;
                        }
                        case 2: {
                            auto r = co_await c->command(cmd("GET", k + ":nothing:" + std::to_string(i)));
                            good = r && r->is_nil();
                            break;
                        }
                        default: {
                            auto r = co_await c->command(
                                cmd("EVAL", "return {ARGV[1], tonumber(ARGV[1]) * 2}", "0", std::to_string(i)));
                            good = r && r->elements.size() == 2 && r->elements[0].str == std::to_string(i) &&
                                   r->elements[1].integer == 2LL * i;
                        }
                    }
                    ++(good ? ok : wrong);
                    ++done;
                },
                asio::detached);
        }
        auto got2 = co_await eventually([&] { return done == kN; }, 10s);
        EXPECT_TRUE(got2);
        EXPECT_EQ(ok, kN);
        EXPECT_EQ(wrong, 0);
        auto h = co_await c->command(cmd("HGET", k, "997"));
        EXPECT_TRUE(h.ok() && h->str == std::to_string(997 * 7));
        co_await must(*c, cmd("DEL", k));
        co_await c->close();
    });
}

TEST(RedisClient, ACommandIssuedDuringTheFirstConnectWaitsForIt) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        EXPECT_FALSE(c->connected());  // start() only began connecting
        auto r = co_await c->command(cmd("PING"));
        EXPECT_TRUE(r.ok() && r->str == "PONG");
        EXPECT_EQ(c->generation(), 1u);
        co_await c->close();
    });
}

TEST(RedisClient, UnreachableServerFailsFastWithUnavailable) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for("redis://127.0.0.1:" + std::to_string(free_port()) + "/0"));
        auto first = co_await c->command(cmd("PING"));  // the first attempt is awaited, and is refused
        CO_ASSERT_TRUE(!(first.ok()));
        EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
        auto start = Clock::now();
        for (int i = 0; i < 20; ++i) {
            auto r = co_await c->command(cmd("PING"));
            CO_ASSERT_TRUE(!(r.ok()));
            EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
        }
        EXPECT_LT(Clock::now() - start, 20ms) << "20 commands should fail without waiting";
        co_await c->close();
    });
}

TEST(RedisClient, CommandsAfterCloseFailWithUnavailable) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got3 = co_await wait_connected(*c);
        EXPECT_TRUE(got3);
        co_await c->close();
        EXPECT_FALSE(c->connected());
        auto r = co_await c->command(cmd("PING"));
        CO_ASSERT_TRUE(!(r.ok()));
        EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
    });
}

// Not a benchmark, but it prints the rate so regressions are visible in the test log.
TEST(RedisClient, SustainsAHighCommandRateOnOneLink) {
    run_loop([](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(test::redis_url()));
        auto got4 = co_await wait_connected(*c);
        EXPECT_TRUE(got4);
        std::string k = unique("fbtest:rate");
        // One at a time: the round trip.
        constexpr int kSerial = 2000;
        auto serial_start = Clock::now();
        int serial_ok = 0;
        for (int i = 0; i < kSerial; ++i) {
            auto r = co_await c->command(cmd("PING"));
            serial_ok += r && r->str == "PONG" ? 1 : 0;
        }
        double serial_secs = std::chrono::duration<double>(Clock::now() - serial_start).count();
        EXPECT_EQ(serial_ok, kSerial);
        std::printf("[ rate     ] %d PINGs one at a time: %.0f commands/s (%.1f us per round trip)\n", kSerial,
                    kSerial / serial_secs, serial_secs * 1e6 / kSerial);

        constexpr int kWorkers = 128;
        constexpr int kPerWorker = 400;
        int failures = 0, finished = 0;
        auto start = Clock::now();
        for (int w = 0; w < kWorkers; ++w) {
            asio::co_spawn(
                ioc,
                [&]() -> asio::awaitable<void> {
                    for (int i = 0; i < kPerWorker; ++i) {
                        auto r = co_await c->command(cmd("INCR", k));
                        if (!r || r->type != Reply::Type::kInteger) ++failures;
                    }
                    ++finished;
                },
                asio::detached);
        }
        auto got5 = co_await eventually([&] { return finished == kWorkers; }, 30s);
        EXPECT_TRUE(got5);
        double secs = std::chrono::duration<double>(Clock::now() - start).count();
        auto total = co_await c->command(cmd("GET", k));
        EXPECT_EQ(failures, 0);
        EXPECT_TRUE(total.ok() && total->str == std::to_string(kWorkers * kPerWorker));
        std::printf("[ rate     ] %d INCRs, %d in flight, one link: %.0f commands/s\n", kWorkers * kPerWorker, kWorkers,
                    kWorkers * kPerWorker / secs);
        ::testing::Test::RecordProperty("commands_per_second", static_cast<int>(kWorkers * kPerWorker / secs));
        co_await must(*c, cmd("DEL", k));
        co_await c->close();
    });
}

// --- Against a private Redis the test controls -------------------------------------------------

TEST(RedisClient, AuthenticatesAndSelectsTheDatabaseFromTheUrl) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient admin(ioc, settings_for(redis.url()), false);
        co_await must(*admin, cmd("CONFIG", "SET", "requirepass", "p@ss:w/rd"));  // admin stays authenticated

        std::string base = "127.0.0.1:" + std::to_string(redis.port());
        ScopedClient good(ioc, settings_for("redis://:p%40ss%3Aw%2Frd@" + base + "/3"), false);
        co_await must(*good, cmd("SET", "fbtest:db", "in-three"));
        co_await must(*admin, cmd("SELECT", "3"));
        auto seen = co_await admin->command(cmd("GET", "fbtest:db"));
        EXPECT_TRUE(seen.ok() && seen->str == "in-three");

        // The same with a named user (Redis 6 ACL form: AUTH user password).
        ScopedClient named(ioc, settings_for("redis://default:p%40ss%3Aw%2Frd@" + base + "/3"), false);
        auto named_get = co_await named->command(cmd("GET", "fbtest:db"));
        EXPECT_TRUE(named_get.ok() && named_get->str == "in-three");

        ScopedClient wrong(ioc, settings_for("redis://:nope@" + base + "/3"), false);
        auto refused = co_await wrong->command(cmd("PING"));
        CO_ASSERT_TRUE(!(refused.ok()));
        EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
        EXPECT_NE(refused.error().cause.find("AUTH"), std::string::npos) << refused.error().cause;

        ScopedClient none(ioc, settings_for("redis://" + base + "/0"), false);
        auto noauth = co_await none->command(cmd("PING"));
        CO_ASSERT_TRUE(!(noauth.ok()));
        EXPECT_FALSE(none->connected());

        co_await good->close();
        co_await named->close();
        co_await wrong->close();
        co_await none->close();
        co_await admin->close();
    });
}

TEST(RedisClient, ReconnectsAfterTheServerKillsItsLink) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient admin(ioc, settings_for(redis.url()), false);
        ScopedClient c(ioc, settings_for(redis.url()));
        auto id1 = co_await must(*c, cmd("CLIENT", "ID"));
        co_await must(*admin, cmd("PING"));
        const double reconnects = metric("redis_reconnects_total");
        auto killed = co_await must(*admin, cmd("CLIENT", "KILL", "TYPE", "normal"));  // SKIPME yes: not admin
        EXPECT_GE(killed.integer, 1);

        bool recovered = false;
        long long id2 = -1;
        auto deadline = Clock::now() + 2s;
        while (!recovered && Clock::now() < deadline) {
            auto r = co_await c->command(cmd("CLIENT", "ID"));
            if (r && r->type == Reply::Type::kInteger) {
                id2 = r->integer;
                recovered = id2 != id1.integer;
            } else {
                EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
                co_await sleep_for(5ms);
            }
        }
        EXPECT_TRUE(recovered) << "still on the killed link or not reconnected";
        EXPECT_EQ(c->generation(), 2u);
        EXPECT_EQ(metric("redis_reconnects_total"), reconnects + 1);
        co_await c->close();
        co_await admin->close();
    });
}

TEST(RedisClient, FailsFastWhileRedisIsDownAndRecoversSoonAfterARestart) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient c(ioc, settings_for(redis.url()));
        co_await must(*c, cmd("PING"));
        auto got6 = co_await redis.stop();
        EXPECT_TRUE(got6);
        auto got7 = co_await eventually([&] { return !c->connected(); }, 2s);
        EXPECT_TRUE(got7);

        // After the first refused reconnect, commands fail without waiting for anything.
        (void)co_await c->command(cmd("PING"));
        auto worst = Clock::duration::zero();
        for (int i = 0; i < 50; ++i) {
            auto t0 = Clock::now();
            auto r = co_await c->command(cmd("PING"));
            worst = std::max(worst, Clock::now() - t0);
            CO_ASSERT_TRUE(!(r.ok()));
            EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
            co_await sleep_for(2ms);
        }
        EXPECT_LT(worst, 5ms);

        // Let the backoff reach its cap, then restart: recovery within one probe interval.
        co_await sleep_for(1500ms);
        auto got8 = co_await redis.start();
        EXPECT_TRUE(got8);
        auto up = Clock::now();
        bool recovered = false;
        while (!recovered && Clock::now() - up < 3s) {
            auto r = co_await c->command(cmd("PING"));
            recovered = r.ok() && r->str == "PONG";
            if (!recovered) co_await sleep_for(5ms);
        }
        auto took = Clock::now() - up;
        EXPECT_TRUE(recovered);
        EXPECT_LT(took, 1000ms);
        std::printf("[ recovery ] first successful command %lld ms after the restart\n",
                    static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
        co_await c->close();
    });
}

TEST(RedisClient, ACommandTimeoutDropsTheLinkAndANewLinkServesLaterCommands) {
    OwnRedis redis;
    run_loop([&](asio::io_context& ioc) -> asio::awaitable<void> {
        ScopedClient admin(ioc, settings_for(redis.url()), false);
        ScopedClient c(ioc, settings_for(redis.url(), 300ms, 300ms));
        co_await must(*c, cmd("PING"));
        co_await must(*admin, cmd("PING"));
        const double timeouts = metric("redis_timeouts_total");
        co_await must(*admin, cmd("CLIENT", "PAUSE", "1200", "ALL"));

        auto t0 = Clock::now();
        auto r = co_await c->command(cmd("ECHO", "old"));
        auto waited = Clock::now() - t0;
        CO_ASSERT_TRUE(!(r.ok()));
        EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
        EXPECT_GE(waited, 290ms);
        EXPECT_LT(waited, 700ms);
        EXPECT_FALSE(c->connected()) << "the link that missed a deadline must be dropped";
        EXPECT_EQ(metric("redis_timeouts_total"), timeouts + 1);

        // While the server stays paused, reconnect attempts time out and commands fail fast.
        (void)co_await c->command(cmd("PING"));
        auto t1 = Clock::now();
        auto fast = co_await c->command(cmd("PING"));
        EXPECT_FALSE(fast.ok());
        EXPECT_LT(Clock::now() - t1, 50ms);

        // After the pause, a new link answers, with the reply to its own command (the old reply
        // can never be matched to a new request).
        bool back = false;
        auto deadline = Clock::now() + 4s;
        while (!back && Clock::now() < deadline) {
            auto e = co_await c->command(cmd("ECHO", "new"));
            if (e) {
                EXPECT_EQ(e->str, "new");
                back = true;
            } else {
                co_await sleep_for(10ms);
            }
        }
        EXPECT_TRUE(back);
        EXPECT_GE(c->generation(), 2u);
        co_await c->close();
        co_await admin->close();
    });
}

}  // namespace
}  // namespace flashbill::redis
