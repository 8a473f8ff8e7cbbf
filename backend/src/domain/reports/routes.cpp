// HTTP mapping of /reports (API.md §9).

#include "domain/reports/routes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "domain/common/input.hpp"
#include "domain/common/routes.hpp"
#include "domain/reports/service.hpp"

namespace flashbill::domain::reports {

using http::Method;
using http::RequestContext;
using http::Response;
using Awaitable = boost::asio::awaitable<Response>;

namespace {

constexpr std::string_view kPdfLater = "PDF export is not available yet; use csv";

PeriodInput query_period(const RequestContext& ctx) {
    PeriodInput p;
    p.start_date = ctx.query_param("start_date");
    p.end_date = ctx.query_param("end_date");
    return p;
}

Response csv_answer(CsvFile f) {
    Response res;
    res.status = 200;
    res.content_type = "text/csv; charset=utf-8";
    res.body = std::move(f.body);
    res.header("Content-Disposition", "attachment; filename=\"" + f.file_name + "\"");
    return res;
}

http::Handler report_route(ReportType type) {
    return [type](RequestContext& ctx) -> Awaitable {
        PeriodInput period = query_period(ctx);
        auto r = co_await report_json(org_of(ctx), type, std::move(period));
        if (!r) co_return ctx.error(r.error());
        co_return json_answer(200, std::move(*r));
    };
}

// GET /reports/export/{type}?format=csv&start_date=&end_date=
Awaitable export_get_route(RequestContext& ctx) {
    auto type = parse_type(ctx.path_param("type"));
    if (!type) co_return ctx.error(Error::not_found("no such report; one of overview, income, expenses, tax, aging"));
    auto format = ctx.query_param("format").value_or("csv");
    if (format == "pdf") co_return ctx.error(Error::validation("format", std::string(kPdfLater)));
    if (format != "csv") co_return ctx.error(Error::validation("format", "must be csv or pdf"));
    PeriodInput period = query_period(ctx);
    auto f = co_await export_csv(org_of(ctx), *type, std::move(period));
    if (!f) co_return ctx.error(f.error());
    co_return csv_answer(std::move(*f));
}

// POST /reports/export {report_type, format, date_range?{start_date, end_date}}
Awaitable export_post_route(RequestContext& ctx) {
    // Checked here because this route skips the idempotency wrapper (see add_routes).
    if (ctx.header("Idempotency-Key").size() > 255) {
        co_return ctx.error(Error::validation("Idempotency-Key", "must be at most 255 characters"));
    }
    auto body = object_body(ctx);
    if (!body) co_return ctx.error(body.error());
    Input in(*body);
    auto type_text = in.one_of("report_type", true, {"overview", "income", "expenses", "tax", "aging"});
    auto format = in.one_of("format", true, {"csv", "pdf"});
    if (format == "pdf") in.add_error("format", std::string(kPdfLater));
    PeriodInput period;
    period.start_field = "date_range.start_date";
    period.end_field = "date_range.end_date";
    if (const json::Value* range = in.object("date_range", false)) {
        Input r = in.nested(*range, "date_range");
        period.start_date = r.text("start_date", false, 64);
        period.end_date = r.text("end_date", false, 64);
    }
    if (!in.ok()) co_return ctx.error(in.error());
    auto f = co_await export_csv(org_of(ctx), *parse_type(*type_text), std::move(period));
    if (!f) co_return ctx.error(f.error());
    co_return csv_answer(std::move(*f));
}

}  // namespace

void add_routes(http::Router& router) {
    using auth::Role;
    for (auto type :
         {ReportType::kOverview, ReportType::kIncome, ReportType::kExpenses, ReportType::kTax, ReportType::kAging}) {
        std::string path = "/reports/" + std::string(type_name(type));
        add_route(router, Method::kGet, path, Role::kMember, report_route(type));
    }
    add_route(router, Method::kGet, "/dashboard/overview", Role::kMember, report_route(ReportType::kOverview));
    add_route(router, Method::kGet, "/reports/export/{type}", Role::kMember, export_get_route);
    // An export changes nothing: it must not invalidate the org's cache (add_route does that after
    // every successful POST), and a retry simply computes the same file again. The stored replay of
    // the idempotency wrapper would also lose the CSV's Content-Type and Content-Disposition.
    router.add(Method::kPost, std::string(kApi) + "/reports/export", auth::guard(Role::kMember, export_post_route));
}

}  // namespace flashbill::domain::reports
