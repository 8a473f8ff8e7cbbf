// HTTP mapping of /payments (API.md §5).

#include "domain/payments/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "core/uuid.hpp"
#include "domain/common/input.hpp"
#include "domain/common/routes.hpp"
#include "domain/payments/payments.hpp"

namespace flashbill::domain::payments {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

namespace {


Awaitable record_route(RequestContext& ctx) {
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await record(org_of(ctx), std::nullopt, std::move(*body)), 201);
}

Awaitable record_for_invoice_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("invoice not found"));
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    co_return json_result(ctx, co_await record(org_of(ctx), *id, std::move(*body)), 201);
}

Awaitable refund_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("payment not found"));
    json::Value body{json::Object{}};
    if (!ctx.body().empty()) {
        auto parsed = object_body(ctx);
        if (!parsed) co_return ctx.error(parsed.error());
        body = std::move(*parsed);
    }
    co_return json_result(ctx, co_await refund(org_of(ctx), *id, std::move(body)), 201);
}

Awaitable get_route(RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return ctx.error(Error::not_found("payment not found"));
    co_return json_result(ctx, co_await get(org_of(ctx), *id));
}

Awaitable list_route(RequestContext& ctx) {
    auto page = read_page(ctx);
    if (!page) co_return ctx.error(page.error());
    ListFilter f;
    std::vector<FieldError> errors;
    f.status = ctx.query_param("status");
    static const std::vector<std::string_view> kStatuses = {"pending", "completed", "failed", "refunded",
                                                            "partially_refunded"};
    if (f.status && std::find(kStatuses.begin(), kStatuses.end(), *f.status) == kStatuses.end()) {
        errors.push_back({"status", "must be one of pending, completed, failed, refunded, partially_refunded"});
    }
    if (auto m = ctx.query_param("payment_method")) {
        f.payment_method = normalize_method(*m);
        if (!f.payment_method) errors.push_back({"payment_method", "is not a payment method"});
    }
    f.invoice_id = ctx.query_param("invoice_id");
    if (f.invoice_id && !is_uuid(*f.invoice_id)) errors.push_back({"invoice_id", "must be an id (UUID)"});
    for (auto [name, target] : {std::pair{"date_from", &f.date_from}, std::pair{"date_to", &f.date_to}}) {
        *target = ctx.query_param(name);
        if (*target && !parse_date(**target)) errors.push_back({name, "must be a date (YYYY-MM-DD)"});
    }
    if (!errors.empty()) co_return ctx.error(validation_error(std::move(errors)));
    auto r = co_await list(org_of(ctx), f, *page);
    if (!r) co_return ctx.error(r.error());
    Response res = json_answer(200, std::move(r->json));
    add_list_headers(ctx, res, r->total, r->next_cursor);
    co_return res;
}

Awaitable stats_route(RequestContext& ctx) { co_return json_result(ctx, co_await stats(org_of(ctx))); }

Awaitable methods_route(RequestContext&) {
    co_return json_answer(200, R"(["cash","check","bank_transfer","ach_debit","paypal","stripe","other"])");
}

}  // namespace

void add_routes(http::Router& router) {
    using auth::Role;
    add_route(router, Method::kGet, "/payments", Role::kMember, list_route);
    add_route(router, Method::kPost, "/payments", Role::kMember, record_route);
    add_route(router, Method::kGet, "/payments/stats", Role::kMember, stats_route);
    add_route(router, Method::kGet, "/payments/methods", Role::kMember, methods_route);
    add_route(router, Method::kGet, "/payments/{id}", Role::kMember, get_route);
    add_route(router, Method::kPost, "/payments/{id}/refund", Role::kMember, refund_route);
    add_route(router, Method::kPost, "/invoices/{id}/payments", Role::kMember, record_for_invoice_route);
    add_route(router, Method::kPost, "/invoices/{id}/pay", Role::kMember, record_for_invoice_route);
}

}  // namespace flashbill::domain::payments
