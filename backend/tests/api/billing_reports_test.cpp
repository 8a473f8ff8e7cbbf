// Reports through the real binary (API.md §9). A realistic org is seeded through the API (and by
// SQL where no API exists yet: tax rates, expenses, backdated refunds); every figure of every
// report is then checked against a brute-force recomputation in C++ over the rows read back from
// the database — plain loops over plain rows, not the server's SQL. Also: the per-org cache, tenancy,
// the CSV export parsed back, and validation.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;
using std::int64_t;

constexpr const char* kTz = "America/New_York";

std::map<std::string, std::string> report_env(const TestDatabase& db) { return env(db, {{"REDIS_URL", redis_url()}}); }

// --- money and dates, done by hand -------------------------------------------------------------

std::string usd(int64_t minor) {
    std::string sign = minor < 0 ? "-" : "";
    int64_t a = minor < 0 ? -minor : minor;
    std::string cents = std::to_string(a % 100);
    if (cents.size() < 2) cents = "0" + cents;
    return sign + std::to_string(a / 100) + "." + cents;
}

// Days since 1970-01-01 of a YYYY-MM-DD date (H. Hinnant's days_from_civil).
int64_t days_of(const std::string& date) {
    int y = std::stoi(date.substr(0, 4));
    unsigned m = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
    unsigned d = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

// A rate in units of 10^-4 percent as the API writes it (8.25, 20, 0).
std::string rate_text(int64_t units) {
    std::string s = std::to_string(units / 10000);
    int64_t frac = units % 10000;
    if (frac) {
        std::string f = std::to_string(frac);
        f = std::string(4 - f.size(), '0') + f;
        while (f.back() == '0') f.pop_back();
        s += "." + f;
    }
    return s;
}

// The org's calendar day `offset` days from today.
std::string day(const TestDatabase& db, int offset) {
    return db.scalar(std::string("SELECT ((now() AT TIME ZONE '") + kTz + "')::date + (" + std::to_string(offset) +
                     "))::text");
}

// --- rows read back from the database ----------------------------------------------------------

using Row = std::vector<std::string>;

// A boolean as PostgreSQL's output function writes it ("t") or as text ("true").
bool is_true(const std::string& s) { return s == "t" || s == "true"; }

// Rows of `select` (each a concat_ws(chr(31), ...) text), read in one scalar.
std::vector<Row> read_rows(const TestDatabase& db, const std::string& select, const std::string& from) {
    std::string all = db.scalar("SELECT string_agg(" + select + ", chr(30)) " + from);
    std::vector<Row> out;
    if (all.empty()) return out;
    std::stringstream rows(all);
    std::string line;
    while (std::getline(rows, line, '\x1e')) {
        Row r;
        std::string field;
        std::size_t start = 0;
        while (true) {
            auto pos = line.find('\x1f', start);
            r.push_back(line.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
            if (pos == std::string::npos) break;
            start = pos + 1;
        }
        out.push_back(std::move(r));
    }
    return out;
}

struct Inv {
    std::string id, number, client_id, status, currency, issue, due, label;
    int64_t subtotal, tax, total, paid;
};
struct Item {
    std::string invoice_id;
    int64_t rate, amount, tax;
    bool used_default;
};
struct Pay {
    std::string id, invoice_id, currency, status, date;
    int64_t amount;
};
struct Ref {
    std::string payment_id, date;
    int64_t amount;
};
struct Exp {
    std::string currency, category, date;
    int64_t amount;
    bool deductible;
};

struct Data {
    std::string today;
    std::vector<Inv> invoices;
    std::vector<Item> items;
    std::vector<Pay> payments;
    std::vector<Ref> refunds;
    std::vector<Exp> expenses;
    std::map<std::string, std::string> client_names;
    const Inv* invoice(const std::string& id) const {
        for (const auto& i : invoices) {
            if (i.id == id) return &i;
        }
        return nullptr;
    }
};

Data load(const TestDatabase& db, const std::string& org) {
    Data d;
    d.today = day(db, 0);
    std::string where = " WHERE org_id = '" + org + "'";
    for (auto& r : read_rows(db,
                             "concat_ws(chr(31), id, coalesce(invoice_number, ''), client_id, status, currency, "
                             "issue_date, due_date, coalesce(tax_label, ''), subtotal, tax_amount, total_amount, "
                             "amount_paid)",
                             "FROM invoices" + where)) {
        d.invoices.push_back(Inv{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], std::stoll(r[8]), std::stoll(r[9]),
                                 std::stoll(r[10]), std::stoll(r[11])});
    }
    for (auto& r : read_rows(db, "concat_ws(chr(31), invoice_id, tax_rate_units, amount, tax_amount, used_default_tax)",
                             "FROM invoice_items" + where)) {
        d.items.push_back(Item{r[0], std::stoll(r[1]), std::stoll(r[2]), std::stoll(r[3]), is_true(r[4])});
    }
    std::string local = std::string(" AT TIME ZONE '") + kTz + "', 'YYYY-MM-DD')";
    for (auto& r :
         read_rows(db, "concat_ws(chr(31), id, invoice_id, currency, status, to_char(paid_at" + local + ", amount)",
                   "FROM payments" + where)) {
        d.payments.push_back(Pay{r[0], r[1], r[2], r[3], r[4], std::stoll(r[5])});
    }
    for (auto& r : read_rows(db, "concat_ws(chr(31), payment_id, to_char(created_at" + local + ", amount)",
                             "FROM refunds" + where)) {
        d.refunds.push_back(Ref{r[0], r[1], std::stoll(r[2])});
    }
    for (auto& r : read_rows(db, "concat_ws(chr(31), currency, category, date_incurred, amount, tax_deductible)",
                             "FROM expenses" + where)) {
        d.expenses.push_back(Exp{r[0], r[1], r[2], std::stoll(r[3]), is_true(r[4])});
    }
    for (auto& r : read_rows(db, "concat_ws(chr(31), id, name)", "FROM clients" + where)) d.client_names[r[0]] = r[1];
    return d;
}

// --- the brute force ---------------------------------------------------------------------------

bool in(const std::string& date, const std::string& start, const std::string& end) {
    return start <= date && date <= end;
}
bool issued(const Inv& i) {
    return i.status == "sent" || i.status == "viewed" || i.status == "partial" || i.status == "paid";
}
bool open(const Inv& i) {
    return (i.status == "sent" || i.status == "viewed" || i.status == "partial") && i.total > i.paid;
}

struct Event {
    std::string invoice_id, month;
    int64_t amount;
    bool receipt;
};

std::vector<Event> cash(const Data& d, const std::string& s, const std::string& e) {
    std::vector<Event> out;
    std::map<std::string, const Pay*> by_id;
    for (const auto& p : d.payments) {
        by_id[p.id] = &p;
        bool received = p.status == "completed" || p.status == "partially_refunded" || p.status == "refunded";
        if (received && p.currency == "USD" && in(p.date, s, e)) {
            out.push_back({p.invoice_id, p.date.substr(0, 7), p.amount, true});
        }
    }
    for (const auto& r : d.refunds) {
        const Pay* p = by_id.at(r.payment_id);
        if (p->currency == "USD" && in(r.date, s, e))
            out.push_back({p->invoice_id, r.date.substr(0, 7), -r.amount, false});
    }
    return out;
}

const json::Value& at(const json::Value& v, std::string_view key) {
    static const json::Value kNull;
    const json::Value* f = v.find(key);
    EXPECT_TRUE(f) << "missing " << key;
    return f ? *f : kNull;
}
std::string num(const json::Value& v, std::string_view key) {
    const json::Value& f = at(v, key);
    return f.is_number() ? std::string(f.number_text()) : "?";
}
const json::Array& arr(const json::Value& v, std::string_view key) {
    static const json::Array kEmpty;
    const json::Value& f = at(v, key);
    EXPECT_TRUE(f.is_array()) << key;
    return f.is_array() ? f.as_array() : kEmpty;
}

void expect_head(const json::Value& r, const std::string& s, const std::string& e, const std::string& basis) {
    EXPECT_EQ(str(at(r, "period"), "start_date"), s);
    EXPECT_EQ(str(at(r, "period"), "end_date"), e);
    EXPECT_EQ(str(r, "basis"), basis);
    EXPECT_EQ(str(r, "currency"), "USD");
}

void check_overview(const Data& d, const json::Value& r, const std::string& s, const std::string& e) {
    expect_head(r, s, e, "cash");
    int64_t revenue = 0;
    std::map<std::string, int64_t> months;
    for (const auto& ev : cash(d, s, e)) {
        revenue += ev.amount;
        months[ev.month] += ev.amount;
    }
    int64_t outstanding = 0, total = 0, paid = 0, overdue = 0, expenses = 0;
    for (const auto& i : d.invoices) {
        if (i.currency != "USD") continue;
        if (open(i)) {
            outstanding += i.total - i.paid;
            if (i.due < d.today) ++overdue;
        }
        if (issued(i) && in(i.issue, s, e)) {
            ++total;
            if (i.status == "paid") ++paid;
        }
    }
    for (const auto& x : d.expenses) {
        if (x.currency == "USD" && in(x.date, s, e)) expenses += x.amount;
    }
    EXPECT_EQ(num(r, "total_revenue"), usd(revenue));
    EXPECT_EQ(num(r, "total_outstanding"), usd(outstanding));
    EXPECT_EQ(num(r, "outstanding_balance"), usd(outstanding));
    EXPECT_EQ(num(r, "total_invoices"), std::to_string(total));
    EXPECT_EQ(num(r, "paid_invoices"), std::to_string(paid));
    EXPECT_EQ(num(r, "overdue_invoices"), std::to_string(overdue));
    EXPECT_EQ(num(r, "total_expenses"), usd(expenses));
    EXPECT_EQ(num(r, "net_profit"), usd(revenue - expenses));
    const auto& list = arr(r, "revenue_by_month");
    ASSERT_EQ(list.size(), months.size());
    std::size_t k = 0;
    for (const auto& [m, amount] : months) {
        EXPECT_EQ(str(list[k], "month"), m);
        EXPECT_EQ(num(list[k], "amount"), usd(amount));
        ++k;
    }
}

void check_income(const Data& d, const json::Value& r, const std::string& s, const std::string& e) {
    expect_head(r, s, e, "cash");
    int64_t total = 0;
    std::map<std::string, int64_t> month_amount;
    std::map<std::string, std::set<std::string>> month_invoices;
    std::map<std::string, int64_t> client_amount, invoice_amount;
    std::map<std::string, std::set<std::string>> client_invoices;
    for (const auto& ev : cash(d, s, e)) {
        total += ev.amount;
        month_amount[ev.month] += ev.amount;
        if (ev.receipt) month_invoices[ev.month].insert(ev.invoice_id);
        const Inv* inv = d.invoice(ev.invoice_id);
        client_amount[inv->client_id] += ev.amount;
        if (ev.receipt) client_invoices[inv->client_id].insert(ev.invoice_id);
        invoice_amount[ev.invoice_id] += ev.amount;
    }
    EXPECT_EQ(num(r, "total_income"), usd(total));
    const auto& by_month = arr(r, "by_month");
    ASSERT_EQ(by_month.size(), month_amount.size());
    std::size_t k = 0;
    for (const auto& [m, amount] : month_amount) {
        EXPECT_EQ(str(by_month[k], "month"), m);
        EXPECT_EQ(num(by_month[k], "amount"), usd(amount));
        EXPECT_EQ(num(by_month[k], "invoice_count"), std::to_string(month_invoices[m].size()));
        ++k;
    }
    std::vector<std::pair<int64_t, std::string>> clients;
    for (const auto& [c, amount] : client_amount) clients.emplace_back(amount, c);
    std::sort(clients.begin(), clients.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return d.client_names.at(a.second) < d.client_names.at(b.second);
    });
    const auto& by_client = arr(r, "by_client");
    ASSERT_EQ(by_client.size(), clients.size());
    for (std::size_t i = 0; i < clients.size(); ++i) {
        EXPECT_EQ(str(by_client[i], "client_id"), clients[i].second);
        EXPECT_EQ(str(by_client[i], "client_name"), d.client_names.at(clients[i].second));
        EXPECT_EQ(num(by_client[i], "amount"), usd(clients[i].first));
        EXPECT_EQ(num(by_client[i], "invoice_count"), std::to_string(client_invoices[clients[i].second].size()));
    }
    std::vector<std::pair<int64_t, std::string>> top;
    for (const auto& [id, amount] : invoice_amount) {
        if (amount > 0) top.emplace_back(amount, id);
    }
    std::sort(top.begin(), top.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return d.invoice(a.second)->number < d.invoice(b.second)->number;
    });
    if (top.size() > 10) top.resize(10);
    const auto& tops = arr(r, "top_invoices");
    ASSERT_EQ(tops.size(), top.size());
    for (std::size_t i = 0; i < top.size(); ++i) {
        const Inv* inv = d.invoice(top[i].second);
        EXPECT_EQ(str(tops[i], "invoice_id"), inv->id);
        EXPECT_EQ(str(tops[i], "invoice_number"), inv->number);
        EXPECT_EQ(str(tops[i], "client_id"), inv->client_id);
        EXPECT_EQ(str(tops[i], "client_name"), d.client_names.at(inv->client_id));
        EXPECT_EQ(num(tops[i], "amount"), usd(top[i].first));
    }
}

void check_expenses(const Data& d, const json::Value& r, const std::string& s, const std::string& e) {
    expect_head(r, s, e, "cash");
    int64_t total = 0;
    std::map<std::string, std::pair<int64_t, int64_t>> cats, months;
    for (const auto& x : d.expenses) {
        if (x.currency != "USD" || !in(x.date, s, e)) continue;
        total += x.amount;
        cats[x.category].first += x.amount;
        cats[x.category].second += 1;
        months[x.date.substr(0, 7)].first += x.amount;
        months[x.date.substr(0, 7)].second += 1;
    }
    EXPECT_EQ(num(r, "total_expenses"), usd(total));
    std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> sorted(cats.begin(), cats.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    const auto& by_category = arr(r, "by_category");
    ASSERT_EQ(by_category.size(), sorted.size());
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        EXPECT_EQ(str(by_category[i], "category"), sorted[i].first);
        EXPECT_EQ(num(by_category[i], "amount"), usd(sorted[i].second.first));
        EXPECT_EQ(num(by_category[i], "count"), std::to_string(sorted[i].second.second));
    }
    const auto& by_month = arr(r, "by_month");
    ASSERT_EQ(by_month.size(), months.size());
    std::size_t k = 0;
    for (const auto& [m, v] : months) {
        EXPECT_EQ(str(by_month[k], "month"), m);
        EXPECT_EQ(num(by_month[k], "amount"), usd(v.first));
        EXPECT_EQ(num(by_month[k], "count"), std::to_string(v.second));
        ++k;
    }
}

void check_tax(const Data& d, const json::Value& r, const std::string& s, const std::string& e) {
    expect_head(r, s, e, "accrual");
    int64_t collected = 0, deductible = 0;
    // (rate, label or "\x7f" for none so that it sorts last) -> (taxable, tax)
    std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> rates;
    std::map<std::string, std::pair<int64_t, int64_t>> months;
    for (const auto& i : d.invoices) {
        if (i.currency != "USD" || !issued(i) || !in(i.issue, s, e)) continue;
        collected += i.tax;
        months[i.issue.substr(0, 7)].first += i.subtotal;
        months[i.issue.substr(0, 7)].second += i.tax;
        for (const auto& it : d.items) {
            if (it.invoice_id != i.id) continue;
            auto& g = rates[{it.rate, it.used_default ? i.label : "\x7f"}];
            g.first += it.amount;
            g.second += it.tax;
        }
    }
    for (const auto& x : d.expenses) {
        if (x.currency == "USD" && x.deductible && in(x.date, s, e)) deductible += x.amount;
    }
    EXPECT_EQ(num(r, "total_tax_collected"), usd(collected));
    EXPECT_EQ(num(r, "total_tax_deductible"), usd(deductible));
    // Descending rate, then ascending label with "no label" last.
    std::vector<std::pair<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>>> sorted(rates.begin(),
                                                                                                rates.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        if (a.first.first != b.first.first) return a.first.first > b.first.first;
        return a.first.second < b.first.second;
    });
    const auto& by_rate = arr(r, "by_rate");
    ASSERT_EQ(by_rate.size(), sorted.size());
    for (std::size_t k = 0; k < sorted.size(); ++k) {
        const auto& [key, sums] = sorted[k];
        EXPECT_EQ(num(by_rate[k], "rate"), rate_text(key.first));
        if (key.second == "\x7f") {
            EXPECT_TRUE(at(by_rate[k], "label").is_null());
        } else {
            EXPECT_EQ(str(by_rate[k], "label"), key.second);
        }
        EXPECT_EQ(num(by_rate[k], "taxable_amount"), usd(sums.first));
        EXPECT_EQ(num(by_rate[k], "tax_amount"), usd(sums.second));
    }
    const auto& by_month = arr(r, "by_month");
    ASSERT_EQ(by_month.size(), months.size());
    std::size_t k = 0;
    for (const auto& [m, v] : months) {
        EXPECT_EQ(str(by_month[k], "month"), m);
        EXPECT_EQ(num(by_month[k], "taxable_amount"), usd(v.first));
        EXPECT_EQ(num(by_month[k], "tax_amount"), usd(v.second));
        ++k;
    }
}

void check_aging(const Data& d, const json::Value& r, const std::string& s, const std::string& e) {
    expect_head(r, s, e, "accrual");
    int64_t buckets[5] = {0, 0, 0, 0, 0};
    std::vector<std::pair<int64_t, const Inv*>> overdue;
    for (const auto& i : d.invoices) {
        if (i.currency != "USD" || !open(i)) continue;
        int64_t late = days_of(d.today) - days_of(i.due);
        int b = late <= 0 ? 0 : late <= 30 ? 1 : late <= 60 ? 2 : late <= 90 ? 3 : 4;
        buckets[b] += i.total - i.paid;
        if (late > 0) overdue.emplace_back(late, &i);
    }
    EXPECT_EQ(num(r, "current"), usd(buckets[0]));
    EXPECT_EQ(num(r, "one_to_thirty_days"), usd(buckets[1]));
    EXPECT_EQ(num(r, "thirty_one_to_sixty_days"), usd(buckets[2]));
    EXPECT_EQ(num(r, "sixty_one_to_ninety_days"), usd(buckets[3]));
    EXPECT_EQ(num(r, "over_ninety_days"), usd(buckets[4]));
    std::sort(overdue.begin(), overdue.end(), [](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return a.second->number < b.second->number;
    });
    const auto& list = arr(r, "overdue_invoices");
    ASSERT_EQ(list.size(), overdue.size());
    for (std::size_t i = 0; i < overdue.size(); ++i) {
        const Inv* inv = overdue[i].second;
        EXPECT_EQ(str(list[i], "invoice_id"), inv->id);
        EXPECT_EQ(str(list[i], "invoice_number"), inv->number);
        EXPECT_EQ(str(list[i], "client_id"), inv->client_id);
        EXPECT_EQ(str(list[i], "client_name"), d.client_names.at(inv->client_id));
        EXPECT_EQ(str(list[i], "issue_date"), inv->issue);
        EXPECT_EQ(str(list[i], "due_date"), inv->due);
        EXPECT_EQ(num(list[i], "days_overdue"), std::to_string(overdue[i].first));
        EXPECT_EQ(num(list[i], "total_amount"), usd(inv->total));
        EXPECT_EQ(num(list[i], "amount_paid"), usd(inv->paid));
        EXPECT_EQ(num(list[i], "balance_due"), usd(inv->total - inv->paid));
    }
}

// --- seeding through the API -------------------------------------------------------------------

struct Seeder {
    const TestDatabase& db;
    std::uint16_t port;
    const TestAccount& a;

    std::string client(const std::string& name) {
        auto r = send(port, "POST", "/api/v1/clients", R"({"name":)" + jstr(name) + "}", bearer(a));
        EXPECT_EQ(r.status, 201) << r.body;
        return str(parse(r), "id");
    }
    // An invoice issued `issue` days from today and due `due` days from today; `send` issues it.
    std::string invoice(const std::string& client_id, int issue, int due, const std::string& items,
                        bool issue_it = true, const std::string& extra = "") {
        auto r = send(port, "POST", "/api/v1/invoices",
                      R"({"client_id":")" + client_id + R"(","issue_date":")" + day(db, issue) + R"(","due_date":")" +
                          day(db, due) + R"(","items":)" + items + extra + "}",
                      bearer(a));
        EXPECT_EQ(r.status, 201) << r.body;
        auto id = str(parse(r), "id");
        if (issue_it) {
            auto s = send(port, "POST", "/api/v1/invoices/" + id + "/mark-sent", "", bearer(a));
            EXPECT_EQ(s.status, 200) << s.body;
        }
        return id;
    }
    std::string pay(const std::string& invoice_id, const std::string& amount, int paid_day) {
        auto r = send(
            port, "POST", "/api/v1/invoices/" + invoice_id + "/payments",
            R"({"amount":)" + amount + R"(,"payment_method":"bank_transfer","paid_at":")" + day(db, paid_day) + R"("})",
            bearer(a));
        EXPECT_EQ(r.status, 201) << r.body;
        return str(parse(r), "id");
    }
    // A refund, dated `refund_day` days from today (noon in the org's time zone) by SQL: the API
    // stamps refunds with the current time.
    void refund(const std::string& payment_id, const std::string& amount, int refund_day) {
        auto r =
            send(port, "POST", "/api/v1/payments/" + payment_id + "/refund", R"({"amount":)" + amount + "}", bearer(a));
        EXPECT_EQ(r.status, 201) << r.body;
        db.exec("UPDATE refunds SET created_at = (('" + day(db, refund_day) + "'::date + time '12:00') AT TIME ZONE '" +
                kTz + "') WHERE id = '" + str(parse(r), "id") + "'");
    }
    void expense(const std::string& category, int64_t minor, int on_day, bool deductible = true,
                 const std::string& currency = "USD") {
        db.exec("INSERT INTO expenses (org_id, amount, currency, category, date_incurred, tax_deductible) VALUES ('" +
                a.org_id + "', " + std::to_string(minor) + ", '" + currency + "', '" + category + "', '" +
                day(db, on_day) + "', " + (deductible ? "true" : "false") + ")");
    }
};

void use_time_zone(const TestDatabase& db, const TestAccount& a) {
    db.exec(std::string("UPDATE organizations SET time_zone = '") + kTz + "' WHERE id = '" + a.org_id + "'");
}

// A realistic org: invoices over several months incl. drafts, cancelled, partly paid, refunded,
// overdue at different ages, tax at two explicit rates and the default, another currency, and
// expenses (by SQL: that API is being built in parallel).
void seed(const TestDatabase& db, std::uint16_t port, const TestAccount& a) {
    use_time_zone(db, a);
    db.exec("INSERT INTO tax_rates (org_id, label, rate_units, is_default) VALUES ('" + a.org_id +
            "', 'State sales tax', 62500, true)");
    Seeder s{db, port, a};
    auto acme = s.client("Acme, Inc.");
    auto globex = s.client("Globex \"Global\" Corp");
    auto initech = s.client("=Initech");
    auto euro = s.client("Euro GmbH");
    const std::string mixed = R"([{"description":"Design","quantity":2,"unit_price":120.50,"tax_rate":8.25},)"
                              R"({"description":"Hosting","quantity":1,"unit_price":49.99},)"
                              R"({"description":"Licence","quantity":3,"unit_price":19.99,"tax_rate":20},)"
                              R"({"description":"Advice","quantity":1,"unit_price":15,"tax_rate":0}])";
    // Paid in full long ago; issued outside the 180-day window.
    auto old = s.invoice(acme, -300, -270, mixed);
    s.pay(old, "400.95", -265);
    // Outside the window but still unpaid: over 90 days late, with a payment inside the window.
    auto ancient = s.invoice(initech, -250, -220, R"([{"description":"Audit","quantity":4,"unit_price":250}])");
    s.pay(ancient, "100", -15);
    // Paid in full within the window, in two payments, one partly refunded.
    auto a1 = s.invoice(acme, -150, -120, mixed);
    auto p1 = s.pay(a1, "200", -140);
    s.pay(a1, "200.95", -100);
    s.refund(p1, "50", -30);
    // Partly paid and 61–90 days late.
    auto g1 = s.invoice(globex, -100, -70, R"([{"description":"Retainer","quantity":1,"unit_price":1000}])");
    s.pay(g1, "300", -90);
    s.pay(g1, "125.25", -60);
    // 31–60 days late, unpaid.
    s.invoice(acme, -45, -35, R"([{"description":"Support","quantity":10,"unit_price":35,"tax_rate":8.25}])");
    // Paid, then refunded in full: open again, 1–30 days late.
    auto r1 = s.invoice(globex, -60, -25, R"([{"description":"Workshop","quantity":1,"unit_price":800}])");
    auto rp = s.pay(r1, "850", -55);
    s.refund(rp, "850", -20);
    // 1–30 days late, partly paid.
    auto e1 = s.invoice(initech, -10, -5, R"([{"description":"Fix","quantity":1.5,"unit_price":99.99}])");
    s.pay(e1, "10.01", -2);
    // Current (not yet due), unpaid.
    s.invoice(globex, -20, 10, R"([{"description":"Phase 2","quantity":1,"unit_price":2500,"tax_rate":20}])");
    // Due today: not overdue yet.
    s.invoice(acme, -30, 0, R"([{"description":"Maintenance","quantity":1,"unit_price":99}])");
    // A draft and a cancelled invoice: never counted.
    s.invoice(acme, -30, 0, R"([{"description":"Draft","quantity":1,"unit_price":5000}])", false);
    auto cancelled = s.invoice(globex, -40, -10, R"([{"description":"Oops","quantity":1,"unit_price":7000}])");
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + cancelled + "/cancel", "", bearer(a)).status, 200);
    // Another currency: never summed into the USD figures.
    auto eur = s.invoice(euro, -50, -40, R"([{"description":"EU work","quantity":1,"unit_price":900}])", true,
                         R"(,"currency":"EUR")");
    s.pay(eur, "400", -45);
    s.expense("software", 4999, -160);
    s.expense("software", 1500, -3);
    s.expense("travel", 82040, -95, false);
    s.expense("office_supplies", 2345, -95);
    s.expense("marketing", 50000, -40);
    s.expense("utilities", 12000, -250);
    s.expense("travel", 99900, -12, true, "EUR");
}

json::Value get_report(std::uint16_t port, const TestAccount& a, const std::string& type, const std::string& query) {
    auto r = http_get(port, "/api/v1/reports/" + type + query, bearer(a));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_CONFORMS("GET", "/api/v1/reports/" + type, r);
    return parse(r);
}

TEST(BillingReports, EveryFigureMatchesABruteForceRecomputation) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    seed(db, port, owner);
    Data d = load(db, owner.org_id);
    ASSERT_GE(d.invoices.size(), 12u);
    ASSERT_GE(d.refunds.size(), 2u);
    // Three periods: the last 180 days, a window cutting through the data, and the default (the
    // current calendar year in the org's time zone).
    std::vector<std::pair<std::string, std::string>> periods = {
        {day(db, -180), day(db, 0)},
        {day(db, -100), day(db, -50)},
        {d.today.substr(0, 4) + "-01-01", d.today.substr(0, 4) + "-12-31"}};
    for (std::size_t p = 0; p < periods.size(); ++p) {
        const auto& [s, e] = periods[p];
        SCOPED_TRACE("period " + s + " .. " + e);
        std::string q = p == 2 ? "" : "?start_date=" + s + "&end_date=" + e;
        check_overview(d, get_report(port, owner, "overview", q), s, e);
        check_income(d, get_report(port, owner, "income", q), s, e);
        check_expenses(d, get_report(port, owner, "expenses", q), s, e);
        check_tax(d, get_report(port, owner, "tax", q), s, e);
        check_aging(d, get_report(port, owner, "aging", q), s, e);
    }
    // The seed really exercises what it claims to (a brute force over an empty seed proves little).
    auto wide = get_report(port, owner, "aging", "");
    EXPECT_NE(num(wide, "one_to_thirty_days"), "0.00");
    EXPECT_NE(num(wide, "thirty_one_to_sixty_days"), "0.00");
    EXPECT_NE(num(wide, "sixty_one_to_ninety_days"), "0.00");
    EXPECT_NE(num(wide, "over_ninety_days"), "0.00");
    EXPECT_NE(num(wide, "current"), "0.00");
    auto tax = get_report(port, owner, "tax", "?start_date=" + day(db, -180) + "&end_date=" + day(db, 0));
    EXPECT_EQ(arr(tax, "by_rate").size(), 4u);  // 20 %, 8.25 %, the 6.25 % default, 0 %
    // The dashboard alias answers the same document.
    auto alias = http_get(port, "/api/v1/dashboard/overview", bearer(owner));
    ASSERT_EQ(alias.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/dashboard/overview", alias);
    EXPECT_EQ(alias.body, http_get(port, "/api/v1/reports/overview", bearer(owner)).body);
}

// Cache hits so far, from /metrics (the test talks to the server over loopback): Redis, or the
// in-process fallback while a thread's Redis link is still connecting.
int64_t cache_hits(std::uint16_t port) {
    auto m = http_get(port, "/metrics");
    const std::string key = "cache_lookups_total{result=\"hit\"";
    int64_t total = 0;
    for (auto pos = m.body.find(key); pos != std::string::npos; pos = m.body.find(key, pos + 1)) {
        auto eol = m.body.find('\n', pos);
        auto space = m.body.rfind(' ', eol);
        total += std::stoll(m.body.substr(space + 1, eol - space - 1));
    }
    return total;
}

TEST(BillingReports, CachedPerOrgUntilAWriteInTheOrg) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    Seeder s{db, port, owner};
    auto c = s.client("Cache Co");
    auto inv = s.invoice(c, -5, 20, R"([{"description":"Work","quantity":1,"unit_price":100}])");
    s.pay(inv, "30", 0);
    auto first = http_get(port, "/api/v1/reports/overview", bearer(owner));
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(num(parse(first), "total_revenue"), "30.00");
    int64_t hits = cache_hits(port);
    auto second = http_get(port, "/api/v1/reports/overview", bearer(owner));
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(cache_hits(port), hits + 1);
    // Proof that the answer came from the cache: a change behind the API's back is not seen...
    db.exec("UPDATE payments SET amount = 3100 WHERE org_id = '" + owner.org_id + "'");
    EXPECT_EQ(num(parse(http_get(port, "/api/v1/reports/overview", bearer(owner))), "total_revenue"), "30.00");
    db.exec("UPDATE payments SET amount = 3000 WHERE org_id = '" + owner.org_id + "'");
    // ...while a payment recorded through the API invalidates the org's answers at once.
    s.pay(inv, "20", 0);
    auto after = parse(http_get(port, "/api/v1/reports/overview", bearer(owner)));
    EXPECT_EQ(num(after, "total_revenue"), "50.00");
    EXPECT_EQ(num(after, "outstanding_balance"), "50.00");
    // Each period has its own entry.
    auto other_period =
        parse(http_get(port, "/api/v1/reports/overview?start_date=2000-01-01&end_date=2000-12-31", bearer(owner)));
    EXPECT_EQ(num(other_period, "total_revenue"), "0.00");
    EXPECT_EQ(num(other_period, "outstanding_balance"), "50.00");  // balances are as of today
    // An export is a read: it does not invalidate the cache.
    ASSERT_EQ(
        send(port, "POST", "/api/v1/reports/export", R"({"report_type":"overview","format":"csv"})", bearer(owner))
            .status,
        200);
    hits = cache_hits(port);
    http_get(port, "/api/v1/reports/overview", bearer(owner));
    EXPECT_EQ(cache_hits(port), hits + 1);
}

TEST(BillingReports, AnotherOrgSeesNoneOfTheData) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    seed(db, port, owner);
    auto other = register_account(port);
    std::string q = "?start_date=" + day(db, -400) + "&end_date=" + day(db, 0);
    auto o = get_report(port, other, "overview", q);
    for (auto key : {"total_revenue", "total_outstanding", "total_expenses", "net_profit"})
        EXPECT_EQ(num(o, key), "0.00");
    for (auto key : {"total_invoices", "paid_invoices", "overdue_invoices"}) EXPECT_EQ(num(o, key), "0");
    EXPECT_TRUE(arr(o, "revenue_by_month").empty());
    auto i = get_report(port, other, "income", q);
    EXPECT_TRUE(arr(i, "by_client").empty());
    EXPECT_TRUE(arr(i, "top_invoices").empty());
    EXPECT_TRUE(arr(get_report(port, other, "expenses", q), "by_category").empty());
    EXPECT_TRUE(arr(get_report(port, other, "tax", q), "by_rate").empty());
    auto a = get_report(port, other, "aging", q);
    EXPECT_TRUE(arr(a, "overdue_invoices").empty());
    EXPECT_EQ(num(a, "over_ninety_days"), "0.00");
    auto csv = http_get(port, "/api/v1/reports/export/aging?format=csv", bearer(other));
    ASSERT_EQ(csv.status, 200);
    EXPECT_EQ(csv.body,
              "invoice_id,invoice_number,client_id,client_name,issue_date,due_date,days_overdue,"
              "total_amount,amount_paid,balance_due\r\n");
    // The owner's org does see it (so the emptiness above is not an empty seed).
    EXPECT_FALSE(arr(get_report(port, owner, "aging", q), "overdue_invoices").empty());
}

// RFC 4180 parser of the test's own.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field.push_back('"');
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field.push_back(c);
            }
        } else if (c == '"') {
            quoted = true;
            any = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            ++i;
        } else {
            field.push_back(c);
            any = true;
        }
    }
    EXPECT_FALSE(quoted) << "unterminated quote";
    if (!field.empty() || !row.empty()) ADD_FAILURE() << "the last line has no CRLF";
    (void)any;
    return rows;
}

// Integer minor units of an amount column ("-12.30" -> -1230).
int64_t minor(const std::string& s) {
    auto dot = s.find('.');
    EXPECT_NE(dot, std::string::npos) << s;
    std::string digits = s.substr(0, dot) + s.substr(dot + 1);
    EXPECT_EQ(s.size() - dot - 1, 2u) << s;
    return std::stoll(digits);
}

TEST(BillingReports, CsvExportParsesBackAndMatchesTheJson) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    seed(db, port, owner);
    std::string s = day(db, -400), e = day(db, 0);
    struct Case {
        std::string type, list, total_key;
    };
    for (const Case& c : {Case{"overview", "revenue_by_month", "total_revenue"},
                          Case{"income", "by_month", "total_income"}, Case{"expenses", "by_category", "total_expenses"},
                          Case{"tax", "by_rate", "total_tax_collected"}, Case{"aging", "overdue_invoices", ""}}) {
        SCOPED_TRACE(c.type);
        auto json = get_report(port, owner, c.type, "?start_date=" + s + "&end_date=" + e);
        auto got = http_get(port, "/api/v1/reports/export/" + c.type + "?format=csv&start_date=" + s + "&end_date=" + e,
                            bearer(owner));
        ASSERT_EQ(got.status, 200) << got.body;
        EXPECT_CONFORMS("GET", "/api/v1/reports/export/{type}", got);
        EXPECT_EQ(got.header("Content-Type"), "text/csv; charset=utf-8");
        EXPECT_EQ(got.header("Content-Disposition"), "attachment; filename=\"" + c.type + "-" + s + "-" + e + ".csv\"");
        auto posted = send(port, "POST", "/api/v1/reports/export",
                           R"({"report_type":")" + c.type + R"(","format":"csv","date_range":{"start_date":")" + s +
                               R"(","end_date":")" + e + R"("}})",
                           bearer(owner));
        ASSERT_EQ(posted.status, 200) << posted.body;
        EXPECT_CONFORMS("POST", "/api/v1/reports/export", posted);
        EXPECT_EQ(posted.body, got.body);
        EXPECT_EQ(posted.header("Content-Disposition"), got.header("Content-Disposition"));

        auto rows = parse_csv(got.body);
        const auto& list = arr(json, c.list);
        ASSERT_EQ(rows.size(), list.size() + 1);
        const auto& header = rows[0];
        int64_t sum = 0;
        for (std::size_t i = 0; i < list.size(); ++i) {
            ASSERT_EQ(rows[i + 1].size(), header.size());
            for (std::size_t k = 0; k < header.size(); ++k) {
                const json::Value& v = at(list[i], header[k]);
                std::string want = v.is_null() ? "" : v.is_number() ? std::string(v.number_text()) : v.as_string();
                if (!want.empty() && want[0] == '=') want = "'" + want;  // formulas are defused
                EXPECT_EQ(rows[i + 1][k], want) << header[k];
            }
            std::string amount_col = c.type == "tax" ? "tax_amount" : c.type == "aging" ? "balance_due" : "amount";
            auto col = std::find(header.begin(), header.end(), amount_col) - header.begin();
            sum += minor(rows[i + 1][static_cast<std::size_t>(col)]);
        }
        if (!c.total_key.empty()) {
            EXPECT_EQ(usd(sum), num(json, c.total_key));
        } else {
            EXPECT_EQ(usd(sum),
                      usd(minor(num(json, "one_to_thirty_days")) + minor(num(json, "thirty_one_to_sixty_days")) +
                          minor(num(json, "sixty_one_to_ninety_days")) + minor(num(json, "over_ninety_days"))));
        }
    }
    // Names with commas, quotes and a leading '=' survive the round trip (the '=' defused).
    auto aging = parse_csv(http_get(port, "/api/v1/reports/export/aging", bearer(owner)).body);
    std::set<std::string> names;
    for (std::size_t i = 1; i < aging.size(); ++i) names.insert(aging[i][3]);
    EXPECT_TRUE(names.count("Acme, Inc."));
    EXPECT_TRUE(names.count("Globex \"Global\" Corp"));
    EXPECT_TRUE(names.count("'=Initech"));
}

TEST(BillingReports, BadDatesTypesAndFormatsAreValidationErrors) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto bad = http_get(port, "/api/v1/reports/income?start_date=2026-13-01&end_date=yesterday", bearer(owner));
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(error_code(bad), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(bad), "start_date,end_date");
    EXPECT_CONFORMS("GET", "/api/v1/reports/income", bad);
    auto reversed = http_get(port, "/api/v1/reports/overview?start_date=2026-05-02&end_date=2026-05-01", bearer(owner));
    EXPECT_EQ(reversed.status, 400);
    EXPECT_EQ(error_fields(reversed), "start_date");
    auto one_day = http_get(port, "/api/v1/reports/overview?start_date=2026-05-01&end_date=2026-05-01", bearer(owner));
    EXPECT_EQ(one_day.status, 200);
    auto pdf =
        send(port, "POST", "/api/v1/reports/export", R"({"report_type":"income","format":"pdf"})", bearer(owner));
    EXPECT_EQ(pdf.status, 400);
    EXPECT_EQ(error_fields(pdf), "format");
    EXPECT_NE(pdf.body.find("not available yet"), std::string::npos);
    EXPECT_CONFORMS("POST", "/api/v1/reports/export", pdf);
    auto get_pdf = http_get(port, "/api/v1/reports/export/income?format=pdf", bearer(owner));
    EXPECT_EQ(get_pdf.status, 400);
    EXPECT_EQ(error_fields(get_pdf), "format");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/reports/export/income?format=xlsx", bearer(owner))), "format");
    auto everything =
        send(port, "POST", "/api/v1/reports/export",
             R"({"report_type":"profit","format":"xlsx","date_range":{"start_date":5,"end_date":"2026-01-01"}})",
             bearer(owner));
    EXPECT_EQ(everything.status, 400);
    EXPECT_EQ(error_fields(everything), "report_type,format,date_range.start_date");
    auto reversed_body =
        send(port, "POST", "/api/v1/reports/export",
             R"({"report_type":"tax","format":"csv","date_range":{"start_date":"2026-02-01","end_date":"2026-01-01"}})",
             bearer(owner));
    EXPECT_EQ(error_fields(reversed_body), "date_range.start_date");
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/reports/export", R"({})", bearer(owner))), "report_type,format");
    EXPECT_EQ(send(port, "POST", "/api/v1/reports/export", "[1]", bearer(owner)).status, 400);
    auto unknown = http_get(port, "/api/v1/reports/export/profit?format=csv", bearer(owner));
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(error_code(unknown), "NOT_FOUND");
    EXPECT_EQ(http_get(port, "/api/v1/reports/overview").status, 401);
    EXPECT_EQ(send(port, "POST", "/api/v1/reports/export", R"({"report_type":"tax","format":"csv"})",
                   {{"Idempotency-Key", std::string(256, 'k')}, bearer(owner)[0]})
                  .status,
              400);
}

TEST(BillingReports, PeriodBoundsFollowTheOrgsTimeZone) {
    TestDatabase db;
    ServerProcess server(report_env(db));
    auto port = server.port();
    auto owner = register_account(port);
    use_time_zone(db, owner);
    Seeder s{db, port, owner};
    auto c = s.client("Night Owl");
    auto inv = s.invoice(c, -5, 20, R"([{"description":"Work","quantity":1,"unit_price":100}])");
    auto p = s.pay(inv, "40", 0);
    // 23:30 on 31 December 2025 in New York is already 1 January 2026 in UTC.
    db.exec("UPDATE payments SET paid_at = '2026-01-01 04:30:00+00' WHERE id = '" + p + "'");
    auto dec = get_report(port, owner, "income", "?start_date=2025-12-01&end_date=2025-12-31");
    EXPECT_EQ(num(dec, "total_income"), "40.00");
    ASSERT_EQ(arr(dec, "by_month").size(), 1u);
    EXPECT_EQ(str(arr(dec, "by_month")[0], "month"), "2025-12");
    auto jan = get_report(port, owner, "income", "?start_date=2026-01-01&end_date=2026-01-31");
    EXPECT_EQ(num(jan, "total_income"), "0.00");
}

}  // namespace
}  // namespace flashbill::test
