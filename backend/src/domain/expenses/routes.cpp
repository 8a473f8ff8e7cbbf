// HTTP mapping of /expenses (API.md §7): parse → service → answer.

#include "domain/expenses/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/common/routes.hpp"
#include "domain/expenses/expenses.hpp"
#include "domain/files/routes.hpp"

namespace flashbill::domain::expenses {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

namespace {

Awaitable list_route(RequestContext& ctx) {
    auto page = read_page(ctx);
    if (!page) co_return ctx.error(page.error());
    auto filter = parse_filter(ctx.query_param("category"), ctx.query_param("date_from"), ctx.query_param("date_to"),
                               ctx.query_param("tax_deductible"), ctx.query_param("search"));
    if (!filter) co_return ctx.error(filter.error());
    auto r = co_await list(org_of(ctx), std::move(*filter), *page);
    if (!r) co_return ctx.error(r.error());
    Response res = json_answer(200, std::move(r->json));
    add_list_headers(ctx, res, r->total, r->next_cursor);
    co_return res;
}

Awaitable create_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    auto r = co_await create(org_of(ctx), std::move(*body));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(201, std::move(*r));
}

Awaitable get_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("expense not found"));
    auto r = co_await get(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(200, std::move(*r));
}

Awaitable update_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("expense not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    auto r = co_await update(org_of(ctx), *id, std::move(*body));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(200, std::move(*r));
}

Awaitable delete_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("expense not found"));
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

Awaitable upload_receipt_route(RequestContext& ctx, std::size_t max_upload_bytes) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("expense not found"));
    auto part = files::read_upload(ctx, "receipt", max_upload_bytes);
    if (!part) co_return ctx.error(part.error());
    auto r = co_await attach_receipt(org_of(ctx), *id, std::move(*part));
    if (!r) co_return ctx.error(r.error());
    co_return json_answer(201, std::move(*r));
}

Awaitable download_receipt_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("expense not found"));
    auto r = co_await receipt(org_of(ctx), *id);
    if (!r) co_return ctx.error(r.error());
    co_return files::file_answer(std::move(r->bytes), r->content_type, r->file_name, r->sha256);
}

}  // namespace

void add_routes(http::Router& router, std::size_t max_upload_bytes) {
    using auth::Role;
    add_route(router, Method::kGet, "/expenses", Role::kMember, list_route);
    add_route(router, Method::kPost, "/expenses", Role::kMember, create_route);
    add_route(router, Method::kGet, "/expenses/stats", Role::kMember, stats_route);
    add_route(router, Method::kGet, "/expenses/{id}", Role::kMember, get_route);
    add_route(router, Method::kPut, "/expenses/{id}", Role::kMember, update_route);
    add_route(router, Method::kDelete, "/expenses/{id}", Role::kMember, delete_route);
    // As /files/upload: room for the multipart framing; the part itself is held to the limit.
    http::RouteOptions upload_options{max_upload_bytes + 64 * 1024};
    http::Handler upload_handler = [max_upload_bytes](RequestContext& ctx) {
        return upload_receipt_route(ctx, max_upload_bytes);
    };
    add_route(router, Method::kPost, "/expenses/{id}/receipt", Role::kMember, std::move(upload_handler),
              upload_options);
    add_route(router, Method::kGet, "/expenses/{id}/receipt", Role::kMember, download_receipt_route);
}

}  // namespace flashbill::domain::expenses
