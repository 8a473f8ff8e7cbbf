// HTTP mapping of /invoices (API.md §4): parse → service → answer.

#include "domain/invoices/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/common/input.hpp"
#include "core/uuid.hpp"
#include "db/pool.hpp"
#include "domain/common/routes.hpp"
#include "domain/invoices/invoices.hpp"

namespace flashbill::domain::invoices {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

namespace {


Awaitable list_for(RequestContext& ctx, std::optional<std::string> client_id) {
    auto page = read_page(ctx);
    if (!page) co_return ctx.error(page.error());
    ListFilter f;
    std::vector<FieldError> errors;
    f.status = ctx.query_param("status");
    static const std::vector<std::string_view> kStatuses = {"draft",   "sent",      "viewed",  "partial",
                                                            "paid",    "cancelled", "overdue", "unpaid"};
    if (f.status && std::find(kStatuses.begin(), kStatuses.end(), *f.status) == kStatuses.end()) {
        errors.push_back({"status", "must be one of draft, sent, viewed, partial, paid, cancelled, overdue, unpaid"});
    }
    f.client_id = client_id ? client_id : ctx.query_param("client_id");
    if (f.client_id && !is_uuid(*f.client_id)) errors.push_back({"client_id", "must be an id (UUID)"});
    for (auto [name, target] : {std::pair{"date_from", &f.date_from}, std::pair{"date_to", &f.date_to}}) {
        *target = ctx.query_param(name);
        if (*target && !parse_date(**target)) errors.push_back({name, "must be a date (YYYY-MM-DD)"});
    }
    f.search = ctx.query_param("search");
    if (!errors.empty()) co_return ctx.error(validation_error(std::move(errors)));
    auto r = co_await list(org_of(ctx), f, *page);
    if (!r) co_return ctx.error(r.error());
    Response res = json_answer(200, std::move(r->json));
    add_list_headers(ctx, res, r->total, r->next_cursor);
    co_return res;
}

Awaitable list_route(RequestContext& ctx) { co_return co_await list_for(ctx, std::nullopt); }

Awaitable client_invoices_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("client not found"));
    auto exists = co_await db::Pool::current().query("SELECT 1 FROM clients WHERE org_id = $1 AND id = $2",
                                                     db::Params(org_of(ctx), *id));
    if (!exists) co_return ctx.error(exists.error());
    if (exists->empty()) co_return ctx.error(Error::not_found("client not found"));
    co_return co_await list_for(ctx, id);
}

Awaitable create_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await create(org_of(ctx), std::move(*body)), 201);
}

Awaitable preview_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await preview(org_of(ctx), std::move(*body)));
}

Awaitable get_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    co_return json_result(ctx, co_await get(org_of(ctx), *id));
}

Awaitable update_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await update(org_of(ctx), *id, std::move(*body)));
}

Awaitable delete_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    auto r = co_await remove(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    Response res;
    res.status = 204;
    co_return res;
}

Awaitable mark_sent_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    co_return json_result(ctx, co_await mark_sent(org_of(ctx), *id));
}

Awaitable cancel_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    std::optional<std::string> reason;
    if (!ctx.body().empty()) {
        auto body = object_body(ctx);
        if (!body) co_return ctx.error(body.error());
        Input in(*body);
        reason = in.text("reason", false, 1000);
        if (!in.ok()) co_return ctx.error(in.error());
    }
    co_return json_result(ctx, co_await cancel(org_of(ctx), *id, reason));
}

Awaitable duplicate_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    co_return json_result(ctx, co_await duplicate(org_of(ctx), *id), 201);
}

Awaitable public_link_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    co_return json_result(ctx, co_await rotate_public_link(org_of(ctx), *id));
}

Awaitable discussion_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    co_return json_result(ctx, co_await discussion(org_of(ctx), *id));
}

Awaitable post_message_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await post_message(org_of(ctx), *id, std::move(*body)), 201);
}

}  // namespace

void add_routes(http::Router& router) {
    using auth::Role;
    add_route(router, Method::kGet, "/invoices", Role::kMember, list_route);
    add_route(router, Method::kPost, "/invoices", Role::kMember, create_route);
    add_route(router, Method::kPost, "/invoices/preview", Role::kMember, preview_route);
    add_route(router, Method::kGet, "/invoices/{id}", Role::kMember, get_route);
    add_route(router, Method::kPut, "/invoices/{id}", Role::kMember, update_route);
    add_route(router, Method::kDelete, "/invoices/{id}", Role::kMember, delete_route);
    add_route(router, Method::kPost, "/invoices/{id}/mark-sent", Role::kMember, mark_sent_route);
    add_route(router, Method::kPost, "/invoices/{id}/cancel", Role::kMember, cancel_route);
    add_route(router, Method::kPost, "/invoices/{id}/duplicate", Role::kMember, duplicate_route);
    add_route(router, Method::kPost, "/invoices/{id}/public-link", Role::kMember, public_link_route);
    add_route(router, Method::kGet, "/invoices/{id}/discussion", Role::kMember, discussion_route);
    add_route(router, Method::kPost, "/invoices/{id}/discussion", Role::kMember, post_message_route);
    add_route(router, Method::kGet, "/clients/{id}/invoices", Role::kMember, client_invoices_route);
}

}  // namespace flashbill::domain::invoices
