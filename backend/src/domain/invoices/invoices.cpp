// Invoices: the rules of API.md §4 over org-scoped SQL. Amounts come only from the totals engine
// (totals.hpp); numbers only from the org's counter row, locked by the issuing transaction.

#include "domain/invoices/invoices.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <map>

#include "auth/crypto.hpp"
#include "db/pool.hpp"
#include "domain/common/input.hpp"
#include "domain/common/org.hpp"
#include "domain/invoices/totals.hpp"

namespace flashbill::domain::invoices {

namespace {

std::string g_public_url = "http://127.0.0.1:3000";

// ---- rendering -----------------------------------------------------------------------------

#define OVERDUE_EXPR "(i.status IN ('sent', 'viewed', 'partial') AND i.due_date < t.today AND i.total_amount > i.amount_paid)"

#define INVOICE_SELECT                                                                                             \
    "WITH t AS (SELECT (now() AT TIME ZONE time_zone)::date AS today FROM organizations WHERE id = $1) "          \
    "SELECT i.id, i.invoice_number, CASE WHEN " OVERDUE_EXPR " THEN 'overdue' ELSE i.status END, i.client_id, "  \
    "coalesce(i.client_snapshot->>'name', c.name), "                                                           \
    "CASE WHEN i.client_snapshot IS NULL THEN c.email ELSE i.client_snapshot->>'email' END, "                    \
    "CASE WHEN i.client_snapshot IS NULL THEN c.phone ELSE i.client_snapshot->>'phone' END, "                    \
    "(CASE WHEN i.client_snapshot IS NULL THEN c.billing_address "                                               \
    "      ELSE nullif(i.client_snapshot->'address', 'null'::jsonb) END)::text, i.currency, i.issue_date::text, i.due_date::text, "       \
    "i.subtotal, i.discount_amount, i.tax_amount, i.total_amount, i.amount_paid, i.notes, i.terms, i.tax_label, " \
    "i.allow_partial_payment, i.min_payment_amount, i.partial_payment_count, i.public_token, rfc3339(i.sent_at), " \
    "rfc3339(i.viewed_at), rfc3339(i.paid_at), rfc3339(i.cancelled_at), i.reminder_sent_count, "                  \
    "rfc3339(i.last_reminder_sent), i.last_reminder_tier, " OVERDUE_EXPR ", (i.due_date - t.today), "             \
    "rfc3339(i.created_at), rfc3339(i.updated_at), i.created_at::text "                                          \
    "FROM t, invoices i JOIN clients c ON c.org_id = i.org_id AND c.id = i.client_id "

constexpr std::string_view kGet = INVOICE_SELECT "WHERE i.org_id = $1 AND i.id = $2";
constexpr std::string_view kItems =
    "SELECT invoice_id, id, description, quantity_units, unit_price, tax_rate_units, discount_percent_units, amount "
    "FROM invoice_items WHERE org_id = $1 AND invoice_id = ANY($2::uuid[]) ORDER BY invoice_id, position";
constexpr std::string_view kList = INVOICE_SELECT
    "WHERE i.org_id = $1 "
    "AND ($2::text IS NULL OR ($2 = 'unpaid' AND i.status IN ('sent', 'viewed', 'partial')) "
    "     OR (CASE WHEN " OVERDUE_EXPR " THEN 'overdue' ELSE i.status END) = $2) "
    "AND ($3::uuid IS NULL OR i.client_id = $3) "
    "AND ($4::date IS NULL OR i.issue_date >= $4) AND ($5::date IS NULL OR i.issue_date <= $5) "
    "AND ($6::text IS NULL OR i.invoice_number ILIKE $6 OR c.name ILIKE $6) "
    "AND ($7::timestamptz IS NULL OR (i.created_at, i.id) < ($7::timestamptz, $8::uuid)) "
    "ORDER BY i.created_at DESC, i.id DESC LIMIT $9";
constexpr std::string_view kCount =
    "WITH t AS (SELECT (now() AT TIME ZONE time_zone)::date AS today FROM organizations WHERE id = $1) "
    "SELECT count(*) FROM t, invoices i JOIN clients c ON c.org_id = i.org_id AND c.id = i.client_id "
    "WHERE i.org_id = $1 "
    "AND ($2::text IS NULL OR ($2 = 'unpaid' AND i.status IN ('sent', 'viewed', 'partial')) "
    "     OR (CASE WHEN " OVERDUE_EXPR " THEN 'overdue' ELSE i.status END) = $2) "
    "AND ($3::uuid IS NULL OR i.client_id = $3) "
    "AND ($4::date IS NULL OR i.issue_date >= $4) AND ($5::date IS NULL OR i.issue_date <= $5) "
    "AND ($6::text IS NULL OR i.invoice_number ILIKE $6 OR c.name ILIKE $6)";

struct ItemView {
    std::optional<std::string> id;
    std::string description;
    Decimal quantity;
    std::int64_t unit_price = 0;
    Decimal tax_rate;
    std::optional<Decimal> discount_percent;
    std::int64_t amount = 0;
};

void write_items(json::Writer& w, const std::vector<ItemView>& items, Currency cur) {
    w.key("items").begin_array();
    for (const auto& it : items) {
        std::string amount = money_text(it.amount, cur);
        w.begin_object();
        if (it.id) w.field("id", *it.id);
        else w.key("id").null();
        w.field("description", it.description);
        w.key("quantity").number_text(it.quantity.to_string());
        w.key("unit_price").number_text(money_text(it.unit_price, cur));
        w.key("tax_rate").number_text(it.tax_rate.to_string());
        w.key("discount_percent");
        if (it.discount_percent) w.number_text(it.discount_percent->to_string());
        else w.null();
        w.key("amount").number_text(amount);
        w.key("total").number_text(amount);
        w.end_object();
    }
    w.end_array();
}

void write_money(json::Writer& w, std::string_view key, const db::Rows& r, int i, int col, Currency cur) {
    w.key(key);
    if (r.is_null(i, col)) w.null();
    else w.number_text(money_text(r.int64(i, col), cur));
}

void write_invoice(json::Writer& w, const db::Rows& r, int i, const std::vector<ItemView>& items) {
    Currency cur = stored_currency(r.text(i, 8));
    std::string token(r.text(i, 22));
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.opt_field("invoice_number", r.opt_text(i, 1));
    w.field("status", r.text(i, 2));
    w.field("client_id", r.text(i, 3));
    w.field("client_name", r.text(i, 4));
    w.opt_field("client_email", r.opt_text(i, 5));
    w.opt_field("client_phone", r.opt_text(i, 6));
    w.key("client_address");
    if (r.is_null(i, 7)) w.null();
    else w.raw(r.text(i, 7));
    w.field("currency", r.text(i, 8));
    w.field("issue_date", r.text(i, 9));
    w.field("due_date", r.text(i, 10));
    write_items(w, items, cur);
    write_money(w, "subtotal", r, i, 11, cur);
    write_money(w, "discount_amount", r, i, 12, cur);
    write_money(w, "tax_amount", r, i, 13, cur);
    write_money(w, "total_amount", r, i, 14, cur);
    write_money(w, "amount_paid", r, i, 15, cur);
    w.key("balance_due").number_text(money_text(r.int64(i, 14) - r.int64(i, 15), cur));
    w.opt_field("notes", r.opt_text(i, 16));
    w.opt_field("terms", r.opt_text(i, 17));
    w.opt_field("tax_label", r.opt_text(i, 18));
    w.field("allow_partial_payment", r.boolean(i, 19));
    write_money(w, "min_payment_amount", r, i, 20, cur);
    w.field("partial_payment_count", r.int64(i, 21));
    w.field("public_url", g_public_url + "/i/" + token);
    w.field("guest_payment_token", token);
    w.opt_field("sent_at", r.opt_text(i, 23));
    w.opt_field("viewed_at", r.opt_text(i, 24));
    w.opt_field("paid_at", r.opt_text(i, 25));
    w.opt_field("cancelled_at", r.opt_text(i, 26));
    w.field("reminder_sent_count", r.int64(i, 27));
    w.opt_field("last_reminder_sent", r.opt_text(i, 28));
    w.opt_field("last_reminder_tier", r.opt_text(i, 29));
    w.field("is_overdue", r.boolean(i, 30));
    w.field("days_until_due", r.int64(i, 31));
    w.field("created_at", r.text(i, 32));
    w.field("updated_at", r.text(i, 33));
    w.end_object();
}

std::map<std::string, std::vector<ItemView>, std::less<>> items_by_invoice(const db::Rows& r) {
    std::map<std::string, std::vector<ItemView>, std::less<>> out;
    for (int i = 0; i < r.size(); ++i) {
        ItemView v;
        v.id = std::string(r.text(i, 1));
        v.description = std::string(r.text(i, 2));
        v.quantity = Decimal::from_units(r.int64(i, 3));
        v.unit_price = r.int64(i, 4);
        v.tax_rate = Decimal::from_units(r.int64(i, 5));
        if (!r.is_null(i, 6)) v.discount_percent = Decimal::from_units(r.int64(i, 6));
        v.amount = r.int64(i, 7);
        out[std::string(r.text(i, 0))].push_back(std::move(v));
    }
    return out;
}

std::string uuid_array(const std::vector<std::string>& ids) {
    std::string s = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + ids[i];
    return s + "}";
}

// ---- input ---------------------------------------------------------------------------------

struct ItemInput {
    std::string description;
    LineInput line;
};

// A create, update or preview body after validation. For updates, unset optionals keep the stored value.
struct InvoiceInput {
    std::optional<std::string> client_id;
    std::optional<Currency> currency;
    std::optional<Date> issue_date, due_date;
    std::optional<std::vector<ItemInput>> items;
    Patch<std::string> notes, terms;
    std::optional<std::int64_t> discount_amount;
    std::optional<bool> allow_partial_payment;
    Patch<std::int64_t> min_payment_amount;
};

// Parses everything but amounts' currency-dependent checks need the currency: the caller passes it.
void parse_amounts(Input& in, const json::Value& body, Currency cur, InvoiceInput& out, bool create) {
    if (const json::Array* items = in.array("items", create, 1, 500)) {
        std::vector<ItemInput> parsed;
        for (std::size_t k = 0; k < items->size(); ++k) {
            const json::Value& item = (*items)[k];
            std::string path = "items[" + std::to_string(k) + "]";
            if (!item.is_object()) {
                in.add_error(path, "must be an object");
                continue;
            }
            Input it = in.nested(item, path);
            ItemInput ii;
            auto desc = it.text("description", true, 1000);
            auto qty = it.decimal("quantity", true, Decimal{}, Decimal::from_integer(1'000'000'000), true);
            auto price = it.money("unit_price", cur, true, false);
            ii.line.tax_rate = it.decimal("tax_rate", false, Decimal{}, Decimal::from_integer(100));
            ii.line.discount_percent = it.decimal("discount_percent", false, Decimal{}, Decimal::from_integer(100));
            if (desc && qty && price) {
                ii.description = *desc;
                ii.line.quantity = *qty;
                ii.line.unit_price = *price;
                parsed.push_back(std::move(ii));
            }
        }
        out.items = std::move(parsed);
    }
    out.discount_amount = in.money("discount_amount", cur, false, false);
    if (in.has("min_payment_amount")) {
        out.min_payment_amount.present = true;
        out.min_payment_amount.value = in.money("min_payment_amount", cur, false, true);
        if (!out.min_payment_amount.value && !body.find("min_payment_amount")->is_null()) {
            out.min_payment_amount.present = false;
        }
    }
}

void parse_plain(Input& in, InvoiceInput& out, bool create) {
    out.client_id = in.uuid("client_id", create);
    out.currency = in.currency("currency", false);
    out.issue_date = in.date("issue_date", create);
    out.due_date = in.date("due_date", false);
    out.notes = in.text_patch("notes", 5000);
    out.terms = in.text_patch("terms", 5000);
    out.allow_partial_payment = in.boolean("allow_partial_payment", false);
    if (auto send = in.boolean("send_immediately", false); send && *send) {
        in.add_error("send_immediately", "sending invoices by email is not available yet; create a draft and use "
                                         "POST /invoices/{id}/mark-sent");
    }
}

// One statement in the caller's transaction, or on its own (GCC 12 miscompiles co_await inside ?:,
// docs/ENGINEERING.md, so the choice is an if).
boost::asio::awaitable<Result<db::Rows>> run(db::Transaction* tx, std::string_view sql, db::Params params) {
    if (tx) {
        auto r = co_await tx->query(sql, std::move(params));
        co_return r;
    }
    auto r = co_await db::Pool::current().query(sql, std::move(params));
    co_return r;
}

struct ClientFacts {
    std::optional<std::string> currency;
    int payment_terms = 30;
    bool tax_exempt = false;
};

boost::asio::awaitable<Result<std::optional<ClientFacts>>> load_client(db::Transaction* tx, std::string org_id,
                                                                        std::string client_id) {
    constexpr std::string_view sql =
        "SELECT currency, payment_terms, tax_exempt FROM clients WHERE org_id = $1 AND id = $2";
    Result<db::Rows> rows = co_await run(tx, sql, db::Params(org_id, client_id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::optional<ClientFacts>{};
    ClientFacts f;
    f.currency = rows->opt_text(0, 0);
    f.payment_terms = static_cast<int>(rows->int64(0, 1));
    f.tax_exempt = rows->boolean(0, 2);
    co_return std::optional<ClientFacts>(f);
}

boost::asio::awaitable<Result<std::optional<DefaultTax>>> load_default_tax(db::Transaction* tx, std::string org_id) {
    constexpr std::string_view sql =
        "SELECT label, rate_units FROM tax_rates WHERE org_id = $1 AND is_default AND is_active";
    Result<db::Rows> rows = co_await run(tx, sql, db::Params(org_id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::optional<DefaultTax>{};
    co_return std::optional<DefaultTax>(DefaultTax{Decimal::from_units(rows->int64(0, 1)), std::string(rows->text(0, 0))});
}

// Everything needed to store or preview a new invoice.
struct Computed {
    InvoiceInput input;
    Currency currency = kUsd;
    Date issue_date, due_date;
    Totals totals;
    OrgDefaults org;
};

boost::asio::awaitable<Result<Computed>> compute_new(db::Transaction* tx, std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    Computed c;
    parse_plain(in, c.input, true);
    Result<OrgDefaults> org = Error::internal();
    if (tx) {
        org = co_await load_org_defaults(*tx, org_id);
    } else {
        org = co_await load_org_defaults(org_id);
    }
    if (!org) co_return org.error();
    c.org = *org;
    std::optional<ClientFacts> client;
    if (c.input.client_id) {
        auto cl = co_await load_client(tx, org_id, *c.input.client_id);
        if (!cl) co_return cl.error();
        client = *cl;
        if (!client) in.add_error("client_id", "no such client in this organization");
    }
    c.currency = c.input.currency ? *c.input.currency
                 : client && client->currency ? stored_currency(*client->currency)
                                              : org->currency;
    parse_amounts(in, body, c.currency, c.input, true);
    if (c.input.issue_date && c.input.due_date && *c.input.due_date < *c.input.issue_date) {
        in.add_error("due_date", "must not be before issue_date");
    }
    if (!in.ok()) co_return in.error();
    auto default_tax = co_await load_default_tax(tx, org_id);
    if (!default_tax) co_return default_tax.error();
    TotalsInput ti;
    for (const auto& it : *c.input.items) ti.items.push_back(it.line);
    ti.discount_amount = c.input.discount_amount.value_or(0);
    ti.tax_exempt = client->tax_exempt;
    ti.default_tax = *default_tax;
    auto totals = compute_totals(ti);
    if (!totals) co_return totals.error();
    c.totals = std::move(*totals);
    c.issue_date = *c.input.issue_date;
    c.due_date = c.input.due_date ? *c.input.due_date : date_from_days(c.issue_date.days + client->payment_terms);
    if (c.input.min_payment_amount.is_set() && *c.input.min_payment_amount.value > c.totals.total_amount) {
        co_return Error::validation("min_payment_amount", "must not exceed the invoice total");
    }
    co_return c;
}

std::vector<db::Statement> item_inserts(const std::string& org_id, const std::string& invoice_id,
                                        const std::vector<ItemInput>& items, const Totals& totals) {
    static constexpr std::string_view kInsertItem =
        "INSERT INTO invoice_items (org_id, invoice_id, position, description, quantity_units, unit_price, "
        "tax_rate_units, discount_percent_units, amount, tax_amount, used_default_tax) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    std::vector<db::Statement> out;
    for (std::size_t k = 0; k < items.size(); ++k) {
        const auto& it = items[k];
        const auto& lt = totals.lines[k];
        std::optional<std::int64_t> disc;
        if (it.line.discount_percent) disc = it.line.discount_percent->units();
        out.push_back({kInsertItem, db::Params(org_id, invoice_id, static_cast<std::int64_t>(k), it.description,
                                               it.line.quantity.units(), it.line.unit_price, lt.tax_rate.units(), disc,
                                               lt.amount, lt.tax, lt.used_default)});
    }
    return out;
}

boost::asio::awaitable<Result<std::string>> render_in(db::Transaction* tx, std::string org_id, std::string id) {
    Result<db::Rows> rows = co_await run(tx, kGet, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("invoice not found");
    Result<db::Rows> items = co_await run(tx, kItems, db::Params(org_id, "{" + id + "}"));
    if (!items) co_return items.error();
    auto by = items_by_invoice(*items);
    json::Writer w;
    write_invoice(w, *rows, 0, by[id]);
    co_return std::move(w).str();
}

// Locks the invoice row for a state change and returns (status, total, paid, currency).
struct Locked {
    std::string status;
    std::int64_t total = 0, paid = 0;
    std::string currency;
    std::string issue_year;
    std::string client_id;
};

boost::asio::awaitable<Result<Locked>> lock_invoice(db::Transaction& tx, std::string org_id, std::string id) {
    auto rows = co_await tx.query(
        "SELECT status, total_amount, amount_paid, currency, extract(year FROM issue_date)::int, client_id "
        "FROM invoices WHERE org_id = $1 AND id = $2 FOR UPDATE",
        db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("invoice not found");
    Locked l;
    l.status = std::string(rows->text(0, 0));
    l.total = rows->int64(0, 1);
    l.paid = rows->int64(0, 2);
    l.currency = std::string(rows->text(0, 3));
    l.issue_year = std::string(rows->text(0, 4));
    l.client_id = std::string(rows->text(0, 5));
    co_return l;
}


}  // namespace

void set_public_url(std::string base) {
    while (!base.empty() && base.back() == '/') base.pop_back();
    g_public_url = std::move(base);
}

boost::asio::awaitable<Result<std::string>> render(std::string org_id, std::string id) {
    co_return co_await render_in(nullptr, org_id, id);
}

boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id) {
    co_return co_await render_in(nullptr, org_id, id);
}

boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto c = co_await compute_new(&*tx, org_id, std::move(body));
    if (!c) co_return c.error();
    const Totals& t = c->totals;
    auto notes = c->input.notes.present ? c->input.notes.value : c->org.notes;
    auto terms = c->input.terms.present ? c->input.terms.value : c->org.terms;
    auto inserted = co_await tx->query(
        "INSERT INTO invoices (org_id, client_id, currency, issue_date, due_date, subtotal, tax_amount, "
        "discount_amount, total_amount, notes, terms, tax_label, allow_partial_payment, min_payment_amount, "
        "public_token) VALUES ($1, $2, $3, $4::date, $5::date, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
        "RETURNING id",
        db::Params(org_id, *c->input.client_id, std::string(c->currency.code), c->issue_date.text(),
                   c->due_date.text(), t.subtotal, t.tax_amount, t.discount_amount, t.total_amount, notes, terms,
                   t.tax_label, c->input.allow_partial_payment.value_or(true), c->input.min_payment_amount.value,
                   auth::random_token(32)));
    if (!inserted) co_return inserted.error();
    std::string id(inserted->text(0, 0));
    auto items = co_await tx->batch(item_inserts(org_id, id, *c->input.items, t));
    if (!items) co_return items.error();
    auto json = co_await render_in(&*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> preview(std::string org_id, json::Value body) {
    auto c = co_await compute_new(nullptr, org_id, std::move(body));
    if (!c) co_return c.error();
    const Totals& t = c->totals;
    std::vector<ItemView> items;
    for (std::size_t k = 0; k < c->input.items->size(); ++k) {
        const auto& in = (*c->input.items)[k];
        items.push_back(ItemView{std::nullopt, in.description, in.line.quantity, in.line.unit_price,
                                 t.lines[k].tax_rate, in.line.discount_percent, t.lines[k].amount});
    }
    Currency cur = c->currency;
    json::Writer w;
    w.begin_object();
    w.key("id").null();
    w.key("invoice_number").null();
    w.field("status", "draft");
    w.field("client_id", *c->input.client_id);
    w.field("currency", cur.code);
    w.field("issue_date", c->issue_date.text());
    w.field("due_date", c->due_date.text());
    write_items(w, items, cur);
    w.key("subtotal").number_text(money_text(t.subtotal, cur));
    w.key("discount_amount").number_text(money_text(t.discount_amount, cur));
    w.key("tax_amount").number_text(money_text(t.tax_amount, cur));
    w.key("total_amount").number_text(money_text(t.total_amount, cur));
    w.key("amount_paid").number_text(money_text(0, cur));
    w.key("balance_due").number_text(money_text(t.total_amount, cur));
    w.opt_field("tax_label", t.tax_label);
    w.end_object();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto locked = co_await lock_invoice(*tx, org_id, id);
    if (!locked) co_return locked.error();
    if (locked->status == "paid" || locked->status == "cancelled") {
        co_return Error::conflict("a " + locked->status + " invoice cannot be changed");
    }
    // The stored invoice, as the base the request's fields merge into.
    auto stored = co_await tx->query(
        "SELECT client_id, currency, issue_date::text, due_date::text, discount_amount FROM invoices "
        "WHERE org_id = $1 AND id = $2",
        db::Params(org_id, id));
    if (!stored) co_return stored.error();
    Input in(body);
    InvoiceInput u;
    parse_plain(in, u, false);
    std::string client_id = u.client_id ? *u.client_id : std::string(stored->text(0, 0));
    auto client = co_await load_client(&*tx, org_id, client_id);
    if (!client) co_return client.error();
    if (!*client) in.add_error("client_id", "no such client in this organization");
    if (u.client_id && locked->status != "draft" && *u.client_id != locked->client_id) {
        in.add_error("client_id", "an issued invoice cannot move to another client");
    }
    Currency cur = u.currency ? *u.currency : stored_currency(stored->text(0, 1));
    if (u.currency && u.currency->code != locked->currency && locked->paid > 0) {
        co_return Error::conflict("the currency of an invoice with payments cannot change");
    }
    parse_amounts(in, body, cur, u, false);
    Date issue = u.issue_date ? *u.issue_date : *parse_date(stored->text(0, 2));
    Date due = u.due_date ? *u.due_date : *parse_date(stored->text(0, 3));
    if (u.issue_date && !u.due_date && *client && u.issue_date->days > due.days) {
        due = date_from_days(issue.days + (*client)->payment_terms);
    }
    if (due < issue) in.add_error("due_date", "must not be before issue_date");
    if (locked->status != "draft" && u.issue_date && u.issue_date->text().substr(0, 4) != locked->issue_year) {
        in.add_error("issue_date", "an issued invoice's number belongs to its year; the year cannot change");
    }
    if (!in.ok()) co_return in.error();

    // Items: the request's, or the stored ones recomputed under the (possibly new) rules.
    std::vector<ItemInput> items;
    if (u.items) {
        items = *u.items;
    } else {
        auto rows = co_await tx->query(
            "SELECT description, quantity_units, unit_price, tax_rate_units, discount_percent_units, used_default_tax "
            "FROM invoice_items WHERE org_id = $1 AND invoice_id = $2 ORDER BY position",
            db::Params(org_id, id));
        if (!rows) co_return rows.error();
        for (int k = 0; k < rows->size(); ++k) {
            ItemInput ii;
            ii.description = std::string(rows->text(k, 0));
            ii.line.quantity = Decimal::from_units(rows->int64(k, 1));
            ii.line.unit_price = rows->int64(k, 2);
            if (!rows->boolean(k, 5)) ii.line.tax_rate = Decimal::from_units(rows->int64(k, 3));
            if (!rows->is_null(k, 4)) ii.line.discount_percent = Decimal::from_units(rows->int64(k, 4));
            items.push_back(std::move(ii));
        }
    }
    auto default_tax = co_await load_default_tax(&*tx, org_id);
    if (!default_tax) co_return default_tax.error();
    TotalsInput ti;
    for (const auto& it : items) ti.items.push_back(it.line);
    ti.discount_amount = u.discount_amount.value_or(stored->int64(0, 4));
    ti.tax_exempt = (*client)->tax_exempt;
    ti.default_tax = *default_tax;
    auto totals = compute_totals(ti);
    if (!totals) co_return totals.error();
    if (totals->total_amount < locked->paid) {
        co_return Error::conflict("the new total is below the amount already paid");
    }
    std::vector<db::Statement> statements;
    statements.push_back(
        {"UPDATE invoices SET client_id = $3, currency = $4, issue_date = $5::date, due_date = $6::date, "
         "subtotal = $7, tax_amount = $8, discount_amount = $9, total_amount = $10, tax_label = $11, "
         "notes = CASE WHEN $12 THEN $13 ELSE notes END, terms = CASE WHEN $14 THEN $15 ELSE terms END, "
         "allow_partial_payment = coalesce($16::boolean, allow_partial_payment), "
         "min_payment_amount = CASE WHEN $17 THEN $18::bigint ELSE min_payment_amount END, "
         "status = CASE WHEN amount_paid = 0 THEN status WHEN amount_paid >= $10 THEN 'paid' ELSE 'partial' END, "
         "paid_at = CASE WHEN amount_paid >= $10 AND amount_paid > 0 THEN coalesce(paid_at, now()) ELSE paid_at END "
         "WHERE org_id = $1 AND id = $2",
         db::Params(org_id, id, client_id, std::string(cur.code), issue.text(), due.text(), totals->subtotal,
                    totals->tax_amount, totals->discount_amount, totals->total_amount, totals->tax_label,
                    u.notes.present, u.notes.value, u.terms.present, u.terms.value, u.allow_partial_payment,
                    u.min_payment_amount.present, u.min_payment_amount.value)});
    statements.push_back({"DELETE FROM invoice_items WHERE org_id = $1 AND invoice_id = $2", db::Params(org_id, id)});
    for (auto& s : item_inserts(org_id, id, items, *totals)) statements.push_back(std::move(s));
    auto written = co_await tx->batch(std::move(statements));
    if (!written) co_return written.error();
    auto json = co_await render_in(&*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto locked = co_await lock_invoice(*tx, org_id, id);
    if (!locked) co_return locked.error();
    if (locked->status != "draft") {
        co_return Error::conflict("only drafts can be deleted; cancel an issued invoice instead");
    }
    auto deleted = co_await tx->query("DELETE FROM invoices WHERE org_id = $1 AND id = $2", db::Params(org_id, id));
    if (!deleted) co_return deleted.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return Result<void>{};
}

boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter f, Page page) {
    std::optional<std::string> pattern;
    if (f.search && !f.search->empty()) pattern = contains_pattern(*f.search);
    std::vector<db::Statement> statements;
    statements.push_back({kList, db::Params(org_id, f.status, f.client_id, f.date_from, f.date_to, pattern,
                                            page.after_created_at, page.after_id, page.limit + 1)});
    statements.push_back({kCount, db::Params(org_id, f.status, f.client_id, f.date_from, f.date_to, pattern)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& rows = (*results)[0];
    int n = std::min(rows.size(), page.limit);
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.emplace_back(rows.text(i, 0));
    std::map<std::string, std::vector<ItemView>, std::less<>> by;
    if (!ids.empty()) {
        auto items = co_await db::Pool::current().query(kItems, db::Params(org_id, uuid_array(ids)));
        if (!items) co_return items.error();
        by = items_by_invoice(*items);
    }
    ListResult out;
    out.total = (*results)[1].int64(0, 0);
    json::Writer w;
    w.begin_array();
    for (int i = 0; i < n; ++i) write_invoice(w, rows, i, by[ids[static_cast<std::size_t>(i)]]);
    w.end_array();
    out.json = std::move(w).str();
    if (rows.size() > page.limit) out.next_cursor = encode_cursor(rows.text(n - 1, 34), rows.text(n - 1, 0));
    co_return out;
}

boost::asio::awaitable<Result<std::string>> mark_sent(std::string org_id, std::string id) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto locked = co_await lock_invoice(*tx, org_id, id);
    if (!locked) co_return locked.error();
    if (locked->status != "draft") co_return Error::conflict("only a draft can be marked as sent");
    auto org = co_await load_org_defaults(*tx, org_id);
    if (!org) co_return org.error();
    // The counter row is the serialisation point: concurrent issues in one org queue here, and
    // each transaction takes the next number; a rolled-back issue returns its number with it.
    auto seq = co_await tx->query(
        "INSERT INTO invoice_counters (org_id, year, last_seq) VALUES ($1, $2, 1) ON CONFLICT (org_id, year) "
        "DO UPDATE SET last_seq = invoice_counters.last_seq + 1 RETURNING last_seq",
        db::Params(org_id, locked->issue_year));
    if (!seq) co_return seq.error();
    std::string n = std::to_string(seq->int64(0, 0));
    if (n.size() < 4) n.insert(0, 4 - n.size(), '0');
    std::string number = org->number_prefix + locked->issue_year + "-" + n;
    auto updated = co_await tx->query(
        "UPDATE invoices i SET status = 'sent', invoice_number = $3, sent_at = now(), "
        "client_snapshot = jsonb_build_object('name', c.name, 'email', c.email, 'phone', c.phone, "
        "'address', c.billing_address) FROM clients c "
        "WHERE i.org_id = $1 AND i.id = $2 AND c.org_id = i.org_id AND c.id = i.client_id",
        db::Params(org_id, id, number));
    if (!updated) {
        if (updated.error().code == ErrorCode::kConflict) {
            co_return Error::conflict("invoice number " + number + " is already taken (the prefix changed?)");
        }
        co_return updated.error();
    }
    auto json = co_await render_in(&*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> cancel(std::string org_id, std::string id, std::optional<std::string> reason) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto locked = co_await lock_invoice(*tx, org_id, id);
    if (!locked) co_return locked.error();
    if (locked->status == "cancelled") co_return Error::conflict("the invoice is already cancelled");
    if (locked->status == "paid" || locked->status == "partial" || locked->paid > 0) {
        co_return Error::conflict("an invoice with completed payments cannot be cancelled; refund them first");
    }
    auto updated = co_await tx->query(
        "UPDATE invoices SET status = 'cancelled', cancelled_at = now(), cancel_reason = $3 "
        "WHERE org_id = $1 AND id = $2",
        db::Params(org_id, id, reason));
    if (!updated) co_return updated.error();
    auto json = co_await render_in(&*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> duplicate(std::string org_id, std::string id) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto copied = co_await tx->query(
        "INSERT INTO invoices (org_id, client_id, currency, issue_date, due_date, subtotal, tax_amount, "
        "discount_amount, total_amount, notes, terms, tax_label, allow_partial_payment, min_payment_amount, "
        "public_token) "
        "SELECT i.org_id, i.client_id, i.currency, t.today, t.today + c.payment_terms, i.subtotal, i.tax_amount, "
        "i.discount_amount, i.total_amount, i.notes, i.terms, i.tax_label, i.allow_partial_payment, "
        "i.min_payment_amount, $3 "
        "FROM invoices i JOIN clients c ON c.org_id = i.org_id AND c.id = i.client_id, "
        "(SELECT (now() AT TIME ZONE time_zone)::date AS today FROM organizations WHERE id = $1) t "
        "WHERE i.org_id = $1 AND i.id = $2 RETURNING id",
        db::Params(org_id, id, auth::random_token(32)));
    if (!copied) co_return copied.error();
    if (copied->empty()) co_return Error::not_found("invoice not found");
    std::string new_id(copied->text(0, 0));
    // Items and amounts as stored: the copy shows the same numbers the original did.
    auto items = co_await tx->query(
        "INSERT INTO invoice_items (org_id, invoice_id, position, description, quantity_units, unit_price, "
        "tax_rate_units, discount_percent_units, amount, tax_amount, used_default_tax) "
        "SELECT org_id, $3, position, description, quantity_units, unit_price, tax_rate_units, "
        "discount_percent_units, amount, tax_amount, used_default_tax FROM invoice_items "
        "WHERE org_id = $1 AND invoice_id = $2",
        db::Params(org_id, id, new_id));
    if (!items) co_return items.error();
    auto json = co_await render_in(&*tx, org_id, new_id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> rotate_public_link(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(
        "UPDATE invoices SET public_token = $3 WHERE org_id = $1 AND id = $2 RETURNING id",
        db::Params(org_id, id, auth::random_token(32)));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("invoice not found");
    co_return co_await render_in(nullptr, org_id, id);
}

namespace {

void write_message(json::Writer& w, const db::Rows& r, int i) {
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.field("invoice_id", r.text(i, 1));
    w.field("sender_type", r.text(i, 2));
    w.field("message", r.text(i, 3));
    w.field("created_at", r.text(i, 4));
    w.end_object();
}

}  // namespace

boost::asio::awaitable<Result<std::string>> discussion(std::string org_id, std::string id) {
    std::vector<db::Statement> statements;
    statements.push_back({"SELECT 1 FROM invoices WHERE org_id = $1 AND id = $2", db::Params(org_id, id)});
    statements.push_back({"SELECT id, invoice_id, sender_type, message, rfc3339(created_at) FROM invoice_messages "
                          "WHERE org_id = $1 AND invoice_id = $2 ORDER BY created_at, id",
                          db::Params(org_id, id)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    if ((*results)[0].empty()) co_return Error::not_found("invoice not found");
    const db::Rows& rows = (*results)[1];
    json::Writer w;
    w.begin_object().key("messages").begin_array();
    for (int i = 0; i < rows.size(); ++i) write_message(w, rows, i);
    w.end_array().end_object();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> post_message(std::string org_id, std::string id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    auto message = in.text("message", true, 5000);
    if (!in.ok()) co_return in.error();
    // The insert only happens when the invoice exists in this org (the FK alone would also accept
    // nothing else, but this way a missing invoice is a clean 404, not a constraint error).
    auto rows = co_await db::Pool::current().query(
        "INSERT INTO invoice_messages (org_id, invoice_id, sender_type, message) "
        "SELECT org_id, id, 'seller', $3 FROM invoices WHERE org_id = $1 AND id = $2 "
        "RETURNING id, invoice_id, sender_type, message, rfc3339(created_at)",
        db::Params(org_id, id, *message));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("invoice not found");
    json::Writer w;
    write_message(w, *rows, 0);
    co_return std::move(w).str();
}

}  // namespace flashbill::domain::invoices
