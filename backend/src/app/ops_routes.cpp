#include <openssl/crypto.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "app/routes.hpp"
#include "db/migrator.hpp"
#include "db/pool.hpp"
#include "metrics/metrics.hpp"
#include "redis/client.hpp"
#include "redis/rate_limiter.hpp"

namespace flashbill::app {

namespace asio = boost::asio;
using http::Method;
using http::RequestContext;
using http::Response;

namespace {

constexpr std::string_view kVersionSql = "SELECT coalesce(max(version), 0) FROM schema_migrations";

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

asio::awaitable<Response> ready(RequestContext& ctx, const config::Config& cfg) {
    auto& pool = db::Pool::current();
    auto r = co_await pool.query(kVersionSql, {}, std::chrono::milliseconds(1500));
    const int latest = db::latest_migration_version();
    json::Writer w;
    std::string_view overall = "ok";
    int status = 200;
    w.begin_object();
    w.key("checks").begin_object();
    w.key("postgres").begin_object();
    if (r) {
        w.field("status", "ok");
    } else {
        w.field("status", "unavailable");
        overall = "unavailable";
        status = 503;
    }
    w.end_object();
    w.key("migrations").begin_object();
    if (r) {
        std::int64_t version = r->int64(0, 0);
        bool current = version >= latest;
        w.field("status", current ? "ok" : "pending");
        w.field("version", version);
        w.field("expected", static_cast<std::int64_t>(latest));
        if (!current) {
            overall = "unavailable";
            status = 503;
        }
    } else {
        w.field("status", "unknown");
        w.key("version").null();
        w.field("expected", static_cast<std::int64_t>(latest));
    }
    w.end_object();
    w.key("redis").begin_object();
    if (!cfg.redis_url) {
        w.field("status", "not_configured");
    } else {
        bool up = false;
        if (auto* client = redis::Client::current()) {
            std::vector<std::string> ping{"PING"};
            auto pong = co_await client->command(std::move(ping));
            up = pong.ok() && pong->type != redis::Reply::Type::kError;
        }
        w.field("status", up ? "ok" : "unavailable");
        // Redis only speeds things up and shares limits; without it the node still serves.
        if (!up && status == 200) overall = "degraded";
    }
    w.end_object();
    w.end_object();
    w.field("status", overall);
    w.end_object();
    (void)ctx;
    co_return RequestContext::json(status, std::move(w).str());
}

}  // namespace

void add_ops_routes(http::Router& router, const config::Config& config) {
    router.add(Method::kGet, "/health", [](RequestContext&) -> asio::awaitable<Response> {
        co_return RequestContext::json(200, R"({"status":"ok"})");
    });
    router.add(Method::kGet, "/ready", [&config](RequestContext& ctx) { return ready(ctx, config); });
    router.add(Method::kGet, "/metrics", [&config](RequestContext& ctx) -> asio::awaitable<Response> {
        bool allowed = ctx.direct_loopback();
        if (!allowed && config.metrics_token) {
            std::string_view auth = ctx.header("Authorization");
            allowed = auth.starts_with("Bearer ") && constant_time_equal(auth.substr(7), *config.metrics_token);
        }
        if (!allowed) {
            co_return ctx.error(Error{ErrorCode::kForbidden,
                                      "metrics are served to loopback clients or with the metrics token", {}});
        }
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics::render();
        co_return r;
    });
    router.add(Method::kGet, "/api/v1/openapi.json",
               rate_limited(RateGroup::kApi, config, [](RequestContext&) -> asio::awaitable<Response> {
                   Response r;
                   r.body = openapi_json();
                   r.headers.push_back({"Cache-Control", "public, max-age=300"});
                   co_return r;
               }));
}

redis::RateLimiter& shared_limiter() { return redis::shared_rate_limiter(); }

http::Handler rate_limited(RateGroup group, const config::Config& config, http::Handler inner) {
    const config::Config::RateRule& rule = group == RateGroup::kAuth     ? config.rate_limit_auth
                                           : group == RateGroup::kPublic ? config.rate_limit_public
                                                                         : config.rate_limit_api;
    std::string name = group == RateGroup::kAuth ? "auth" : group == RateGroup::kPublic ? "public" : "api";
    redis::Rule limiter_rule{name, rule.limit, rule.period};
    return [limiter_rule, inner = std::move(inner)](RequestContext& ctx) -> asio::awaitable<Response> {
        std::string key = ctx.remote_address();
        redis::Decision d = co_await shared_limiter().hit(limiter_rule, key, 1);
        Response r;
        if (!d.allowed) {
            r = ctx.error(Error{ErrorCode::kRateLimited, "too many requests; retry later", {}});
            r.headers.push_back({"Retry-After", std::to_string(std::max<long long>(1, d.retry_after.count()))});
        } else {
            r = co_await inner(ctx);
        }
        r.headers.push_back({"RateLimit-Limit", std::to_string(d.limit)});
        r.headers.push_back({"RateLimit-Remaining", std::to_string(std::max(0, d.remaining))});
        r.headers.push_back({"RateLimit-Reset", std::to_string(d.reset_after.count())});
        co_return r;
    };
}

void add_test_routes(http::Router& router, const config::Config& config) {
    // The route table (method and pattern of every route), so the tenancy sweep test covers
    // every route with an id, including routes added after the test was written.
    router.add(Method::kGet, "/__test/routes", [&router](RequestContext&) -> asio::awaitable<Response> {
        json::Writer w;
        w.begin_array();
        for (const auto& r : router.routes()) {
            w.begin_object().field("method", http::method_name(r.method)).field("pattern", r.pattern).end_object();
        }
        w.end_array();
        co_return RequestContext::json(200, std::move(w).str());
    });
    // A database-backed request that takes `ms` milliseconds inside PostgreSQL.
    router.add(Method::kGet, "/__test/sleep", [](RequestContext& ctx) -> asio::awaitable<Response> {
        auto ms_text = ctx.query_param("ms").value_or("100");
        int ms = 0;
        auto [p, ec] = std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms);
        if (ec != std::errc() || ms < 0 || ms > 60'000) co_return ctx.error(Error::validation("ms", "0..60000"));
        auto r = co_await db::Pool::current().query("SELECT pg_sleep($1::double precision / 1000)", db::Params(ms));
        if (!r) co_return ctx.error(r.error());
        co_return RequestContext::json(200, R"({"slept_ms":)" + std::to_string(ms) + "}");
    });
    // A plain database read (the same SQL the readiness check runs).
    router.add(Method::kGet, "/__test/db", [](RequestContext& ctx) -> asio::awaitable<Response> {
        auto r = co_await db::Pool::current().query(kVersionSql);
        if (!r) co_return ctx.error(r.error());
        co_return RequestContext::json(200, R"({"version":)" + std::string(r->text(0, 0)) + "}");
    });
    // Echoes a JSON body (numbers verbatim) — exercises parsing, limits and error shapes.
    router.add(Method::kPost, "/__test/echo", [](RequestContext& ctx) -> asio::awaitable<Response> {
        auto body = ctx.json_body();
        if (!body) co_return ctx.error(body.error());
        co_return RequestContext::json(200, json::serialize(*body));
    });
    // The same with the upload-sized body limit (per-route limits).
    router.add(
        Method::kPost, "/__test/upload",
        [](RequestContext& ctx) -> asio::awaitable<Response> {
            co_return RequestContext::json(200, R"({"bytes":)" + std::to_string(ctx.body().size()) + "}");
        },
        http::RouteOptions{config.max_upload_bytes});
    // The newest queued email to an address (subject and text): lets any test follow a link that
    // was mailed (invitations, resets) without running an SMTP server.
    router.add(Method::kGet, "/__test/mail", [](RequestContext& ctx) -> asio::awaitable<Response> {
        auto to = ctx.query_param("to");
        if (!to) co_return ctx.error(Error::validation("to", "is required"));
        auto r = co_await db::Pool::current().query(
            "SELECT payload->>'subject', payload->>'text' FROM jobs WHERE kind = 'mail.send' AND payload->'to' ? $1 "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            db::Params(*to));
        if (!r) co_return ctx.error(r.error());
        if (r->empty()) co_return ctx.error(Error::not_found("no mail to that address"));
        json::Writer w;
        w.begin_object().field("subject", r->text(0, 0)).field("text", r->text(0, 1)).end_object();
        co_return RequestContext::json(200, std::move(w).str());
    });
    // Throws, to prove a handler bug becomes a 500 JSON answer and not a crash.
    router.add(Method::kGet, "/__test/throw", [](RequestContext&) -> asio::awaitable<Response> {
        throw std::runtime_error("deliberate failure for tests");
        co_return Response{};
    });
}

}  // namespace flashbill::app
