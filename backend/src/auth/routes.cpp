// HTTP mapping of API.md §2: parse and validate the body, apply the auth rate limits, call the
// service, write the answer. No rules live here beyond input shape and throttling.

#include "auth/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "auth/crypto.hpp"
#include "auth/guard.hpp"
#include "auth/runtime.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"

namespace flashbill::auth {

namespace asio = boost::asio;
using http::Method;
using http::RequestContext;
using http::Response;

namespace {

constexpr std::string_view kBase = "/api/v1";

// Reads fields of a JSON object body, collecting every problem (API.md §1: all offending fields).
class Fields {
public:
    explicit Fields(const json::Value& body) : body_(body) {}

    std::optional<std::string> required(std::string_view key, std::size_t max_len = 1000) {
        const json::Value* v = body_.find(key);
        if (!v || v->is_null()) {
            fail(key, "is required");
            return std::nullopt;
        }
        return string_of(key, *v, max_len, false);
    }
    std::optional<std::string> optional(std::string_view key, std::size_t max_len = 200) {
        const json::Value* v = body_.find(key);
        if (!v || v->is_null()) return std::nullopt;
        return string_of(key, *v, max_len, true);
    }
    Patch<std::string> patch(std::string_view key, std::size_t max_len = 200) {
        Patch<std::string> p;
        const json::Value* v = body_.find(key);
        if (!v) return p;
        p.present = true;
        if (!v->is_null()) p.value = string_of(key, *v, max_len, true);
        return p;
    }
    Patch<std::string> patch_object(std::string_view key) {
        Patch<std::string> p;
        const json::Value* v = body_.find(key);
        if (!v) return p;
        p.present = true;
        if (v->is_null()) return p;
        if (!v->is_object()) {
            fail(key, "must be an object");
            return p;
        }
        p.value = json::serialize(*v);
        return p;
    }
    std::optional<std::string> email(std::string_view key) {
        auto raw = required(key, 254);
        if (!raw) return std::nullopt;
        auto e = normalize_email(*raw);
        if (!e) fail(key, "must be a valid email address");
        return e;
    }
    std::optional<std::string> new_password(std::string_view key) {
        auto p = required(key, kMaxPasswordLength);
        if (!p) return std::nullopt;
        if (auto problem = password_problem(*p)) {
            fail(key, *problem);
            return std::nullopt;
        }
        return p;
    }
    bool flag(std::string_view key) {
        const json::Value* v = body_.find(key);
        if (!v || v->is_null()) return false;
        if (!v->is_bool()) {
            fail(key, "must be a boolean");
            return false;
        }
        return v->as_bool();
    }
    void fail(std::string_view key, std::string message) { errors_.push_back(FieldError{std::string(key), std::move(message)}); }
    bool ok() const { return errors_.empty(); }
    Error error() const { return Error{ErrorCode::kValidation, "validation failed", errors_}; }

private:
    std::optional<std::string> string_of(std::string_view key, const json::Value& v, std::size_t max_len,
                                         bool allow_empty) {
        if (!v.is_string()) {
            fail(key, "must be a string");
            return std::nullopt;
        }
        const std::string& s = v.as_string();
        if (!allow_empty && s.empty()) {
            fail(key, "must not be empty");
            return std::nullopt;
        }
        if (s.size() > max_len) {
            fail(key, "must be at most " + std::to_string(max_len) + " characters");
            return std::nullopt;
        }
        return s;
    }
    const json::Value& body_;
    std::vector<FieldError> errors_;
};

// The body as a JSON object, or the error answer.
Result<json::Value> object_body(const RequestContext& ctx) {
    auto body = ctx.json_body();
    if (!body) return body.error();
    if (!body->is_object()) return Error{ErrorCode::kValidation, "the body must be a JSON object", {}};
    return std::move(*body);
}

void write_user(json::Writer& w, const User& u) {
    w.begin_object();
    w.field("id", u.id);
    w.field("email", u.email);
    w.opt_field("name", u.name);
    w.field("role", u.role);
    w.field("org_id", u.org_id);
    w.opt_field("company_name", u.company_name);
    w.opt_field("phone", u.phone);
    w.opt_field("business_type", u.business_type);
    w.key("business_address");
    if (u.business_address) w.raw(*u.business_address);
    else w.null();
    w.field("email_verified", u.email_verified);
    w.key("notification_settings").raw(u.notification_settings);
    w.field("created_at", u.created_at);
    w.opt_field("last_login_at", u.last_login_at);
    w.end_object();
}

Response auth_result(int status, const Session& s) {
    json::Writer w;
    w.begin_object();
    w.field("access_token", s.access_token);
    w.field("refresh_token", s.refresh_token);
    w.field("token_type", "Bearer");
    w.field("expires_in", s.expires_in);
    w.key("user").begin_object();
    w.field("id", s.user.id);
    w.field("email", s.user.email);
    w.field("role", s.user.role);
    w.opt_field("company_name", s.user.company_name);
    w.field("org_id", s.user.org_id);
    w.end_object();
    w.end_object();
    return RequestContext::json(status, std::move(w).str());
}

Response user_response(const User& u) {
    json::Writer w;
    write_user(w, u);
    return RequestContext::json(200, std::move(w).str());
}

Response message(int status, std::string_view text) {
    json::Writer w;
    w.begin_object().field("message", text).end_object();
    return RequestContext::json(status, std::move(w).str());
}

Response no_content() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

void write_key(json::Writer& w, const ApiKey& k, bool with_secret) {
    w.begin_object();
    w.field("id", k.id);
    w.field("name", k.name);
    if (with_secret) w.field("key", k.key);
    w.field("prefix", k.prefix);
    w.field("created_at", k.created_at);
    w.opt_field("last_used_at", k.last_used_at);
    w.end_object();
}

// Per-IP throttling for the credential routes (RATE_LIMIT_AUTH).
http::Handler per_ip(http::Handler inner) {
    return [inner = std::move(inner)](RequestContext& ctx) -> asio::awaitable<Response> {
        auto& rt = detail::runtime();
        redis::Decision d = co_await redis::shared_rate_limiter().hit(rt.per_ip, ctx.remote_address(), 1);
        Response r;
        if (!d.allowed) {
            r = detail::too_many(ctx, d.retry_after);
        } else {
            r = co_await inner(ctx);
        }
        detail::add_rate_headers(r, d);
        co_return r;
    };
}

// Takes one unit of the per-account budget (register, forgot, reset); nullopt when allowed.
asio::awaitable<std::optional<Response>> account_budget(RequestContext& ctx, std::string key) {
    auto& rt = detail::runtime();
    redis::Decision d = co_await redis::shared_rate_limiter().hit(rt.account, key, 1);
    if (d.allowed) co_return std::nullopt;
    co_return detail::too_many(ctx, d.retry_after);
}

asio::awaitable<Response> register_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    RegisterInput in;
    auto email = f.email("email");
    auto password = f.new_password("password");
    in.company_name = f.optional("company_name");
    in.phone = f.optional("phone", 50);
    in.business_type = f.optional("business_type", 100);
    in.name = f.optional("name");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    in.email = std::move(*email);
    in.password = std::move(*password);
    std::string budget_key = "register:" + sha256_hex(in.email);
    auto limited = co_await account_budget(ctx, std::move(budget_key));
    if (limited) co_return std::move(*limited);
    auto s = co_await detail::runtime().service->register_account(std::move(in));
    if (!s) co_return detail::error_response(ctx, s.error());
    co_return auth_result(201, *s);
}

asio::awaitable<Response> login_route(RequestContext& ctx) {
    auto& rt = detail::runtime();
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto email_raw = f.required("email", 254);
    auto password = f.required("password", kMaxPasswordLength);
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    // An address that cannot exist still gets the same answer as a wrong password.
    std::string email = normalize_email(*email_raw).value_or(*email_raw);
    std::string account_key = sha256_hex(email);  // no addresses in Redis keys
    // Look before spending: a cost-0 hit reports the budget without taking from it, so only
    // failures count, and past the budget the password is not even checked.
    redis::Decision budget = co_await redis::shared_rate_limiter().hit(rt.login_failures, account_key, 0);
    if (budget.remaining < 1) {
        // Seconds until one failure has aged out of the window.
        auto period = rt.login_failures.period;
        auto retry = budget.reset_after - period + period / std::max(1, rt.login_failures.limit);
        co_return detail::too_many(ctx, std::chrono::duration_cast<std::chrono::seconds>(retry));
    }
    auto s = co_await rt.service->login(std::move(email), std::move(*password));
    if (!s) {
        if (s.error().code == ErrorCode::kInvalidCredentials) {
            co_await redis::shared_rate_limiter().hit(rt.login_failures, account_key, 1);
        }
        co_return detail::error_response(ctx, s.error());
    }
    co_return auth_result(200, *s);
}

asio::awaitable<Response> refresh_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    // Any string is a candidate: one that is no refresh token (an access token, say) is a 401,
    // not a validation error.
    auto token = f.required("refresh_token", 8192);
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    auto s = co_await detail::runtime().service->refresh(std::move(*token));
    if (!s) co_return detail::error_response(ctx, s.error());
    co_return auth_result(200, *s);
}

asio::awaitable<Response> logout_route(RequestContext& ctx) {
    auto& svc = *detail::runtime().service;
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    bool all = f.flag("all");
    std::optional<std::string> token = all ? f.optional("refresh_token") : f.required("refresh_token", 200);
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    if (all) {
        // Ending every session needs to know whose: the caller's access token or API key.
        std::string bearer = detail::bearer_token(ctx);
        if (bearer.empty()) {
            Error e{ErrorCode::kUnauthorized, "logging out everywhere requires Authorization: Bearer <token>", {}};
            co_return detail::error_response(ctx, e);
        }
        auto who = co_await svc.authenticate(std::move(bearer));
        if (!who) co_return detail::error_response(ctx, who.error());
        auto r = co_await svc.logout_all(who->org_id, who->user_id);
        if (!r) co_return detail::error_response(ctx, r.error());
        co_return no_content();
    }
    auto r = co_await svc.logout(std::move(*token));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return no_content();
}

asio::awaitable<Response> forgot_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto email = f.email("email");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    std::string budget_key = "forgot:" + sha256_hex(*email);
    auto limited = co_await account_budget(ctx, std::move(budget_key));
    if (limited) co_return std::move(*limited);
    auto r = co_await detail::runtime().service->forgot_password(std::move(*email));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return message(202, "if an account exists for that address, a reset link is on its way");
}

asio::awaitable<Response> reset_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto token = f.required("token", 200);
    auto password = f.new_password("new_password");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    std::string budget_key = "reset:" + sha256_hex(*token);
    auto limited = co_await account_budget(ctx, std::move(budget_key));
    if (limited) co_return std::move(*limited);
    auto r = co_await detail::runtime().service->reset_password(std::move(*token), std::move(*password));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return no_content();
}

asio::awaitable<Response> verify_email(RequestContext& ctx, std::string token) {
    if (token.empty() || token.size() > 200) {
        co_return detail::error_response(ctx, Error::validation("token", "is required"));
    }
    auto r = co_await detail::runtime().service->verify_email(std::move(token));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return RequestContext::json(200, R"({"success":true,"message":"email address verified"})");
}

asio::awaitable<Response> verify_post_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto token = f.required("token", 200);
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    auto r = co_await verify_email(ctx, std::move(*token));
    co_return r;
}

asio::awaitable<Response> verify_get_route(RequestContext& ctx) {
    std::string token = ctx.query_param("token").value_or("");
    auto r = co_await verify_email(ctx, std::move(token));
    co_return r;
}

asio::awaitable<Response> change_password_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto current = f.required("current_password", kMaxPasswordLength);
    auto next = f.new_password("new_password");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    const http::Principal& p = *ctx.principal();
    auto r = co_await detail::runtime().service->change_password(p.org_id, p.user_id, std::move(*current),
                                                                 std::move(*next));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return no_content();
}

asio::awaitable<Response> me_route(RequestContext& ctx) {
    const http::Principal& p = *ctx.principal();
    auto u = co_await detail::runtime().service->get_user(p.org_id, p.user_id);
    if (!u) co_return detail::error_response(ctx, u.error());
    co_return user_response(*u);
}

asio::awaitable<Response> update_me_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    ProfileUpdate up;
    up.name = f.patch("name");
    up.phone = f.patch("phone", 50);
    up.company_name = f.patch("company_name");
    up.business_type = f.patch("business_type", 100);
    up.business_address = f.patch_object("business_address");
    up.notification_settings = f.patch_object("notification_settings");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    const http::Principal& p = *ctx.principal();
    auto u = co_await detail::runtime().service->update_profile(p.org_id, p.user_id, std::move(up));
    if (!u) co_return detail::error_response(ctx, u.error());
    co_return user_response(*u);
}

asio::awaitable<Response> list_keys_route(RequestContext& ctx) {
    auto keys = co_await detail::runtime().service->list_api_keys(ctx.principal()->org_id);
    if (!keys) co_return detail::error_response(ctx, keys.error());
    json::Writer w;
    w.begin_array();
    for (const auto& k : *keys) write_key(w, k, false);
    w.end_array();
    co_return RequestContext::json(200, std::move(w).str());
}

asio::awaitable<Response> create_key_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto name = f.required("name", 100);
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    const http::Principal& p = *ctx.principal();
    auto k = co_await detail::runtime().service->create_api_key(p.org_id, p.user_id, std::move(*name));
    if (!k) co_return detail::error_response(ctx, k.error());
    json::Writer w;
    write_key(w, *k, true);
    co_return RequestContext::json(201, std::move(w).str());
}

asio::awaitable<Response> revoke_key_route(RequestContext& ctx) {
    std::string id(ctx.path_param("id"));
    if (!is_uuid(id)) co_return detail::error_response(ctx, Error::not_found("API key not found"));
    auto r = co_await detail::runtime().service->revoke_api_key(ctx.principal()->org_id, id);
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return no_content();
}

asio::awaitable<Response> accept_invite_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto token = f.required("token", 200);
    auto password = f.new_password("password");
    auto name = f.optional("name");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    auto s = co_await detail::runtime().service->accept_invite(std::move(*token), std::move(*password), std::move(name));
    if (!s) co_return detail::error_response(ctx, s.error());
    co_return auth_result(200, *s);
}

asio::awaitable<Response> org_route(RequestContext& ctx) {
    auto o = co_await detail::runtime().service->get_org(ctx.principal()->org_id);
    if (!o) co_return detail::error_response(ctx, o.error());
    json::Writer w;
    w.begin_object().field("id", o->id).field("name", o->name).field("created_at", o->created_at).end_object();
    co_return RequestContext::json(200, std::move(w).str());
}

asio::awaitable<Response> org_users_route(RequestContext& ctx) {
    auto users = co_await detail::runtime().service->list_users(ctx.principal()->org_id);
    if (!users) co_return detail::error_response(ctx, users.error());
    json::Writer w;
    w.begin_array();
    for (const auto& u : *users) write_user(w, u);
    w.end_array();
    Response r = RequestContext::json(200, std::move(w).str());
    r.header("X-Total-Count", std::to_string(users->size()));
    co_return r;
}

asio::awaitable<Response> invite_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto email = f.email("email");
    auto role = f.required("role", 20);
    if (role && !valid_role(*role)) f.fail("role", "must be owner, admin or member");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    auto inv = co_await detail::runtime().service->invite(*ctx.principal(), std::move(*email), std::move(*role));
    if (!inv) co_return detail::error_response(ctx, inv.error());
    json::Writer w;
    w.begin_object();
    w.field("id", inv->id).field("email", inv->email).field("role", inv->role);
    w.field("expires_at", inv->expires_at).field("created_at", inv->created_at);
    w.end_object();
    co_return RequestContext::json(201, std::move(w).str());
}

asio::awaitable<Response> change_role_route(RequestContext& ctx) {
    std::string id(ctx.path_param("id"));
    if (!is_uuid(id)) co_return detail::error_response(ctx, Error::not_found("user not found"));
    auto body = object_body(ctx);
    if (!body) co_return detail::error_response(ctx, body.error());
    Fields f(*body);
    auto role = f.required("role", 20);
    if (role && !valid_role(*role)) f.fail("role", "must be owner, admin or member");
    if (!f.ok()) co_return detail::error_response(ctx, f.error());
    auto u = co_await detail::runtime().service->change_role(*ctx.principal(), std::move(id), std::move(*role));
    if (!u) co_return detail::error_response(ctx, u.error());
    co_return user_response(*u);
}

asio::awaitable<Response> remove_user_route(RequestContext& ctx) {
    std::string id(ctx.path_param("id"));
    if (!is_uuid(id)) co_return detail::error_response(ctx, Error::not_found("user not found"));
    auto r = co_await detail::runtime().service->remove_user(*ctx.principal(), std::move(id));
    if (!r) co_return detail::error_response(ctx, r.error());
    co_return no_content();
}

std::string path(std::string_view p) { return std::string(kBase) + std::string(p); }

}  // namespace

void add_routes(http::Router& router, const config::Config& config) {
    (void)detail::runtime();  // fail at startup, not on the first request, when configure() was skipped
    // Credential routes: no session yet, so throttled per client IP (and per account inside).
    router.add(Method::kPost, path("/auth/register"), per_ip(register_route));
    router.add(Method::kPost, path("/auth/login"), per_ip(login_route));
    router.add(Method::kPost, path("/auth/refresh"), per_ip(refresh_route));
    router.add(Method::kPost, path("/auth/logout"), per_ip(logout_route));
    router.add(Method::kPost, path("/auth/forgot-password"), per_ip(forgot_route));
    router.add(Method::kPost, path("/auth/reset-password"), per_ip(reset_route));
    router.add(Method::kPost, path("/auth/verify-email"), per_ip(verify_post_route));
    router.add(Method::kGet, path("/auth/verify-email"), per_ip(verify_get_route));
    router.add(Method::kPost, path("/auth/accept-invite"), per_ip(accept_invite_route));
    // Checks a password, so per IP as well as per user.
    router.add(Method::kPost, path("/auth/change-password"), per_ip(guard(Role::kMember, change_password_route)));

    router.add(Method::kGet, path("/auth/me"), guard(Role::kMember, me_route));
    router.add(Method::kPut, path("/auth/me"), guard(Role::kMember, update_me_route));
    router.add(Method::kPut, path("/auth/profile"), guard(Role::kMember, update_me_route));

    router.add(Method::kGet, path("/auth/api-keys"), guard(Role::kAdmin, list_keys_route));
    router.add(Method::kPost, path("/auth/api-keys"), guard(Role::kAdmin, create_key_route));
    router.add(Method::kDelete, path("/auth/api-keys/{id}"), guard(Role::kAdmin, revoke_key_route));

    router.add(Method::kGet, path("/org"), guard(Role::kMember, org_route));
    router.add(Method::kGet, path("/org/users"), guard(Role::kAdmin, org_users_route));
    router.add(Method::kPost, path("/org/invitations"), guard(Role::kAdmin, invite_route));
    router.add(Method::kPut, path("/org/users/{id}"), guard(Role::kAdmin, change_role_route));
    router.add(Method::kDelete, path("/org/users/{id}"), guard(Role::kAdmin, remove_user_route));

    if (config.test_routes) {
        // The guard alone around an empty handler: bench/run-auth compares it with /health to
        // measure what authentication adds to a request.
        router.add(Method::kGet, "/__test/auth", guard(Role::kMember, [](RequestContext&) -> asio::awaitable<Response> {
                       co_return RequestContext::json(200, R"({"status":"ok"})");
                   }));
    }
}

}  // namespace flashbill::auth
