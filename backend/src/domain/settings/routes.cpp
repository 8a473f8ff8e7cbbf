// HTTP mapping of /settings (API.md §8) and the tax routes of §6. Every /settings route is for
// owners and admins (§2); the /tax operations are for every member.

#include "domain/settings/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/common/routes.hpp"
#include "domain/settings/settings.hpp"
#include "domain/taxes/taxes.hpp"

namespace flashbill::domain::settings {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;
using Getter = boost::asio::awaitable<Result<std::string>> (*)(std::string);
using Putter = boost::asio::awaitable<Result<std::string>> (*)(std::string, json::Value);

namespace {


http::Handler getter(Getter fn) {
    return [fn](RequestContext& ctx) -> Awaitable { co_return json_result(ctx, co_await fn(org_of(ctx))); };
}

http::Handler putter(Putter fn, int status = 200) {
    return [fn, status](RequestContext& ctx) -> Awaitable {
        auto body = object_body(ctx);
        if (!body) co_return ctx.error(body.error());
        co_return json_result(ctx, co_await fn(org_of(ctx), std::move(*body)), status);
    };
}

Awaitable tax_update_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("tax rate not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await taxes::update(org_of(ctx), *id, std::move(*body)));
}

Awaitable tax_delete_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("tax rate not found"));
    auto r = co_await taxes::remove(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    Response res;
    res.status = 204;
    co_return res;
}

Awaitable tax_validate_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, taxes::validate(*body));
}

}  // namespace

void add_routes(http::Router& router) {
    using auth::Role;
    add_route(router, Method::kGet, "/settings/business", Role::kAdmin, getter(get_business));
    add_route(router, Method::kPut, "/settings/business", Role::kAdmin, putter(put_business));
    add_route(router, Method::kGet, "/settings/notifications", Role::kAdmin, getter(get_notifications));
    add_route(router, Method::kPut, "/settings/notifications", Role::kAdmin, putter(put_notifications));
    add_route(router, Method::kGet, "/settings/invoice", Role::kAdmin, getter(get_invoice));
    add_route(router, Method::kPut, "/settings/invoice", Role::kAdmin, putter(put_invoice));
    add_route(router, Method::kGet, "/settings/tax", Role::kAdmin, getter(taxes::list));
    add_route(router, Method::kPost, "/settings/tax", Role::kAdmin, putter(taxes::create, 201));
    add_route(router, Method::kGet, "/settings/tax/default", Role::kAdmin, getter(taxes::get_default));
    add_route(router, Method::kPut, "/settings/tax/{id}", Role::kAdmin, tax_update_route);
    add_route(router, Method::kDelete, "/settings/tax/{id}", Role::kAdmin, tax_delete_route);
    add_route(router, Method::kPost, "/tax/calculate", Role::kMember, putter(taxes::calculate));
    add_route(router, Method::kPost, "/tax/summary", Role::kMember, putter(taxes::summary));
    add_route(router, Method::kPost, "/tax/validate", Role::kMember, tax_validate_route);
}

}  // namespace flashbill::domain::settings
