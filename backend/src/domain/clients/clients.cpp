// Clients: repository (org-scoped SQL) and the few rules of API.md §3.

#include "domain/clients/clients.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "core/json.hpp"
#include "db/pool.hpp"
#include "domain/common/input.hpp"
#include "domain/common/org.hpp"

namespace flashbill::domain::clients {

namespace {

// One row per client with its live aggregates: issued (not draft, not cancelled) invoices in the
// client's currency (the org's when the client has none).
#define CLIENT_SELECT                                                                                              \
    "SELECT c.id, c.name, c.email, c.phone, c.company_name, c.billing_address::text, c.payment_terms, "          \
    "c.tax_exempt, c.notes, c.currency, c.archived, rfc3339(c.created_at), rfc3339(c.updated_at), "              \
    "coalesce(c.currency, s.currency, 'USD'), agg.invoiced, agg.paid, agg.avg_days, agg.last_date, "              \
    "c.created_at::text "                                                                                        \
    "FROM clients c LEFT JOIN org_settings s ON s.org_id = c.org_id "                                            \
    "LEFT JOIN LATERAL (SELECT coalesce(sum(i.total_amount), 0) AS invoiced, "                                    \
    "coalesce(sum(i.amount_paid), 0) AS paid, "                                                                  \
    "round(avg(i.paid_at::date - i.issue_date) FILTER (WHERE i.status = 'paid'))::bigint AS avg_days, "          \
    "max(i.issue_date)::text AS last_date FROM invoices i "                                                       \
    "WHERE i.org_id = c.org_id AND i.client_id = c.id AND i.status NOT IN ('draft', 'cancelled') "               \
    "AND i.currency = coalesce(c.currency, s.currency, 'USD')) agg ON true "

constexpr std::string_view kGet = CLIENT_SELECT "WHERE c.org_id = $1 AND c.id = $2";
constexpr std::string_view kList = CLIENT_SELECT
    "WHERE c.org_id = $1 AND c.archived = $2 "
    "AND ($3::text IS NULL OR c.name ILIKE $3 OR c.email ILIKE $3 OR c.company_name ILIKE $3) "
    "AND ($4::timestamptz IS NULL OR (c.created_at, c.id) < ($4::timestamptz, $5::uuid)) "
    "ORDER BY c.created_at DESC, c.id DESC LIMIT $6";
constexpr std::string_view kCount =
    "SELECT count(*) FROM clients c WHERE c.org_id = $1 AND c.archived = $2 "
    "AND ($3::text IS NULL OR c.name ILIKE $3 OR c.email ILIKE $3 OR c.company_name ILIKE $3)";

void write_client(json::Writer& w, const db::Rows& r, int i) {
    Currency cur = stored_currency(r.text(i, 13));
    std::int64_t invoiced = r.int64(i, 14), paid = r.int64(i, 15);
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.field("name", r.text(i, 1));
    w.opt_field("email", r.opt_text(i, 2));
    w.opt_field("phone", r.opt_text(i, 3));
    w.opt_field("company_name", r.opt_text(i, 4));
    w.key("billing_address");
    if (r.is_null(i, 5)) w.null();
    else w.raw(r.text(i, 5));
    w.field("payment_terms", r.int64(i, 6));
    w.field("tax_exempt", r.boolean(i, 7));
    w.opt_field("notes", r.opt_text(i, 8));
    w.opt_field("currency", r.opt_text(i, 9));
    w.field("archived", r.boolean(i, 10));
    w.key("total_invoiced").number_text(money_text(invoiced, cur));
    w.key("total_paid").number_text(money_text(paid, cur));
    w.key("outstanding_balance").number_text(money_text(invoiced - paid, cur));
    w.key("average_payment_days");
    if (r.is_null(i, 16)) w.null();
    else w.number(r.int64(i, 16));
    w.opt_field("last_invoice_date", r.opt_text(i, 17));
    w.field("created_at", r.text(i, 11));
    w.field("updated_at", r.text(i, 12));
    w.end_object();
}


Result<void> map_write_error(const Error& e) {
    if (e.code == ErrorCode::kConflict) return Error::conflict("the client is referenced by invoices");
    return e;
}

}  // namespace

Result<ClientChanges> parse_changes(const json::Value& body, bool create) {
    if (!body.is_object()) return Error::validation("body", "must be a JSON object");
    Input in(body);
    ClientChanges c;
    if (create) {
        c.name.present = true;
        c.name.value = in.text("name", true, 200);
    } else {
        c.name = in.text_patch("name", 200, 1);
        if (c.name.present && !c.name.value && !in.raw("name")->is_string()) in.add_error("name", "must not be null");
    }
    c.email = in.text_patch("email", 254);
    if (c.email.is_set() && !c.email.value->empty()) {
        if (!in.email("email", false)) c.email.present = false;
    } else if (c.email.is_set()) {
        c.email.value.reset();  // "" clears
    }
    c.phone = in.text_patch("phone", 50);
    c.company_name = in.text_patch("company_name", 200);
    c.notes = in.text_patch("notes", 5000);
    if (in.has("currency")) {
        c.currency.present = true;
        if (!in.raw("currency")->is_null()) {
            auto cur = in.currency("currency", false);
            if (cur) c.currency.value = std::string(cur->code);
            else c.currency.present = false;
        }
    }
    if (in.has("billing_address")) {
        c.billing_address.present = true;
        if (const json::Value* a = in.object("billing_address", false)) {
            Input addr = in.nested(*a, "billing_address");
            json::Writer w;
            w.begin_object();
            for (std::string_view k : {"street", "city", "state", "zip_code", "country"}) {
                if (auto v = addr.text(k, false, 200)) w.field(k, *v);
            }
            w.end_object();
            c.billing_address.value = std::move(w).str();
        } else if (!in.raw("billing_address")->is_null()) {
            c.billing_address.present = false;
        }
    }
    if (auto t = in.integer("payment_terms", false, 0, 3650)) c.payment_terms = static_cast<int>(*t);
    c.tax_exempt = in.boolean("tax_exempt", false);
    c.archived = in.boolean("archived", false);
    if (!in.ok()) return in.error();
    return c;
}

boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(kGet, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("client not found");
    json::Writer w;
    write_client(w, *rows, 0);
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> create(std::string org_id, ClientChanges c) {
    auto defaults = co_await load_org_defaults(org_id);
    if (!defaults) co_return defaults.error();
    int terms = c.payment_terms.value_or(defaults->default_payment_terms);
    auto rows = co_await db::Pool::current().query(
        "INSERT INTO clients (org_id, name, email, phone, company_name, billing_address, payment_terms, tax_exempt, "
        "notes, currency, archived) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11) RETURNING id",
        db::Params(org_id, c.name.value, c.email.value, c.phone.value, c.company_name.value, c.billing_address.value,
                   terms, c.tax_exempt.value_or(false), c.notes.value, c.currency.value, c.archived.value_or(false)));
    if (!rows) co_return rows.error();
    co_return co_await get(org_id, std::string(rows->text(0, 0)));
}

boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, ClientChanges c) {
    // Merge semantics in SQL: a flag per field says whether it is present in the request.
    auto rows = co_await db::Pool::current().query(
        "UPDATE clients SET "
        "name = CASE WHEN $3 THEN $4 ELSE name END, "
        "email = CASE WHEN $5 THEN $6 ELSE email END, "
        "phone = CASE WHEN $7 THEN $8 ELSE phone END, "
        "company_name = CASE WHEN $9 THEN $10 ELSE company_name END, "
        "billing_address = CASE WHEN $11 THEN $12::jsonb ELSE billing_address END, "
        "notes = CASE WHEN $13 THEN $14 ELSE notes END, "
        "currency = CASE WHEN $15 THEN $16 ELSE currency END, "
        "payment_terms = coalesce($17::int, payment_terms), "
        "tax_exempt = coalesce($18::boolean, tax_exempt), "
        "archived = coalesce($19::boolean, archived) "
        "WHERE org_id = $1 AND id = $2 RETURNING id",
        db::Params(org_id, id, c.name.present, c.name.value, c.email.present, c.email.value, c.phone.present,
                   c.phone.value, c.company_name.present, c.company_name.value, c.billing_address.present,
                   c.billing_address.value, c.notes.present, c.notes.value, c.currency.present, c.currency.value,
                   c.payment_terms, c.tax_exempt, c.archived));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("client not found");
    co_return co_await get(org_id, id);
}

boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(
        "WITH used AS (SELECT 1 FROM invoices WHERE org_id = $1 AND client_id = $2 LIMIT 1) "
        "DELETE FROM clients WHERE org_id = $1 AND id = $2 AND NOT EXISTS (SELECT 1 FROM used) "
        "RETURNING (SELECT count(*) FROM used)",
        db::Params(org_id, id));
    if (!rows) co_return map_write_error(rows.error());
    if (rows->empty()) {
        auto exists = co_await db::Pool::current().query("SELECT 1 FROM clients WHERE org_id = $1 AND id = $2",
                                                         db::Params(org_id, id));
        if (!exists) co_return exists.error();
        if (exists->empty()) co_return Error::not_found("client not found");
        co_return Error::conflict("the client has invoices; archive it instead (PUT {\"archived\": true})");
    }
    co_return Result<void>{};
}

boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter filter, Page page) {
    std::optional<std::string> pattern;
    if (filter.search && !filter.search->empty()) pattern = contains_pattern(*filter.search);
    std::vector<db::Statement> statements;
    statements.push_back({kList, db::Params(org_id, filter.archived, pattern, page.after_created_at, page.after_id,
                                            page.limit + 1)});
    statements.push_back({kCount, db::Params(org_id, filter.archived, pattern)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& rows = (*results)[0];
    ListResult out;
    out.total = (*results)[1].int64(0, 0);
    json::Writer w;
    w.begin_array();
    int n = std::min(rows.size(), page.limit);
    for (int i = 0; i < n; ++i) write_client(w, rows, i);
    w.end_array();
    if (rows.size() > page.limit) out.next_cursor = encode_cursor(rows.text(n - 1, 18), rows.text(n - 1, 0));
    out.json = std::move(w).str();
    co_return out;
}

boost::asio::awaitable<Result<std::string>> stats(std::string org_id) {
    auto rows = co_await db::Pool::current().query(
        "SELECT count(c.id), count(c.id) FILTER (WHERE NOT c.archived), coalesce(sum(agg.invoiced), 0), "
        "coalesce(sum(agg.paid), 0), round(avg(agg.avg_days))::bigint, coalesce(s.currency, 'USD') "
        "FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id "
        "LEFT JOIN clients c ON c.org_id = o.id "
        "LEFT JOIN LATERAL (SELECT sum(i.total_amount) AS invoiced, sum(i.amount_paid) AS paid, "
        "avg(i.paid_at::date - i.issue_date) FILTER (WHERE i.status = 'paid') AS avg_days FROM invoices i "
        "WHERE i.org_id = o.id AND i.client_id = c.id AND i.status NOT IN ('draft', 'cancelled') "
        "AND i.currency = coalesce(s.currency, 'USD')) agg ON true "
        "WHERE o.id = $1 GROUP BY s.currency",
        db::Params(org_id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("organization not found");
    Currency cur = stored_currency(rows->text(0, 5));
    std::int64_t invoiced = rows->int64(0, 2), paid = rows->int64(0, 3);
    json::Writer w;
    w.begin_object();
    w.field("total_clients", rows->int64(0, 0));
    w.field("active_clients", rows->int64(0, 1));
    w.key("total_invoiced").number_text(money_text(invoiced, cur));
    w.key("total_paid").number_text(money_text(paid, cur));
    w.key("outstanding_balance").number_text(money_text(invoiced - paid, cur));
    w.key("avg_payment_days");
    if (rows->is_null(0, 4)) w.null();
    else w.number(rows->int64(0, 4));
    w.field("currency", cur.code);
    w.end_object();
    co_return std::move(w).str();
}

}  // namespace flashbill::domain::clients
