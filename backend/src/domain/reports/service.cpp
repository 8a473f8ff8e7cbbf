#include "domain/reports/service.hpp"

#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "core/decimal.hpp"
#include "core/json.hpp"
#include "domain/common/org.hpp"
#include "domain/common/routes.hpp"
#include "domain/reports/repository.hpp"

namespace flashbill::domain::reports {

namespace {

// Any write in the org invalidates its entries at once; the TTL only bounds how long a change made
// outside add_route (a webhook that forgot to invalidate) could stay unseen.
constexpr std::chrono::seconds kCacheTtl{300};

// The main list of each report (one CSV row per entry) and its columns, in order.
struct CsvShape {
    std::string_view list;
    std::vector<std::string_view> columns;
};

const CsvShape& csv_shape(ReportType t) {
    static const std::array<CsvShape, 5> kShapes = {
        CsvShape{"revenue_by_month", {"month", "amount"}},
        CsvShape{"by_month", {"month", "amount", "invoice_count"}},
        CsvShape{"by_category", {"category", "amount", "count"}},
        CsvShape{"by_rate", {"rate", "label", "taxable_amount", "tax_amount"}},
        CsvShape{"overdue_invoices",
                 {"invoice_id", "invoice_number", "client_id", "client_name", "issue_date", "due_date", "days_overdue",
                  "total_amount", "amount_paid", "balance_due"}},
    };
    return kShapes[static_cast<std::size_t>(t)];
}

void money(json::Writer& w, std::string_view key, std::int64_t minor, Currency c) {
    w.key(key).number_text(money_text(minor, c));
}

void months(json::Writer& w, std::string_view key, const std::vector<MonthAmount>& list, Currency c,
            std::string_view count_key) {
    w.key(key).begin_array();
    for (const auto& m : list) {
        w.begin_object();
        w.field("month", m.month);
        money(w, "amount", m.amount, c);
        if (!count_key.empty()) w.field(count_key, m.count);
        w.end_object();
    }
    w.end_array();
}

// The fields every report starts with.
void head(json::Writer& w, const Scope& s, std::string_view basis) {
    w.begin_object();
    w.key("period").begin_object();
    w.field("start_date", s.period.start.text());
    w.field("end_date", s.period.end.text());
    w.end_object();
    w.field("basis", basis);
    w.field("currency", s.currency.code);
}

std::string render(const Scope& s, const Overview& o) {
    json::Writer w;
    head(w, s, "cash");
    Currency c = s.currency;
    money(w, "total_revenue", o.total_revenue, c);
    money(w, "total_outstanding", o.outstanding_balance, c);
    money(w, "outstanding_balance", o.outstanding_balance, c);
    w.field("total_invoices", o.total_invoices);
    w.field("paid_invoices", o.paid_invoices);
    w.field("overdue_invoices", o.overdue_invoices);
    money(w, "total_expenses", o.total_expenses, c);
    money(w, "net_profit", o.total_revenue - o.total_expenses, c);
    months(w, "revenue_by_month", o.revenue_by_month, c, "");
    w.end_object();
    return std::move(w).str();
}

std::string render(const Scope& s, const Income& in) {
    json::Writer w;
    head(w, s, "cash");
    Currency c = s.currency;
    money(w, "total_income", in.total_income, c);
    months(w, "by_month", in.by_month, c, "invoice_count");
    w.key("by_client").begin_array();
    for (const auto& e : in.by_client) {
        w.begin_object();
        w.field("client_id", e.client_id);
        w.field("client_name", e.client_name);
        money(w, "amount", e.amount, c);
        w.field("invoice_count", e.invoice_count);
        w.end_object();
    }
    w.end_array();
    w.key("top_invoices").begin_array();
    for (const auto& e : in.top_invoices) {
        w.begin_object();
        w.field("invoice_id", e.invoice_id);
        w.opt_field("invoice_number", e.invoice_number);
        w.field("client_id", e.client_id);
        w.field("client_name", e.client_name);
        money(w, "amount", e.amount, c);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return std::move(w).str();
}

std::string render(const Scope& s, const Expenses& e) {
    json::Writer w;
    head(w, s, "cash");
    Currency c = s.currency;
    money(w, "total_expenses", e.total_expenses, c);
    w.key("by_category").begin_array();
    for (const auto& k : e.by_category) {
        w.begin_object();
        w.field("category", k.category);
        money(w, "amount", k.amount, c);
        w.field("count", k.count);
        w.end_object();
    }
    w.end_array();
    months(w, "by_month", e.by_month, c, "count");
    w.end_object();
    return std::move(w).str();
}

std::string render(const Scope& s, const Tax& t) {
    json::Writer w;
    head(w, s, "accrual");
    Currency c = s.currency;
    money(w, "total_tax_collected", t.total_tax_collected, c);
    money(w, "total_tax_deductible", t.total_tax_deductible, c);
    w.key("by_rate").begin_array();
    for (const auto& r : t.by_rate) {
        w.begin_object();
        w.key("rate").number_text(Decimal::from_units(r.rate_units).to_string());
        w.opt_field("label", r.label);
        money(w, "taxable_amount", r.taxable_amount, c);
        money(w, "tax_amount", r.tax_amount, c);
        w.end_object();
    }
    w.end_array();
    w.key("by_month").begin_array();
    for (const auto& m : t.by_month) {
        w.begin_object();
        w.field("month", m.month);
        money(w, "taxable_amount", m.taxable_amount, c);
        money(w, "tax_amount", m.tax_amount, c);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return std::move(w).str();
}

std::string render(const Scope& s, const Aging& a) {
    json::Writer w;
    head(w, s, "accrual");
    Currency c = s.currency;
    money(w, "current", a.current, c);
    money(w, "one_to_thirty_days", a.one_to_thirty_days, c);
    money(w, "thirty_one_to_sixty_days", a.thirty_one_to_sixty_days, c);
    money(w, "sixty_one_to_ninety_days", a.sixty_one_to_ninety_days, c);
    money(w, "over_ninety_days", a.over_ninety_days, c);
    w.key("overdue_invoices").begin_array();
    for (const auto& i : a.overdue_invoices) {
        w.begin_object();
        w.field("invoice_id", i.invoice_id);
        w.opt_field("invoice_number", i.invoice_number);
        w.field("client_id", i.client_id);
        w.field("client_name", i.client_name);
        w.field("issue_date", i.issue_date);
        w.field("due_date", i.due_date);
        w.field("days_overdue", i.days_overdue);
        money(w, "total_amount", i.total_amount, c);
        money(w, "amount_paid", i.amount_paid, c);
        money(w, "balance_due", i.balance_due, c);
        w.end_object();
    }
    w.end_array();
    w.end_object();
    return std::move(w).str();
}

template <typename T>
Result<std::string> rendered(const Scope& s, Result<T> r) {
    if (!r) return r.error();
    return render(s, *r);
}

// Computes the report (no cache).
boost::asio::awaitable<Result<std::string>> compute(Scope scope, ReportType type) {
    switch (type) {
        case ReportType::kOverview: {
            auto r = co_await repository::overview(scope);
            co_return rendered(scope, std::move(r));
        }
        case ReportType::kIncome: {
            auto r = co_await repository::income(scope);
            co_return rendered(scope, std::move(r));
        }
        case ReportType::kExpenses: {
            auto r = co_await repository::expenses(scope);
            co_return rendered(scope, std::move(r));
        }
        case ReportType::kTax: {
            auto r = co_await repository::tax(scope);
            co_return rendered(scope, std::move(r));
        }
        case ReportType::kAging: {
            auto r = co_await repository::aging(scope);
            co_return rendered(scope, std::move(r));
        }
    }
    co_return Error::internal();
}

// The answer and the period it covers.
struct Answer {
    Period period;
    std::string json;
};

boost::asio::awaitable<Result<Answer>> answer(std::string org_id, ReportType type, PeriodInput in) {
    // Malformed dates are refused before any query.
    std::vector<FieldError> errors;
    if (in.start_date && !parse_date(*in.start_date)) errors.push_back({in.start_field, "must be a date (YYYY-MM-DD)"});
    if (in.end_date && !parse_date(*in.end_date)) errors.push_back({in.end_field, "must be a date (YYYY-MM-DD)"});
    if (!errors.empty()) co_return validation_error(std::move(errors));

    auto org = co_await load_org_defaults(org_id);
    if (!org) co_return org.error();
    auto period = resolve_period(in, org->today);
    if (!period) co_return period.error();
    Scope scope{org_id, org->currency, *period, org->today};

    // Today is part of the key: balances and ages are as of today, so an answer never outlives
    // the org's day. The currency is not: changing it is a write, which invalidates.
    std::string key = "report:v1:" + std::string(type_name(type)) + ":" + period->start.text() + ":" +
                      period->end.text() + ":" + org->today;
    Answer out;
    out.period = *period;
    auto cached = co_await org_cache().get(org_id, key);
    if (cached) {
        out.json = std::move(*cached);
        co_return out;
    }
    auto json = co_await compute(scope, type);
    if (!json) co_return json.error();
    std::string value = *json;
    co_await org_cache().set(org_id, key, std::move(value), kCacheTtl);
    out.json = std::move(*json);
    co_return out;
}

}  // namespace

std::string_view type_name(ReportType t) {
    static constexpr std::array<std::string_view, 5> kNames = {"overview", "income", "expenses", "tax", "aging"};
    return kNames[static_cast<std::size_t>(t)];
}

std::optional<ReportType> parse_type(std::string_view name) {
    for (auto t :
         {ReportType::kOverview, ReportType::kIncome, ReportType::kExpenses, ReportType::kTax, ReportType::kAging}) {
        if (type_name(t) == name) return t;
    }
    return std::nullopt;
}

Result<Period> resolve_period(const PeriodInput& in, std::string_view today) {
    auto year = today.substr(0, 4);
    std::vector<FieldError> errors;
    std::string start_text = in.start_date.value_or(std::string(year) + "-01-01");
    std::string end_text = in.end_date.value_or(std::string(year) + "-12-31");
    auto start = parse_date(start_text);
    auto end = parse_date(end_text);
    if (!start) errors.push_back({in.start_field, "must be a date (YYYY-MM-DD)"});
    if (!end) errors.push_back({in.end_field, "must be a date (YYYY-MM-DD)"});
    if (start && end && *start > *end) {
        errors.push_back({in.start_field, "must not be after " + in.end_field + " (" + end->text() + ")"});
    }
    if (!errors.empty()) return validation_error(std::move(errors));
    return Period{*start, *end};
}

std::string csv_text(std::string_view s) {
    std::string v;
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')) {
        v.push_back('\'');
    }
    v.append(s);
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char ch : v) {
        if (ch == '"') out.push_back('"');
        out.push_back(ch);
    }
    out.push_back('"');
    return out;
}

Result<std::string> csv_from_json(ReportType type, std::string_view json) {
    auto doc = json::parse(json);
    if (!doc) return Error::internal("report is not JSON");
    const CsvShape& shape = csv_shape(type);
    const json::Value* list = doc->find(shape.list);
    if (!list || !list->is_array()) return Error::internal("report has no " + std::string(shape.list));
    std::string out;
    for (std::size_t i = 0; i < shape.columns.size(); ++i) {
        if (i) out.push_back(',');
        out += shape.columns[i];
    }
    out += "\r\n";
    for (const auto& row : list->as_array()) {
        for (std::size_t i = 0; i < shape.columns.size(); ++i) {
            if (i) out.push_back(',');
            const json::Value* v = row.find(shape.columns[i]);
            if (!v || v->is_null()) continue;
            // Numbers keep their exact text (money with the currency's decimals, never a float).
            if (v->is_number()) {
                out += v->number_text();
            } else if (v->is_string()) {
                out += csv_text(v->as_string());
            } else if (v->is_bool()) {
                out += v->as_bool() ? "true" : "false";
            }
        }
        out += "\r\n";
    }
    return out;
}

boost::asio::awaitable<Result<std::string>> report_json(std::string org_id, ReportType type, PeriodInput period) {
    auto a = co_await answer(std::move(org_id), type, std::move(period));
    if (!a) co_return a.error();
    co_return std::move(a->json);
}

boost::asio::awaitable<Result<CsvFile>> export_csv(std::string org_id, ReportType type, PeriodInput period) {
    auto a = co_await answer(std::move(org_id), type, std::move(period));
    if (!a) co_return a.error();
    auto csv = csv_from_json(type, a->json);
    if (!csv) co_return csv.error();
    CsvFile f;
    f.file_name = std::string(type_name(type)) + "-" + a->period.start.text() + "-" + a->period.end.text() + ".csv";
    f.body = std::move(*csv);
    co_return f;
}

}  // namespace flashbill::domain::reports
