// Rate limits through the real binary: shared by nodes through Redis, and kept in-process when
// Redis goes away, never failing a request because of Redis.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/json.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"
#include "own_service.hpp"
#include "server_process.hpp"
#include "test_db.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using namespace std::chrono_literals;

const std::string kLimited = "/api/v1/openapi.json";

// A node serves before its Redis links are up (limits are then in-process, per node); tests of the
// shared limit wait until every event loop of the node reports Redis (each connection may land on
// another loop, so several consecutive answers must agree).
void wait_until_redis_is_shared(int port) {
    auto give_up = std::chrono::steady_clock::now() + 10s;
    int consecutive = 0;
    while (consecutive < 8) {
        ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "Redis never reported up on port " << port;
        bool up = http_get(port, "/ready").body.find("\"redis\":{\"status\":\"ok\"") != std::string::npos;
        consecutive = up ? consecutive + 1 : 0;
        if (!up) std::this_thread::sleep_for(20ms);
    }
}

TEST(RateLimits, HoldAcrossTwoNodesSharingRedis) {
    TestDatabase db;
    OwnService redis("redis");
    std::map<std::string, std::string> env{
        {"DATABASE_URL", db.url()}, {"REDIS_URL", redis.url()}, {"RATE_LIMIT_API", "6/min"}};
    ServerProcess a(env), b(env);
    wait_until_redis_is_shared(a.port());
    wait_until_redis_is_shared(b.port());
    for (int i = 0; i < 3; ++i) {
        auto ra = http_get(a.port(), kLimited);
        auto rb = http_get(b.port(), kLimited);
        EXPECT_EQ(ra.status, 200);
        EXPECT_EQ(rb.status, 200);
        EXPECT_EQ(ra.header("RateLimit-Limit"), "6");
    }
    // Six requests were spread over two nodes: the seventh is refused, whichever node gets it.
    auto refused = http_get(a.port(), kLimited);
    ASSERT_EQ(refused.status, 429);
    auto err = json::parse(refused.body);
    ASSERT_TRUE(err.ok());
    EXPECT_EQ(err->find("error")->find("code")->as_string(), "RATE_LIMITED");
    int retry_after = std::atoi(refused.header("Retry-After").c_str());
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 60);
    EXPECT_EQ(refused.header("RateLimit-Remaining"), "0");
    EXPECT_FALSE(refused.header("RateLimit-Reset").empty());
    EXPECT_EQ(http_get(b.port(), kLimited).status, 429);
    // Health and readiness are never limited (monitors and load balancers poll them).
    for (int i = 0; i < 10; ++i) EXPECT_EQ(http_get(a.port(), "/health").status, 200);
}

TEST(RateLimits, ContinueInProcessWhenRedisStopsAndNoRequestFails) {
    TestDatabase db;
    OwnService redis("redis");
    ServerProcess server({{"DATABASE_URL", db.url()}, {"REDIS_URL", redis.url()}, {"RATE_LIMIT_API", "20/min"}});
    EXPECT_EQ(http_get(server.port(), kLimited).status, 200);
    redis.stop();
    // Every answer is a deliberate 200 or 429 — never a 5xx because Redis is gone.
    int ok = 0, limited = 0, other = 0;
    for (int i = 0; i < 40; ++i) {
        auto r = http_get(server.port(), kLimited);
        if (r.status == 200) ++ok;
        else if (r.status == 429) ++limited;
        else ++other;
    }
    EXPECT_EQ(other, 0);
    EXPECT_GT(limited, 0) << "limiting stopped with Redis";
    EXPECT_LE(ok, 20);
    auto ready = http_get(server.port(), "/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    auto doc = json::parse(ready.body);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->find("status")->as_string(), "degraded");
    EXPECT_EQ(doc->find("checks")->find("redis")->find("status")->as_string(), "unavailable");
    EXPECT_CONFORMS("GET", "/ready", ready);
    auto metrics = http_get(server.port(), "/metrics").body;
    EXPECT_NE(metrics.find("rate_limiter_fallback_total"), std::string::npos);

    redis.start();
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
        auto r = json::parse(http_get(server.port(), "/ready").body);
        back = r && r->find("status")->as_string() == "ok";
        if (!back) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(back) << "Redis recovery not seen by /ready";
}

TEST(RateLimits, ReadyReportsRedisWhenConfigured) {
    TestDatabase db;
    ServerProcess server({{"DATABASE_URL", db.url()}, {"REDIS_URL", redis_url()}});
    auto ready = http_get(server.port(), "/ready");
    ASSERT_EQ(ready.status, 200);
    auto doc = json::parse(ready.body);
    EXPECT_EQ(doc->find("status")->as_string(), "ok");
    EXPECT_EQ(doc->find("checks")->find("redis")->find("status")->as_string(), "ok");
}

}  // namespace
}  // namespace flashbill::test
