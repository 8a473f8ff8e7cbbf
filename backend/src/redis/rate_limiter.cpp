#include "redis/rate_limiter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "metrics/metrics.hpp"
#include "redis/client.hpp"
#include "redis/script.hpp"

namespace flashbill::redis {

namespace asio = boost::asio;
using std::chrono::microseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

namespace {

// GCRA on Redis's clock, in microseconds. KEYS[1] = the key; ARGV = limit, period (µs), cost.
// T = period/limit is the emission interval and tau = period the tolerance, so an idle key admits
// exactly `limit` units at once. Returns {allowed, remaining, reset_after µs, retry_after µs}.
const detail::Script kGcraScript(R"lua(
local limit = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local T = tau / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + cost * T
local allow_at = new_tat - tau
if now < allow_at then
  return {0, math.floor((tau - (tat - now)) / T + 1e-9), math.ceil(tat - now), math.ceil(allow_at - now)}
end
if new_tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
end
return {1, math.floor((tau - (new_tat - now)) / T + 1e-9), math.ceil(new_tat - now), 0}
)lua");

template <class Rep, class Period>
seconds ceil_seconds(std::chrono::duration<Rep, Period> d) {
    if (d.count() <= 0) return seconds(0);
    return std::chrono::ceil<seconds>(d);
}

Decision invalid_rule(const Rule& rule) {
    // A misconfigured rule (limit < 1 or no period) denies: failing closed is visible at once.
    auto wait = std::max(rule.period, seconds(1));
    return Decision{false, rule.limit, 0, wait, wait};
}

bool valid(const Rule& rule) { return rule.limit >= 1 && rule.period.count() > 0; }

// Which threads with a Redis client are deciding in process. The gauge and the log follow the
// first thread to fall back and the last to recover, so one outage logs one warning.
std::atomic<int> g_degraded_threads{0};

struct DegradedFlag {
    bool on = false;
    ~DegradedFlag();
};
thread_local DegradedFlag t_degraded;

void enter_degraded(const std::string& reason) {
    if (t_degraded.on) return;
    t_degraded.on = true;
    if (g_degraded_threads.fetch_add(1) == 0) {
        metrics::gauge_add("rate_limiter_degraded", {}, 1);
        spdlog::warn("rate limiter: Redis unusable ({}); limiting in process, per node, until it is back", reason);
    }
}

void leave_degraded() {
    if (!t_degraded.on) return;
    t_degraded.on = false;
    if (g_degraded_threads.fetch_sub(1) == 1) {
        metrics::gauge_add("rate_limiter_degraded", {}, -1);
        spdlog::info("rate limiter: Redis is back; limits are shared by all nodes again");
    }
}

DegradedFlag::~DegradedFlag() { leave_degraded(); }

void describe_metrics() {
    static std::once_flag once;
    std::call_once(once, [] {
        metrics::describe("rate_limiter_fallback_total", metrics::Type::kCounter,
                          "Rate-limit decisions taken in process (reason: no_redis on this thread, or unavailable).");
        metrics::describe("rate_limiter_degraded", metrics::Type::kGauge,
                          "1 while the rate limiter cannot use Redis and limits per node.");
    });
}

}  // namespace

// --- LocalRateLimiter --------------------------------------------------------------------------

struct LocalRateLimiter::Shard {
    std::mutex mu;
    std::unordered_map<std::string, Clock::time_point> tats;
    std::size_t sweep_at = 256;

    std::size_t drop_idle(Clock::time_point now) {
        return std::erase_if(tats, [now](const auto& kv) { return kv.second <= now; });
    }

    // Called before adding a key: sweeps idle keys each time the table doubles, and at the cap
    // drops the tenth of the keys closest to a full refill (they carry the least information).
    void make_room(Clock::time_point now, std::size_t cap) {
        if (tats.size() < sweep_at && tats.size() < cap) return;
        drop_idle(now);
        if (tats.size() >= cap) {
            std::vector<Clock::time_point> all;
            all.reserve(tats.size());
            for (const auto& kv : tats) all.push_back(kv.second);
            std::size_t drop = tats.size() - cap * 9 / 10;
            std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(drop - 1), all.end());
            auto cutoff = all[drop - 1];
            std::erase_if(tats, [cutoff](const auto& kv) { return kv.second <= cutoff; });
        }
        sweep_at = std::max<std::size_t>(256, tats.size() * 2);
    }
};

LocalRateLimiter::LocalRateLimiter(std::size_t max_keys, NowFn now)
    : shard_cap_(std::max<std::size_t>(1, max_keys / kShards)), now_(std::move(now)) {
    if (!now_) now_ = [] { return Clock::now(); };
    for (auto& s : shards_) s = std::make_unique<Shard>();
}

LocalRateLimiter::~LocalRateLimiter() = default;

Decision LocalRateLimiter::hit(const Rule& rule, std::string_view key, int cost) {
    if (!valid(rule)) return invalid_rule(rule);
    cost = std::max(cost, 0);
    const nanoseconds tau = rule.period;
    const nanoseconds T = tau / rule.limit;
    std::string k = rule.name;
    k += '\0';
    k += key;
    Shard& shard = *shards_[std::hash<std::string>{}(k) % kShards];
    std::lock_guard lock(shard.mu);
    const auto now = now_();
    auto it = shard.tats.find(k);
    auto tat = it == shard.tats.end() ? now : std::max(it->second, now);
    const auto new_tat = tat + T * cost;
    const auto allow_at = new_tat - tau;
    Decision d;
    d.limit = rule.limit;
    if (now < allow_at) {
        d.allowed = false;
        d.remaining = static_cast<int>((tau - (tat - now)) / T);
        d.reset_after = ceil_seconds(tat - now);
        d.retry_after = std::max(seconds(1), ceil_seconds(allow_at - now));
    } else {
        d.allowed = true;
        d.remaining = static_cast<int>((tau - (new_tat - now)) / T);
        d.reset_after = ceil_seconds(new_tat - now);
        if (new_tat > now) {
            if (it != shard.tats.end()) {
                it->second = new_tat;
            } else {
                shard.make_room(now, shard_cap_);
                shard.tats.emplace(std::move(k), new_tat);
            }
        }
    }
    d.remaining = std::clamp(d.remaining, 0, rule.limit);
    return d;
}

std::size_t LocalRateLimiter::expire_idle() {
    std::size_t n = 0;
    for (auto& s : shards_) {
        std::lock_guard lock(s->mu);
        n += s->drop_idle(now_());
    }
    return n;
}

std::size_t LocalRateLimiter::size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mu);
        n += s->tats.size();
    }
    return n;
}

// --- RateLimiter -------------------------------------------------------------------------------

RateLimiter::RateLimiter(std::size_t local_max_keys) : local_(local_max_keys) { describe_metrics(); }

RateLimiter::~RateLimiter() = default;

asio::awaitable<Decision> RateLimiter::hit(const Rule& rule, std::string_view key, int cost) {
    if (!valid(rule)) co_return invalid_rule(rule);
    cost = std::max(cost, 0);
    std::string k(key);
    Client* client = Client::current();
    if (!client) {
        leave_degraded();  // no Redis on this thread is a configuration, not an outage
        metrics::inc("rate_limiter_fallback_total", "reason=\"no_redis\"");
        co_return local_.hit(rule, k, cost);
    }
    std::string reason = "not connected";
    if (client->connected()) {
        try {
            const auto period_us = std::chrono::duration_cast<microseconds>(rule.period).count();
            auto r =
                co_await detail::eval(*client, kGcraScript, cmd("fb:rl:" + rule.name + ":" + k),
                                      cmd(std::to_string(rule.limit), std::to_string(period_us), std::to_string(cost)));
            if (r && r->type == Reply::Type::kArray && r->elements.size() == 4 &&
                std::all_of(r->elements.begin(), r->elements.end(),
                            [](const Reply& e) { return e.type == Reply::Type::kInteger; })) {
                leave_degraded();
                Decision d;
                d.allowed = r->elements[0].integer == 1;
                d.limit = rule.limit;
                d.remaining = static_cast<int>(std::clamp<long long>(r->elements[1].integer, 0, rule.limit));
                d.reset_after = ceil_seconds(microseconds(r->elements[2].integer));
                d.retry_after =
                    d.allowed ? seconds(0) : std::max(seconds(1), ceil_seconds(microseconds(r->elements[3].integer)));
                co_return d;
            }
            reason = !r ? r.error().cause : r->is_error() ? r->str : std::string("unexpected reply");
        } catch (const std::exception& e) {
            reason = e.what();
        }
    }
    enter_degraded(reason);
    metrics::inc("rate_limiter_fallback_total", "reason=\"unavailable\"");
    co_return local_.hit(rule, k, cost);
}

RateLimiter& shared_rate_limiter() {
    static RateLimiter limiter;
    return limiter;
}

}  // namespace flashbill::redis
