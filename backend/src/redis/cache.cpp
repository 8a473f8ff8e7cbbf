#include "redis/cache.hpp"

#include <spdlog/spdlog.h>

#include <list>
#include <mutex>
#include <unordered_map>

#include "metrics/metrics.hpp"
#include "redis/client.hpp"
#include "redis/script.hpp"

namespace flashbill::redis {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kEpochKey = "fb:c:epoch";
constexpr std::size_t kMaxTokens = 4096;

// KEYS[1] = the epoch key; ARGV = org (escaped), key. Returns {value or nil, epoch, version}.
const detail::Script kGetScript(R"lua(
local e = redis.call('GET', KEYS[1]) or '0'
local v = redis.call('GET', 'fb:c:ver:' .. ARGV[1]) or '0'
local val = redis.call('GET', 'fb:c:' .. e .. ':' .. ARGV[1] .. ':' .. v .. ':' .. ARGV[2])
return {val, e, v}
)lua");

// KEYS[1] = the epoch key; ARGV = org (escaped), key, value, ttl seconds, expected epoch and
// version ('' = whatever is current). Returns 1 when stored, 0 when the expectation was stale.
const detail::Script kSetScript(R"lua(
local e = redis.call('GET', KEYS[1]) or '0'
local v = redis.call('GET', 'fb:c:ver:' .. ARGV[1]) or '0'
if ARGV[5] ~= '' and (ARGV[5] ~= e or ARGV[6] ~= v) then return 0 end
redis.call('SET', 'fb:c:' .. e .. ':' .. ARGV[1] .. ':' .. v .. ':' .. ARGV[2], ARGV[3], 'EX', ARGV[4])
return 1
)lua");

// Org ids are UUIDs, but a ':' in one must not let two orgs' key spaces meet.
std::string escape_org(std::string_view org) {
    if (org.find_first_of("%:") == std::string_view::npos) return std::string(org);
    std::string out;
    for (char c : org) {
        if (c == '%')
            out += "%25";
        else if (c == ':')
            out += "%3A";
        else
            out += c;
    }
    return out;
}

std::string local_key(std::string_view org, std::string_view key) {
    std::string k = std::to_string(org.size());
    k += ':';
    k += org;
    k += key;
    return k;
}

// What a miss saw, for the set that usually follows (see the header). Concurrent misses of one
// key on one thread share the oldest token, counted, so each of their sets checks against it.
struct Token {
    std::string epoch;
    std::string version;
    int uses = 0;
};
thread_local std::unordered_map<std::string, Token> t_tokens;

std::string token_key(std::uint64_t cache_id, std::string_view org, std::string_view key) {
    return std::to_string(cache_id) + ':' + local_key(org, key);
}

std::atomic<std::uint64_t> g_next_id{1};

void count(std::string_view result, std::string_view store) {
    std::string labels = "result=\"";
    labels += result;
    labels += "\",store=\"";
    labels += store;
    labels += '"';
    metrics::inc("cache_lookups_total", labels);
}

void describe_metrics() {
    static std::once_flag once;
    std::call_once(once, [] {
        metrics::describe("cache_lookups_total", metrics::Type::kCounter,
                          "Cache lookups by result (hit|miss) and store (redis|local fallback).");
        metrics::describe("cache_epoch_bumps_total", metrics::Type::kCounter,
                          "Cache epochs started because invalidations could not reach Redis.");
    });
}

}  // namespace

// The in-process fallback: an LRU with TTLs and per-org versions, behind one mutex (it only
// carries traffic while Redis is absent or down).
struct Cache::Local {
    struct Entry {
        std::string key;  // local_key(org, key)
        std::string org;
        std::uint64_t version = 0;
        Clock::time_point expires;
        std::string value;
    };

    Local(std::size_t cap, NowFn n) : capacity(std::max<std::size_t>(cap, 1)), now(std::move(n)) {
        if (!now) now = [] { return Clock::now(); };
    }

    std::uint64_t version_of(const std::string& org) const {
        auto it = versions.find(org);
        return it == versions.end() ? floor : it->second;
    }

    std::optional<std::string> get(std::string_view org, std::string_view key) {
        std::lock_guard lock(mu);
        auto it = index.find(local_key(org, key));
        if (it == index.end()) return std::nullopt;
        auto e = it->second;
        if (e->expires <= now() || e->version != version_of(e->org)) {
            index.erase(it);
            entries.erase(e);
            return std::nullopt;
        }
        entries.splice(entries.begin(), entries, e);
        return e->value;
    }

    void set(std::string_view org, std::string_view key, std::string value, std::chrono::seconds ttl) {
        std::lock_guard lock(mu);
        std::string k = local_key(org, key);
        auto it = index.find(k);
        if (it != index.end()) {
            entries.erase(it->second);
            index.erase(it);
        }
        std::string o(org);
        auto version = version_of(o);
        entries.push_front(Entry{k, std::move(o), version, now() + std::min(ttl, kLocalTtlCap), std::move(value)});
        index.emplace(std::move(k), entries.begin());
        while (entries.size() > capacity) {
            index.erase(entries.back().key);
            entries.pop_back();
        }
    }

    void invalidate(std::string_view org) {
        std::lock_guard lock(mu);
        versions[std::string(org)] = ++counter;
        // Forgetting versions is safe only by moving the floor past every version handed out,
        // which orphans every entry: rare (more orgs invalidated than 4x the capacity).
        if (versions.size() > 4 * capacity + 1024) {
            versions.clear();
            floor = ++counter;
        }
    }

    std::size_t size() const {
        std::lock_guard lock(mu);
        return entries.size();
    }

    const std::size_t capacity;
    NowFn now;
    mutable std::mutex mu;
    std::list<Entry> entries;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    std::unordered_map<std::string, std::uint64_t> versions;
    std::uint64_t counter = 0;
    std::uint64_t floor = 0;
};

Cache::Cache(std::size_t local_capacity, NowFn now)
    : local_(std::make_unique<Local>(local_capacity, std::move(now))), id_(g_next_id++) {
    describe_metrics();
}

Cache::~Cache() = default;

namespace {

// Starts a new epoch if an invalidation was lost; false when that is still owed (Redis must
// then not be read).
asio::awaitable<bool> settle_epoch(Client& client, std::atomic<bool>& pending) {
    if (!pending.load(std::memory_order_acquire)) co_return true;
    if (!pending.exchange(false)) co_return true;
    auto r = co_await client.command(cmd("INCR", std::string(kEpochKey)));
    if (!r || r->type != Reply::Type::kInteger) {
        pending.store(true);
        co_return false;
    }
    metrics::inc("cache_epoch_bumps_total");
    spdlog::info("cache: started epoch {} because invalidations could not reach Redis", r->integer);
    co_return true;
}

}  // namespace

asio::awaitable<std::optional<std::string>> Cache::get(std::string_view org_id, std::string_view key) {
    Client* client = Client::current();
    if (client && client->connected()) {
        // Copies first: the views may not outlive the first suspension.
        std::string org = escape_org(org_id);
        std::string k(key);
        std::string tk = token_key(id_, org_id, key);
        bool usable = co_await settle_epoch(*client, epoch_bump_pending_);
        if (usable) {
            auto r = co_await detail::eval(*client, kGetScript, cmd(std::string(kEpochKey)), cmd(org, k));
            if (r && r->type == Reply::Type::kArray && r->elements.size() == 3) {
                auto& v = r->elements[0];
                if (v.type == Reply::Type::kString) {
                    count("hit", "redis");
                    co_return std::move(v.str);
                }
                if (t_tokens.size() >= kMaxTokens) t_tokens.clear();
                auto [slot, fresh] = t_tokens.try_emplace(std::move(tk), Token{r->elements[1].str, r->elements[2].str});
                ++slot->second.uses;
                count("miss", "redis");
                co_return std::nullopt;
            }
            if (r && r->is_error()) spdlog::warn("cache: get failed: {}", r->str);
        }
        auto v = local_->get(org_id, key);
        count(v ? "hit" : "miss", "local");
        co_return v;
    }
    auto v = local_->get(org_id, key);
    count(v ? "hit" : "miss", "local");
    co_return v;
}

asio::awaitable<void> Cache::set(std::string_view org_id, std::string_view key, std::string value,
                                 std::chrono::seconds ttl) {
    if (ttl.count() <= 0) co_return;
    Client* client = Client::current();
    if (client && client->connected()) {
        std::string org = escape_org(org_id);
        std::string k(key);
        std::string local_org(org_id);
        Token token;
        auto it = t_tokens.find(token_key(id_, org_id, key));
        if (it != t_tokens.end()) {
            token = it->second;
            if (--it->second.uses <= 0) t_tokens.erase(it);
        }
        bool usable = co_await settle_epoch(*client, epoch_bump_pending_);
        if (usable) {
            auto r = co_await detail::eval(*client, kSetScript, cmd(std::string(kEpochKey)),
                                           cmd(org, k, value, std::to_string(ttl.count()), token.epoch, token.version));
            if (r && r->type == Reply::Type::kInteger) co_return;
            if (r && r->is_error()) spdlog::warn("cache: set failed: {}", r->str);
        }
        local_->set(local_org, k, std::move(value), ttl);
        co_return;
    }
    local_->set(org_id, key, std::move(value), ttl);
}

asio::awaitable<void> Cache::invalidate_org(std::string_view org_id) {
    std::string local_org(org_id);
    local_->invalidate(local_org);
    Client* client = Client::current();
    if (client && client->connected()) {
        auto r = co_await client->command(cmd("INCR", "fb:c:ver:" + escape_org(local_org)));
        if (r && r->type == Reply::Type::kInteger) co_return;
        if (r && r->is_error()) spdlog::warn("cache: invalidation failed: {}", r->str);
    }
    // Nothing we can do now (and the request must not fail): the next operation that reaches
    // Redis starts a new epoch, so nothing this invalidation should have hidden is served.
    const bool first = !epoch_bump_pending_.exchange(true);
    if (first && client) {
        spdlog::warn("cache: an invalidation could not reach Redis; the cache epoch will be bumped when it is back");
    }
}

std::size_t Cache::local_size() const { return local_->size(); }

}  // namespace flashbill::redis
