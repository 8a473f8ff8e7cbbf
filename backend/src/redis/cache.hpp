#pragma once
// A shared cache for derived data (lists, reports, settings), namespaced per organisation.
//
// Layout in Redis: fb:c:{epoch}:{org}:{version}:{key} with a TTL, where
//   - {version} is fb:c:ver:{org}, INCRed by invalidate_org(): every earlier entry of that org
//     becomes unreachable at once (and expires by its TTL), on every node;
//   - {epoch} is fb:c:epoch, INCRed when this process lost an invalidation: an invalidate_org()
//     that did not certainly reach Redis (Redis down, absent on the calling thread, timed out or
//     failed). The bump is made by the first operation that finds a Redis link usable again, and
//     until it succeeds no Redis entry is read. Entries written before the outage can then no
//     longer be served, because the invalidation they missed is unknown. (Bumping only after a
//     lost invalidation, rather than at every reconnect, spares a cluster-wide cache flush when a
//     link merely blips.)
// Reads and writes are one Lua script each (one round trip). A get that misses remembers the
// epoch and version it saw, and the set that follows (the usual get / load / set) only writes if
// they are still current, so data loaded before a concurrent invalidation is never cached as new.
//
// When the calling thread has no Redis client or its link is down, the cache falls back to an
// in-process LRU (bounded, thread-safe) whose TTLs are capped at kLocalTtlCap, since other nodes
// cannot invalidate it. A cache failure never fails a request: every error reads as a miss.
//
// Deployment: the version and epoch keys have no TTL; run Redis with a volatile-* maxmemory
// policy (e.g. volatile-lru) so they are never evicted (an evicted version key would resurrect
// older entries). Non-cluster Redis only: the scripts build key names at run time.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flashbill::redis {

class Cache {
public:
    using Clock = std::chrono::steady_clock;
    using NowFn = std::function<Clock::time_point()>;  // the local store's clock (tests inject one)

    static constexpr std::chrono::seconds kLocalTtlCap{10};

    // A process-wide object shared by every thread; `local_capacity` bounds the fallback store.
    explicit Cache(std::size_t local_capacity = 10'000, NowFn now = {});
    ~Cache();
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    // The cached value, or nullopt on a miss (including any failure).
    boost::asio::awaitable<std::optional<std::string>> get(std::string_view org_id, std::string_view key);
    // Stores a value for `ttl` (a ttl <= 0 stores nothing).
    boost::asio::awaitable<void> set(std::string_view org_id, std::string_view key, std::string value,
                                     std::chrono::seconds ttl);
    // Makes every entry of the org stored so far unreachable, here and on every node.
    boost::asio::awaitable<void> invalidate_org(std::string_view org_id);

    // Entries in the in-process fallback store (for tests and diagnostics).
    std::size_t local_size() const;

    struct Local;

private:
    std::unique_ptr<Local> local_;
    std::atomic<bool> epoch_bump_pending_{false};
    const std::uint64_t id_;
};

}  // namespace flashbill::redis
