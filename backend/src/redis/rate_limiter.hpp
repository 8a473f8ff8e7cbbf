#pragma once
// Rate limiting with GCRA (the generic cell rate algorithm): a rule {name, limit, period} admits
// `limit` requests as a burst and then one every period/limit. Each key keeps one number, its
// theoretical arrival time (TAT), so a decision is one read and one write.
//
// RateLimiter runs GCRA as one Lua script in Redis, on Redis's clock (TIME), so every node shares
// one limit and one clock; its key is fb:rl:{rule.name}:{key} with a TTL of the time to a full
// refill. When the calling thread has no Redis client, or its link is down or Redis errs, the
// same algorithm runs in process (LocalRateLimiter): limits then hold per node instead of for the
// whole cluster, and no request fails because of Redis.
//
// Decision -> HTTP headers (API.md §1): RateLimit-Limit = limit, RateLimit-Remaining = remaining,
// RateLimit-Reset = reset_after (seconds until the key is fully refilled), Retry-After =
// retry_after (seconds, >= 1, only when denied).

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace flashbill::redis {

struct Rule {
    std::string name;  // part of the key: "auth", "login_account", "guest", "api"
    int limit = 0;     // requests per period (burst size); < 1 denies everything
    std::chrono::seconds period{60};
};

struct Decision {
    bool allowed = false;
    int limit = 0;
    int remaining = 0;
    std::chrono::seconds reset_after{0};
    std::chrono::seconds retry_after{0};
};

// GCRA in process, thread-safe (sharded locks). Memory is bounded: keys whose TAT has passed hold
// no information and are dropped as the table grows, and past `max_keys` the keys closest to a
// full refill go first.
class LocalRateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    using NowFn = std::function<Clock::time_point()>;

    explicit LocalRateLimiter(std::size_t max_keys = 100'000, NowFn now = {});
    ~LocalRateLimiter();
    LocalRateLimiter(const LocalRateLimiter&) = delete;
    LocalRateLimiter& operator=(const LocalRateLimiter&) = delete;

    // Takes `cost` units for `key` under `rule` (cost 0 only reports).
    Decision hit(const Rule& rule, std::string_view key, int cost = 1);
    // Drops every key that is fully refilled; returns how many went.
    std::size_t expire_idle();
    // Keys tracked now.
    std::size_t size() const;

    struct Shard;

private:
    static constexpr std::size_t kShards = 16;
    std::array<std::unique_ptr<Shard>, kShards> shards_;
    std::size_t shard_cap_;
    NowFn now_;
};

class RateLimiter {
public:
    // A process-wide object shared by every thread; `local_max_keys` bounds the fallback.
    explicit RateLimiter(std::size_t local_max_keys = 100'000);
    ~RateLimiter();
    RateLimiter(const RateLimiter&) = delete;
    RateLimiter& operator=(const RateLimiter&) = delete;

    // Decides one request. Uses the calling thread's redis::Client when it is connected, else the
    // in-process limiter; falling back is logged once per outage (warn, then info when Redis is
    // back) and shows in rate_limiter_fallback_total{reason} (each in-process decision) and
    // rate_limiter_degraded (1 while a connected-Redis thread falls back). Never throws.
    boost::asio::awaitable<Decision> hit(const Rule& rule, std::string_view key, int cost = 1);

    LocalRateLimiter& local() { return local_; }

private:
    LocalRateLimiter local_;
};

// The process-wide limiter every layer shares (so its in-process fallback is one table too).
RateLimiter& shared_rate_limiter();

}  // namespace flashbill::redis
