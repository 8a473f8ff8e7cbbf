#include "auth/guard.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <stdexcept>

#include "auth/runtime.hpp"
#include "mail/templates.hpp"

namespace flashbill::auth {

namespace asio = boost::asio;

namespace detail {

namespace {
Runtime g_runtime;
std::unique_ptr<mail::Templates> g_templates;
}  // namespace

Runtime& runtime() {
    if (!g_runtime.service) throw std::logic_error("auth::configure() was not called");
    return g_runtime;
}

void add_rate_headers(http::Response& r, const redis::Decision& d) {
    r.header("RateLimit-Limit", std::to_string(d.limit));
    r.header("RateLimit-Remaining", std::to_string(std::max(0, d.remaining)));
    r.header("RateLimit-Reset", std::to_string(d.reset_after.count()));
}

http::Response too_many(const http::RequestContext& ctx, std::chrono::seconds retry_after) {
    http::Response r = ctx.error(Error{ErrorCode::kRateLimited, "too many requests; retry later", {}});
    r.header("Retry-After", std::to_string(std::max<long long>(1, retry_after.count())));
    return r;
}

http::Response error_response(const http::RequestContext& ctx, const Error& e) {
    if (e.code == ErrorCode::kInternal || e.code == ErrorCode::kUnavailable) {
        spdlog::error("request {}: {} ({})", ctx.request_id(), e.message, e.cause);
    }
    http::Response r = ctx.error(e);
    if (e.code == ErrorCode::kUnauthorized) r.header("WWW-Authenticate", "Bearer");
    return r;
}

std::string bearer_token(const http::RequestContext& ctx) {
    std::string_view h = ctx.header("Authorization");
    if (h.size() < 7) return {};
    std::string scheme(h.substr(0, 7));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "bearer ") return {};
    h.remove_prefix(7);
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
    return std::string(h);
}

}  // namespace detail

namespace {

int rank(std::string_view role) { return role == "owner" ? 2 : role == "admin" ? 1 : 0; }
int rank(Role role) { return role == Role::kOwner ? 2 : role == Role::kAdmin ? 1 : 0; }

redis::Rule rule(std::string name, const config::Config::RateRule& r) { return redis::Rule{std::move(name), r.limit, r.period}; }

}  // namespace

void configure(const config::Config& config) {
    using detail::g_runtime;
    using detail::g_templates;
    if (config.mail_templates_dir.empty()) {
        g_templates = std::make_unique<mail::Templates>(mail::Templates::embedded());
    } else {
        auto t = mail::Templates::from_directory(config.mail_templates_dir);
        if (!t) throw std::runtime_error("MAIL_TEMPLATES_DIR: " + t.error().message);
        g_templates = std::make_unique<mail::Templates>(std::move(*t));
    }
    start_hash_pool(config.password_hash_threads);
    Settings s;
    s.jwt_secret = config.jwt_secret;
    s.password = PasswordParams{config.argon2_memory_kib, config.argon2_iterations, config.argon2_parallelism};
    s.refresh_ttl = config.refresh_token_ttl;
    s.app_url = config.app_url;
    while (!s.app_url.empty() && s.app_url.back() == '/') s.app_url.pop_back();
    g_runtime.per_ip = rule("auth", config.rate_limit_auth);
    g_runtime.api = rule("api", config.rate_limit_api);
    g_runtime.login_failures = rule("login_account", config.rate_limit_login_failures);
    g_runtime.account = rule("auth_account", config.rate_limit_auth_account);
    g_runtime.service = std::make_unique<Service>(std::move(s), *g_templates);
}

http::Handler guard(Role minimum, http::Handler inner) {
    return [minimum, inner = std::move(inner)](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
        auto& rt = detail::runtime();
        std::string token = detail::bearer_token(ctx);
        if (token.empty()) {
            Error e{ErrorCode::kUnauthorized, "authentication required: send Authorization: Bearer <token>", {}};
            co_return detail::error_response(ctx, e);
        }
        auto principal = co_await rt.service->authenticate(std::move(token));
        if (!principal) co_return detail::error_response(ctx, principal.error());
        std::string key = "u:" + principal->user_id;
        redis::Decision d = co_await redis::shared_rate_limiter().hit(rt.api, key, 1);
        http::Response r;
        if (!d.allowed) {
            r = detail::too_many(ctx, d.retry_after);
        } else if (rank(principal->role) < rank(minimum)) {
            r = ctx.error(Error{ErrorCode::kForbidden, "your role does not allow this action", {}});
        } else {
            ctx.set_principal(std::move(*principal));
            r = co_await inner(ctx);
        }
        detail::add_rate_headers(r, d);
        co_return r;
    };
}

}  // namespace flashbill::auth
