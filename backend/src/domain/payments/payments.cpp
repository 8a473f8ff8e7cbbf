#include "domain/payments/payments.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "db/pool.hpp"
#include "domain/common/input.hpp"
#include "domain/common/org.hpp"

namespace flashbill::domain::payments {

namespace {

const std::vector<std::string_view> kMethods = {"cash",     "check",  "bank_transfer", "ach_debit",
                                                "paypal",   "stripe", "other"};

#define PAYMENT_SELECT                                                                                          \
    "SELECT p.id, p.invoice_id, i.invoice_number, p.amount, p.currency, p.payment_method, p.status, "         \
    "p.refunded_amount, p.gateway, p.gateway_payment_id, p.paid_by, p.notes, rfc3339(p.paid_at), "            \
    "rfc3339(p.created_at), p.created_at::text FROM payments p "                                              \
    "JOIN invoices i ON i.org_id = p.org_id AND i.id = p.invoice_id "

constexpr std::string_view kGet = PAYMENT_SELECT "WHERE p.org_id = $1 AND p.id = $2";
constexpr std::string_view kFilters =
    "AND ($2::text IS NULL OR p.status = $2) AND ($3::text IS NULL OR p.payment_method = $3) "
    "AND ($4::uuid IS NULL OR p.invoice_id = $4) "
    "AND ($5::date IS NULL OR p.paid_at >= ($5::date::timestamp AT TIME ZONE o.time_zone)) "
    "AND ($6::date IS NULL OR p.paid_at < (($6::date + 1)::timestamp AT TIME ZONE o.time_zone)) ";

void write_payment(json::Writer& w, const db::Rows& r, int i, const db::Rows* refunds) {
    Currency cur = stored_currency(r.text(i, 4));
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.field("invoice_id", r.text(i, 1));
    w.opt_field("invoice_number", r.opt_text(i, 2));
    w.key("amount").number_text(money_text(r.int64(i, 3), cur));
    w.field("currency", r.text(i, 4));
    w.field("payment_method", r.text(i, 5));
    w.field("status", r.text(i, 6));
    w.key("refunded_amount").number_text(money_text(r.int64(i, 7), cur));
    w.opt_field("gateway", r.opt_text(i, 8));
    w.opt_field("gateway_payment_id", r.opt_text(i, 9));
    w.opt_field("paid_by", r.opt_text(i, 10));
    w.opt_field("notes", r.opt_text(i, 11));
    w.field("paid_at", r.text(i, 12));
    w.field("created_at", r.text(i, 13));
    if (refunds) {
        w.key("refunds").begin_array();
        for (int k = 0; k < refunds->size(); ++k) {
            w.begin_object();
            w.field("id", refunds->text(k, 0));
            w.field("payment_id", r.text(i, 0));
            w.key("amount").number_text(money_text(refunds->int64(k, 1), cur));
            w.opt_field("reason", refunds->opt_text(k, 2));
            w.field("created_at", refunds->text(k, 3));
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();
}

boost::asio::awaitable<Result<std::string>> render(db::Transaction& tx, std::string org_id, std::string id) {
    auto rows = co_await tx.query(kGet, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("payment not found");
    auto refunds = co_await tx.query(
        "SELECT id, amount, reason, rfc3339(created_at) FROM refunds WHERE org_id = $1 AND payment_id = $2 "
        "ORDER BY created_at, id",
        db::Params(org_id, id));
    if (!refunds) co_return refunds.error();
    json::Writer w;
    write_payment(w, *rows, 0, &*refunds);
    co_return std::move(w).str();
}

// Recomputes the invoice's amount_paid and status from its payments (inside the transaction that
// holds the invoice row lock).
constexpr std::string_view kRecomputeInvoice =
    "UPDATE invoices i SET amount_paid = s.paid, "
    "status = CASE WHEN i.status IN ('draft', 'cancelled') THEN i.status "
    "              WHEN s.paid >= i.total_amount AND i.total_amount > 0 THEN 'paid' "
    "              WHEN s.paid > 0 THEN 'partial' "
    "              WHEN i.viewed_at IS NOT NULL THEN 'viewed' ELSE 'sent' END, "
    "paid_at = CASE WHEN s.paid >= i.total_amount AND i.total_amount > 0 THEN coalesce(i.paid_at, now()) END "
    "FROM (SELECT coalesce(sum(amount - refunded_amount), 0) AS paid FROM payments "
    "      WHERE org_id = $1 AND invoice_id = $2 AND status IN ('completed', 'partially_refunded')) s "
    "WHERE i.org_id = $1 AND i.id = $2";

}  // namespace

std::optional<std::string> normalize_method(std::string_view raw) {
    std::string s;
    for (char c : raw) {
        if (c == '_' || c == ' ' || c == '-') continue;
        s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    }
    for (auto m : kMethods) {
        std::string bare;
        for (char c : m) {
            if (c != '_') bare.push_back(c);
        }
        if (bare == s) return std::string(m);
    }
    return std::nullopt;
}

boost::asio::awaitable<Result<std::string>> record(std::string org_id, std::optional<std::string> invoice_id,
                                                   json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    if (!invoice_id) invoice_id = in.uuid("invoice_id", true);
    std::optional<std::string> method;
    if (auto raw = in.text("payment_method", false, 50)) {
        method = normalize_method(*raw);
        if (!method) in.add_error("payment_method", "must be one of cash, check, bank_transfer, ach_debit, paypal, stripe, other");
    }
    auto paid_by = in.text("paid_by", false, 200);
    auto notes = in.text("notes", false, 5000);
    std::optional<std::string> paid_at;
    if (auto d = in.date("paid_at", false)) paid_at = d->text();
    if (in.has("amount") && !in.raw("amount")->is_number()) in.add_error("amount", "must be a number");
    if (!in.has("amount")) in.add_error("amount", "is required");
    if (!in.ok()) co_return in.error();

    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    // The invoice row lock serialises every payment and refund of this invoice.
    auto inv = co_await tx->query(
        "SELECT status, total_amount, amount_paid, currency, allow_partial_payment, min_payment_amount "
        "FROM invoices WHERE org_id = $1 AND id = $2 FOR UPDATE",
        db::Params(org_id, *invoice_id));
    if (!inv) co_return inv.error();
    if (inv->empty()) {
        // In the path it is a missing resource; in the body, a field naming nothing in this org.
        if (body.find("invoice_id")) co_return Error::validation("invoice_id", "no such invoice in this organization");
        co_return Error::not_found("invoice not found");
    }
    Currency cur = stored_currency(inv->text(0, 3));
    auto amount = in.money("amount", cur, true, true);
    if (!amount) co_return in.error();
    std::string status(inv->text(0, 0));
    std::int64_t total = inv->int64(0, 1), paid = inv->int64(0, 2), balance = total - paid;
    if (status == "draft") co_return Error::conflict("a draft cannot be paid; issue it first");
    if (status == "cancelled") co_return Error::conflict("a cancelled invoice cannot be paid");
    if (status == "paid" || balance <= 0) co_return Error::conflict("the invoice is already paid");
    if (*amount > balance) {
        co_return Error::conflict("the amount exceeds the balance due of " + money_text(balance, cur) + " " +
                                  std::string(cur.code));
    }
    if (!inv->boolean(0, 4) && *amount != balance) {
        co_return Error::conflict("this invoice does not accept partial payments; pay the balance of " +
                                  money_text(balance, cur));
    }
    if (!inv->is_null(0, 5) && *amount < inv->int64(0, 5) && *amount != balance) {
        co_return Error::conflict("the amount is below the invoice's minimum payment of " +
                                  money_text(inv->int64(0, 5), cur));
    }
    auto inserted = co_await tx->query(
        "INSERT INTO payments (org_id, invoice_id, amount, currency, payment_method, status, paid_by, notes, paid_at) "
        "VALUES ($1, $2, $3, $4, $5, 'completed', $6, $7, "
        // A payment dated D was received on D in the org's time zone (start of that day there).
        "coalesce($8::date::timestamp AT TIME ZONE (SELECT time_zone FROM organizations WHERE id = $1), now())) "
        "RETURNING id",
        db::Params(org_id, *invoice_id, *amount, std::string(cur.code), method.value_or("other"), paid_by, notes,
                   paid_at));
    if (!inserted) co_return inserted.error();
    std::string id(inserted->text(0, 0));
    std::vector<db::Statement> statements;
    statements.push_back({kRecomputeInvoice, db::Params(org_id, *invoice_id)});
    if (*amount < balance) {
        statements.push_back({"UPDATE invoices SET partial_payment_count = partial_payment_count + 1 "
                              "WHERE org_id = $1 AND id = $2",
                              db::Params(org_id, *invoice_id)});
    }
    auto updated = co_await tx->batch(std::move(statements));
    if (!updated) co_return updated.error();
    auto json = co_await render(*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> refund(std::string org_id, std::string payment_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    auto reason = in.text("reason", false, 1000);
    if (!in.ok()) co_return in.error();
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto pay = co_await tx->query("SELECT invoice_id FROM payments WHERE org_id = $1 AND id = $2",
                                  db::Params(org_id, payment_id));
    if (!pay) co_return pay.error();
    if (pay->empty()) co_return Error::not_found("payment not found");
    std::string invoice_id(pay->text(0, 0));
    // Same lock order as record(): the invoice first, then the payment.
    auto inv = co_await tx->query("SELECT 1 FROM invoices WHERE org_id = $1 AND id = $2 FOR UPDATE",
                                  db::Params(org_id, invoice_id));
    if (!inv) co_return inv.error();
    auto p = co_await tx->query(
        "SELECT amount, refunded_amount, status, currency, payment_method FROM payments "
        "WHERE org_id = $1 AND id = $2 FOR UPDATE",
        db::Params(org_id, payment_id));
    if (!p) co_return p.error();
    Currency cur = stored_currency(p->text(0, 3));
    std::int64_t refundable = p->int64(0, 0) - p->int64(0, 1);
    std::string pstatus(p->text(0, 2));
    if (pstatus != "completed" && pstatus != "partially_refunded") {
        co_return Error::conflict("a " + pstatus + " payment cannot be refunded");
    }
    if (p->text(0, 4) == "paypal") {
        co_return Error::conflict("PayPal payments are refunded through PayPal, which is not configured yet");
    }
    std::int64_t amount = refundable;
    if (in.has("amount") && !in.raw("amount")->is_null()) {
        auto a = in.money("amount", cur, true, true);
        if (!a) co_return in.error();
        amount = *a;
    }
    if (amount > refundable) {
        co_return Error::conflict("the refund exceeds the unrefunded " + money_text(refundable, cur) + " " +
                                  std::string(cur.code));
    }
    auto inserted = co_await tx->query(
        "INSERT INTO refunds (org_id, payment_id, amount, reason) VALUES ($1, $2, $3, $4) "
        "RETURNING id, rfc3339(created_at)",
        db::Params(org_id, payment_id, amount, reason));
    if (!inserted) co_return inserted.error();
    std::vector<db::Statement> statements;
    statements.push_back(
        {"UPDATE payments SET refunded_amount = refunded_amount + $3, "
         "status = CASE WHEN refunded_amount + $3 = amount THEN 'refunded' ELSE 'partially_refunded' END "
         "WHERE org_id = $1 AND id = $2",
         db::Params(org_id, payment_id, amount)});
    statements.push_back({kRecomputeInvoice, db::Params(org_id, invoice_id)});
    auto updated = co_await tx->batch(std::move(statements));
    if (!updated) co_return updated.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    json::Writer w;
    w.begin_object();
    w.field("id", inserted->text(0, 0));
    w.field("payment_id", payment_id);
    w.key("amount").number_text(money_text(amount, cur));
    w.opt_field("reason", reason);
    w.field("created_at", inserted->text(0, 1));
    w.end_object();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id) {
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto json = co_await render(*tx, org_id, id);
    co_await tx->rollback();
    co_return json;
}

boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter f, Page page) {
    static const std::string kList = std::string(PAYMENT_SELECT) +
                                     "JOIN organizations o ON o.id = p.org_id WHERE p.org_id = $1 " +
                                     std::string(kFilters) +
                                     "AND ($7::timestamptz IS NULL OR (p.created_at, p.id) < ($7::timestamptz, $8::uuid)) "
                                     "ORDER BY p.created_at DESC, p.id DESC LIMIT $9";
    static const std::string kCount =
        "SELECT count(*) FROM payments p JOIN organizations o ON o.id = p.org_id WHERE p.org_id = $1 " +
        std::string(kFilters);
    std::vector<db::Statement> statements;
    statements.push_back({kList, db::Params(org_id, f.status, f.payment_method, f.invoice_id, f.date_from, f.date_to,
                                            page.after_created_at, page.after_id, page.limit + 1)});
    statements.push_back(
        {kCount, db::Params(org_id, f.status, f.payment_method, f.invoice_id, f.date_from, f.date_to)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& rows = (*results)[0];
    int n = std::min(rows.size(), page.limit);
    ListResult out;
    out.total = (*results)[1].int64(0, 0);
    json::Writer w;
    w.begin_array();
    for (int i = 0; i < n; ++i) write_payment(w, rows, i, nullptr);
    w.end_array();
    out.json = std::move(w).str();
    if (rows.size() > page.limit) out.next_cursor = encode_cursor(rows.text(n - 1, 14), rows.text(n - 1, 0));
    co_return out;
}

boost::asio::awaitable<Result<std::string>> stats(std::string org_id) {
    auto org = co_await load_org_defaults(org_id);
    if (!org) co_return org.error();
    Currency cur = org->currency;
    auto rows = co_await db::Pool::current().query(
        "SELECT payment_method, count(*), coalesce(sum(amount), 0), coalesce(sum(refunded_amount), 0) "
        "FROM payments WHERE org_id = $1 AND currency = $2 AND status IN ('completed', 'partially_refunded', 'refunded') "
        "GROUP BY payment_method ORDER BY payment_method",
        db::Params(org_id, std::string(cur.code)));
    if (!rows) co_return rows.error();
    std::int64_t count = 0, total = 0, refunded = 0;
    for (int i = 0; i < rows->size(); ++i) {
        count += rows->int64(i, 1);
        total += rows->int64(i, 2);
        refunded += rows->int64(i, 3);
    }
    json::Writer w;
    w.begin_object();
    w.field("total_payments", count);
    w.key("total_amount").number_text(money_text(total, cur));
    w.key("total_refunded").number_text(money_text(refunded, cur));
    w.key("net_amount").number_text(money_text(total - refunded, cur));
    // Average of the payments' amounts, rounded half-up to the minor unit.
    w.key("avg_payment").number_text(money_text(count ? div_round_half_up(total, count) : 0, cur));
    w.key("by_method").begin_object();
    for (int i = 0; i < rows->size(); ++i) {
        w.key(rows->text(i, 0)).number_text(money_text(rows->int64(i, 2) - rows->int64(i, 3), cur));
    }
    w.end_object();
    w.field("currency", cur.code);
    w.end_object();
    co_return std::move(w).str();
}

}  // namespace flashbill::domain::payments
