#include "domain/common/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "core/uuid.hpp"
#include "domain/common/idempotency.hpp"

namespace flashbill::domain {

redis::Cache& org_cache() {
    static redis::Cache cache;
    return cache;
}

namespace {

// Runs the handler; after a successful write, the org's cached views are stale.
http::Handler invalidating(http::Handler inner) {
    return [inner = std::move(inner)](http::RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
        http::Response res = co_await inner(ctx);
        if (res.status >= 200 && res.status < 300 && ctx.principal()) {
            co_await org_cache().invalidate_org(ctx.principal()->org_id);
        }
        co_return res;
    };
}

}  // namespace

void add_route(http::Router& router, http::Method method, std::string_view path, auth::Role role,
               http::Handler handler, http::RouteOptions options) {
    if (method != http::Method::kGet && method != http::Method::kHead) handler = invalidating(std::move(handler));
    if (method == http::Method::kPost) handler = idempotent(std::move(handler));
    router.add(method, std::string(kApi) + std::string(path), auth::guard(role, std::move(handler)), options);
}

std::optional<std::string> path_id(const http::RequestContext& ctx, std::string_view name) {
    std::string_view raw = ctx.path_param(name);
    if (!is_uuid(raw)) return std::nullopt;
    std::string id(raw);
    for (auto& c : id) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    return id;
}

const std::string& org_of(const http::RequestContext& ctx) { return ctx.principal()->org_id; }

http::Response json_answer(int status, std::string body) { return http::RequestContext::json(status, std::move(body)); }

http::Response json_result(const http::RequestContext& ctx, Result<std::string> r, int status) {
    if (!r) return ctx.error(r.error());
    return json_answer(status, std::move(*r));
}

Result<json::Value> object_body(const http::RequestContext& ctx) {
    auto body = ctx.json_body();
    if (!body) return body.error();
    if (!body->is_object()) return Error::validation("body", "must be a JSON object");
    return body;
}

}  // namespace flashbill::domain
