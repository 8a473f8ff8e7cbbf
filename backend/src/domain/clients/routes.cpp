// HTTP mapping of /clients (API.md §3): parse → service → answer.

#include "domain/clients/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/clients/clients.hpp"
#include "domain/common/routes.hpp"

namespace flashbill::domain::clients {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

namespace {

Awaitable list_route(RequestContext& ctx) {
    auto page = read_page(ctx);
    if (!page) co_return ctx.error(page.error());
    ListFilter f;
    f.search = ctx.query_param("search");
    auto archived = ctx.query_param("archived");
    if (archived && *archived != "true" && *archived != "false") {
        co_return ctx.error(Error::validation("archived", "must be true or false"));
    }
    f.archived = archived && *archived == "true";
    auto r = co_await list(org_of(ctx), f, *page);
    if (!r) co_return ctx.error(r.error());
    Response res = json_answer(200, std::move(r->json));
    add_list_headers(ctx, res, r->total, r->next_cursor);
    co_return res;
}

Awaitable create_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    auto changes = parse_changes(*body, true);
    if (!changes) co_return ctx.error(changes.error());
    auto r = co_await create(org_of(ctx), std::move(*changes));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(201, std::move(*r));
}

Awaitable get_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("client not found"));
    auto r = co_await get(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(200, std::move(*r));
}

Awaitable update_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("client not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    auto changes = parse_changes(*body, false);
    if (!changes) co_return ctx.error(changes.error());
    auto r = co_await update(org_of(ctx), *id, std::move(*changes));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(200, std::move(*r));
}

Awaitable delete_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("client not found"));
    auto r = co_await remove(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    Response res;
    res.status = 204;
    co_return res;
}

Awaitable stats_route(RequestContext& ctx) {
    auto r = co_await stats(org_of(ctx));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(200, std::move(*r));
}

}  // namespace

void add_routes(http::Router& router) {
    using auth::Role;
    add_route(router, Method::kGet, "/clients", Role::kMember, list_route);
    add_route(router, Method::kPost, "/clients", Role::kMember, create_route);
    add_route(router, Method::kGet, "/clients/stats", Role::kMember, stats_route);
    add_route(router, Method::kGet, "/clients/{id}", Role::kMember, get_route);
    add_route(router, Method::kPut, "/clients/{id}", Role::kMember, update_route);
    add_route(router, Method::kDelete, "/clients/{id}", Role::kMember, delete_route);
}

}  // namespace flashbill::domain::clients
