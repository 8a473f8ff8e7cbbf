#include "domain/reports/repository.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "db/pool.hpp"

namespace flashbill::domain::reports::repository {

namespace {

// Parameters shared by the period statements: $1 org, $2 currency, $3 start date, $4 end date.

// The period as instants: from the start date's midnight to the midnight after the end date,
// both in the org's time zone (a payment at 23:30 in New York on 31 December is December's).
#define REPORT_BOUNDS                                                                        \
    "b AS (SELECT o.time_zone AS tz, ($3::date::timestamp AT TIME ZONE o.time_zone) AS lo, " \
    "(($4::date + 1)::timestamp AT TIME ZONE o.time_zone) AS hi FROM organizations o WHERE o.id = $1) "

// Cash basis: money received by payment date, net of refunds, each refund on its own date. A
// payment later refunded in full was still received (status 'refunded'); pending and failed ones
// were not.
#define REPORT_CASH                                                                                            \
    "cash AS (SELECT p.invoice_id, p.paid_at AS at, p.amount, true AS receipt FROM payments p, b "             \
    "WHERE p.org_id = $1 AND p.currency = $2 AND p.status IN ('completed', 'partially_refunded', 'refunded') " \
    "AND p.paid_at >= b.lo AND p.paid_at < b.hi "                                                              \
    "UNION ALL SELECT p.invoice_id, r.created_at, -r.amount, false FROM refunds r "                            \
    "JOIN payments p ON p.org_id = r.org_id AND p.id = r.payment_id CROSS JOIN b "                             \
    "WHERE r.org_id = $1 AND p.currency = $2 AND r.created_at >= b.lo AND r.created_at < b.hi) "

#define WITH_CASH "WITH " REPORT_BOUNDS ", " REPORT_CASH

// Accrual basis: issued invoices (not drafts, not cancelled) by issue date.
#define ACCRUAL_INVOICES                                                                       \
    "i.org_id = $1 AND i.currency = $2 AND i.status IN ('sent', 'viewed', 'partial', 'paid') " \
    "AND i.issue_date BETWEEN $3::date AND $4::date "

// Open invoices carry a balance as of today whatever the period.
#define OPEN_INVOICES                                                                                       \
    "i.org_id = $1 AND i.currency = $2 AND i.status IN ('sent', 'viewed', 'partial') AND i.total_amount > " \
    "i.amount_paid "

#define PERIOD_EXPENSES "e.org_id = $1 AND e.currency = $2 AND e.date_incurred BETWEEN $3::date AND $4::date "

constexpr std::string_view kCashTotal = WITH_CASH "SELECT coalesce(sum(amount), 0)::bigint FROM cash";
constexpr std::string_view kCashByMonth = WITH_CASH
    "SELECT to_char(cash.at AT TIME ZONE b.tz, 'YYYY-MM') AS month, sum(cash.amount)::bigint, "
    "count(DISTINCT cash.invoice_id) FILTER (WHERE cash.receipt) FROM cash CROSS JOIN b GROUP BY 1 ORDER BY 1";
constexpr std::string_view kCashByClient = WITH_CASH
    "SELECT c.id, c.name, sum(cash.amount)::bigint AS amount, "
    "count(DISTINCT cash.invoice_id) FILTER (WHERE cash.receipt) FROM cash "
    "JOIN invoices i ON i.org_id = $1 AND i.id = cash.invoice_id JOIN clients c ON c.org_id = $1 AND c.id = "
    "i.client_id "
    "GROUP BY c.id, c.name ORDER BY amount DESC, c.name, c.id";
constexpr std::string_view kCashTopInvoices = WITH_CASH
    "SELECT i.id, i.invoice_number, c.id, c.name, sum(cash.amount)::bigint AS amount FROM cash "
    "JOIN invoices i ON i.org_id = $1 AND i.id = cash.invoice_id JOIN clients c ON c.org_id = $1 AND c.id = "
    "i.client_id "
    "GROUP BY i.id, i.invoice_number, c.id, c.name HAVING sum(cash.amount) > 0 "
    "ORDER BY amount DESC, i.invoice_number, i.id LIMIT 10";

// $1 org, $2 currency, $3 start, $4 end, $5 today.
constexpr std::string_view kOverviewFigures =
    "SELECT (SELECT count(*) FROM invoices i WHERE " ACCRUAL_INVOICES
    "), "
    "(SELECT count(*) FROM invoices i WHERE " ACCRUAL_INVOICES
    "AND i.status = 'paid'), "
    "(SELECT coalesce(sum(e.amount), 0)::bigint FROM expenses e WHERE " PERIOD_EXPENSES
    "), "
    "(SELECT coalesce(sum(i.total_amount - i.amount_paid), 0)::bigint FROM invoices i WHERE " OPEN_INVOICES
    "), "
    "(SELECT count(*) FROM invoices i WHERE " OPEN_INVOICES "AND i.due_date < $5::date)";

constexpr std::string_view kExpenseTotal =
    "SELECT coalesce(sum(e.amount), 0)::bigint, coalesce(sum(e.amount) FILTER (WHERE e.tax_deductible), 0)::bigint "
    "FROM expenses e WHERE " PERIOD_EXPENSES;
constexpr std::string_view kExpenseByCategory =
    "SELECT e.category, sum(e.amount)::bigint AS amount, count(*) FROM expenses e WHERE " PERIOD_EXPENSES
    "GROUP BY e.category ORDER BY amount DESC, e.category";
constexpr std::string_view kExpenseByMonth =
    "SELECT to_char(e.date_incurred::timestamp, 'YYYY-MM') AS month, sum(e.amount)::bigint, count(*) FROM expenses e "
    "WHERE " PERIOD_EXPENSES "GROUP BY 1 ORDER BY 1";

constexpr std::string_view kTaxCollected =
    "SELECT coalesce(sum(i.tax_amount), 0)::bigint FROM invoices i WHERE " ACCRUAL_INVOICES;
// A line's label is the invoice's tax_label only when the line took the default rate; lines with
// an explicit rate have none. Zero-rated lines form their own group, so Σ taxable = Σ subtotal.
constexpr std::string_view kTaxByRate =
    "SELECT it.tax_rate_units, CASE WHEN it.used_default_tax THEN i.tax_label END AS label, "
    "sum(it.amount)::bigint, sum(it.tax_amount)::bigint FROM invoices i "
    "JOIN invoice_items it ON it.org_id = i.org_id AND it.invoice_id = i.id WHERE " ACCRUAL_INVOICES
    "GROUP BY 1, 2 ORDER BY 1 DESC, 2 NULLS LAST";
constexpr std::string_view kTaxByMonth =
    "SELECT to_char(i.issue_date::timestamp, 'YYYY-MM') AS month, sum(i.subtotal)::bigint, sum(i.tax_amount)::bigint "
    "FROM invoices i WHERE " ACCRUAL_INVOICES "GROUP BY 1 ORDER BY 1";

// $1 org, $2 currency, $3 today. Days past due: today − due date (≤ 0 is current).
#define AGING_OPEN                                                                                          \
    "i.org_id = $1 AND i.currency = $2 AND i.status IN ('sent', 'viewed', 'partial') AND i.total_amount > " \
    "i.amount_paid "
constexpr std::string_view kAgingBuckets =
    "SELECT coalesce(sum(bal) FILTER (WHERE d <= 0), 0)::bigint, "
    "coalesce(sum(bal) FILTER (WHERE d BETWEEN 1 AND 30), 0)::bigint, "
    "coalesce(sum(bal) FILTER (WHERE d BETWEEN 31 AND 60), 0)::bigint, "
    "coalesce(sum(bal) FILTER (WHERE d BETWEEN 61 AND 90), 0)::bigint, "
    "coalesce(sum(bal) FILTER (WHERE d > 90), 0)::bigint "
    "FROM (SELECT i.total_amount - i.amount_paid AS bal, $3::date - i.due_date AS d FROM invoices i WHERE " AGING_OPEN
    ") x";
constexpr std::string_view kAgingOverdue =
    "SELECT i.id, i.invoice_number, c.id, c.name, i.issue_date::text, i.due_date::text, $3::date - i.due_date AS d, "
    "i.total_amount, i.amount_paid, i.total_amount - i.amount_paid FROM invoices i "
    "JOIN clients c ON c.org_id = i.org_id AND c.id = i.client_id WHERE " AGING_OPEN
    "AND i.due_date < $3::date "
    "ORDER BY d DESC, i.invoice_number, i.id";

db::Params period_params(const Scope& s) {
    return db::Params(s.org_id, std::string(s.currency.code), s.period.start.text(), s.period.end.text());
}

std::vector<MonthAmount> months(const db::Rows& r) {
    std::vector<MonthAmount> out;
    for (int i = 0; i < r.size(); ++i) {
        MonthAmount m;
        m.month = std::string(r.text(i, 0));
        m.amount = r.int64(i, 1);
        m.count = r.columns() > 2 ? r.int64(i, 2) : 0;
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace

boost::asio::awaitable<Result<Overview>> overview(Scope scope) {
    std::vector<db::Statement> statements;
    statements.push_back({kCashTotal, period_params(scope)});
    statements.push_back({kCashByMonth, period_params(scope)});
    db::Params figures = period_params(scope);
    figures.add(scope.today);
    statements.push_back({kOverviewFigures, std::move(figures)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const auto& r = *results;
    Overview o;
    o.total_revenue = r[0].int64(0, 0);
    for (auto& m : months(r[1])) {
        m.count = 0;
        o.revenue_by_month.push_back(std::move(m));
    }
    o.total_invoices = r[2].int64(0, 0);
    o.paid_invoices = r[2].int64(0, 1);
    o.total_expenses = r[2].int64(0, 2);
    o.outstanding_balance = r[2].int64(0, 3);
    o.overdue_invoices = r[2].int64(0, 4);
    co_return o;
}

boost::asio::awaitable<Result<Income>> income(Scope scope) {
    std::vector<db::Statement> statements;
    statements.push_back({kCashTotal, period_params(scope)});
    statements.push_back({kCashByMonth, period_params(scope)});
    statements.push_back({kCashByClient, period_params(scope)});
    statements.push_back({kCashTopInvoices, period_params(scope)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const auto& r = *results;
    Income out;
    out.total_income = r[0].int64(0, 0);
    out.by_month = months(r[1]);
    for (int i = 0; i < r[2].size(); ++i) {
        out.by_client.push_back(ClientIncome{std::string(r[2].text(i, 0)), std::string(r[2].text(i, 1)),
                                             r[2].int64(i, 2), r[2].int64(i, 3)});
    }
    for (int i = 0; i < r[3].size(); ++i) {
        out.top_invoices.push_back(InvoiceReceipt{std::string(r[3].text(i, 0)), r[3].opt_text(i, 1),
                                                  std::string(r[3].text(i, 2)), std::string(r[3].text(i, 3)),
                                                  r[3].int64(i, 4)});
    }
    co_return out;
}

boost::asio::awaitable<Result<Expenses>> expenses(Scope scope) {
    std::vector<db::Statement> statements;
    statements.push_back({kExpenseTotal, period_params(scope)});
    statements.push_back({kExpenseByCategory, period_params(scope)});
    statements.push_back({kExpenseByMonth, period_params(scope)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const auto& r = *results;
    Expenses out;
    out.total_expenses = r[0].int64(0, 0);
    for (int i = 0; i < r[1].size(); ++i) {
        out.by_category.push_back(CategoryAmount{std::string(r[1].text(i, 0)), r[1].int64(i, 1), r[1].int64(i, 2)});
    }
    out.by_month = months(r[2]);
    co_return out;
}

boost::asio::awaitable<Result<Tax>> tax(Scope scope) {
    std::vector<db::Statement> statements;
    statements.push_back({kTaxCollected, period_params(scope)});
    statements.push_back({kExpenseTotal, period_params(scope)});
    statements.push_back({kTaxByRate, period_params(scope)});
    statements.push_back({kTaxByMonth, period_params(scope)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const auto& r = *results;
    Tax out;
    out.total_tax_collected = r[0].int64(0, 0);
    out.total_tax_deductible = r[1].int64(0, 1);
    for (int i = 0; i < r[2].size(); ++i) {
        out.by_rate.push_back(RateTax{r[2].int64(i, 0), r[2].opt_text(i, 1), r[2].int64(i, 2), r[2].int64(i, 3)});
    }
    for (int i = 0; i < r[3].size(); ++i) {
        out.by_month.push_back(MonthTax{std::string(r[3].text(i, 0)), r[3].int64(i, 1), r[3].int64(i, 2)});
    }
    co_return out;
}

boost::asio::awaitable<Result<Aging>> aging(Scope scope) {
    std::vector<db::Statement> statements;
    statements.push_back({kAgingBuckets, db::Params(scope.org_id, std::string(scope.currency.code), scope.today)});
    statements.push_back({kAgingOverdue, db::Params(scope.org_id, std::string(scope.currency.code), scope.today)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const auto& r = *results;
    Aging out;
    out.current = r[0].int64(0, 0);
    out.one_to_thirty_days = r[0].int64(0, 1);
    out.thirty_one_to_sixty_days = r[0].int64(0, 2);
    out.sixty_one_to_ninety_days = r[0].int64(0, 3);
    out.over_ninety_days = r[0].int64(0, 4);
    for (int i = 0; i < r[1].size(); ++i) {
        AgingInvoice a;
        a.invoice_id = std::string(r[1].text(i, 0));
        a.invoice_number = r[1].opt_text(i, 1);
        a.client_id = std::string(r[1].text(i, 2));
        a.client_name = std::string(r[1].text(i, 3));
        a.issue_date = std::string(r[1].text(i, 4));
        a.due_date = std::string(r[1].text(i, 5));
        a.days_overdue = r[1].int64(i, 6);
        a.total_amount = r[1].int64(i, 7);
        a.amount_paid = r[1].int64(i, 8);
        a.balance_due = r[1].int64(i, 9);
        out.overdue_invoices.push_back(std::move(a));
    }
    co_return out;
}

}  // namespace flashbill::domain::reports::repository
