// Expenses: repository (org-scoped SQL) and the rules of API.md §7.

#include "domain/expenses/expenses.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <tuple>

#include "db/pool.hpp"
#include "domain/common/input.hpp"
#include "domain/common/org.hpp"
#include "domain/files/storage.hpp"

namespace flashbill::domain::expenses {

namespace {

// The expense with its receipt's metadata (the FK is org-scoped, so the join cannot cross orgs).
#define EXPENSE_SELECT                                                                                           \
    "SELECT e.id, e.amount, e.currency, e.category, e.vendor, e.description, e.date_incurred::text, "            \
    "e.tax_deductible, e.notes, e.receipt_file_id, f.file_name, f.size, f.content_type, rfc3339(e.created_at), " \
    "rfc3339(e.updated_at), e.created_at::text "                                                                 \
    "FROM expenses e LEFT JOIN files f ON f.org_id = e.org_id AND f.id = e.receipt_file_id "

#define EXPENSE_FILTER                                                                                             \
    "WHERE e.org_id = $1 AND ($2::text IS NULL OR e.category = $2) "                                               \
    "AND ($3::date IS NULL OR e.date_incurred >= $3::date) AND ($4::date IS NULL OR e.date_incurred <= $4::date) " \
    "AND ($5::boolean IS NULL OR e.tax_deductible = $5) "                                                          \
    "AND ($6::text IS NULL OR e.vendor ILIKE $6 OR e.description ILIKE $6) "

constexpr std::string_view kGet = EXPENSE_SELECT "WHERE e.org_id = $1 AND e.id = $2";
constexpr std::string_view kList = EXPENSE_SELECT EXPENSE_FILTER
    "AND ($7::timestamptz IS NULL OR (e.created_at, e.id) < ($7::timestamptz, $8::uuid)) "
    "ORDER BY e.created_at DESC, e.id DESC LIMIT $9";
constexpr std::string_view kCount = "SELECT count(*) FROM expenses e " EXPENSE_FILTER;

void write_expense(json::Writer& w, const db::Rows& r, int i) {
    Currency cur = stored_currency(r.text(i, 2));
    std::string id(r.text(i, 0));
    w.begin_object();
    w.field("id", id);
    w.key("amount").number_text(money_text(r.int64(i, 1), cur));
    w.field("currency", r.text(i, 2));
    w.field("category", r.text(i, 3));
    w.opt_field("vendor", r.opt_text(i, 4));
    w.opt_field("description", r.opt_text(i, 5));
    w.field("date_incurred", r.text(i, 6));
    w.field("date", r.text(i, 6));
    w.field("tax_deductible", r.boolean(i, 7));
    w.opt_field("notes", r.opt_text(i, 8));
    w.key("receipt");
    if (r.is_null(i, 9)) {
        w.null();
    } else {
        w.begin_object();
        w.field("file_id", r.text(i, 9));
        w.field("file_name", r.text(i, 10));
        w.field("size", r.int64(i, 11));
        w.field("content_type", r.text(i, 12));
        w.field("url", "/api/v1/expenses/" + id + "/receipt");
        w.end_object();
    }
    w.field("created_at", r.text(i, 13));
    w.field("updated_at", r.text(i, 14));
    w.end_object();
}


// The body's currency when it names a valid one, else `fallback` (its error is reported by the
// parser itself).
Currency amount_currency(const json::Value& body, Currency fallback) {
    const json::Value* c = body.is_object() ? body.find("currency") : nullptr;
    if (!c || !c->is_string()) return fallback;
    auto found = find_currency(c->as_string());
    return found ? *found : fallback;
}

}  // namespace

Result<ExpenseChanges> parse_changes(const json::Value& body, bool create, Currency fallback) {
    if (!body.is_object()) return Error::validation("body", "must be a JSON object");
    Input in(body);
    ExpenseChanges c;
    if (in.has("currency")) {
        if (auto cur = in.currency("currency", true)) c.currency = std::string(cur->code);
    }
    Currency cur = amount_currency(body, fallback);
    if (create || in.has("amount")) c.amount = in.money("amount", cur, true, true);
    if (create || in.has("category")) c.category = in.one_of("category", true, kCategories);
    // `date` is an alias of date_incurred; the canonical name wins when both are sent.
    std::string_view date_key = !in.has("date_incurred") && in.has("date") ? "date" : "date_incurred";
    if (create || in.has(date_key)) {
        if (auto d = in.date(date_key, true)) c.date_incurred = d->text();
    }
    std::string_view deductible_key =
        !in.has("tax_deductible") && in.has("is_tax_deductible") ? "is_tax_deductible" : "tax_deductible";
    if (in.has(deductible_key)) c.tax_deductible = in.boolean(deductible_key, true);
    if (create && !c.tax_deductible) c.tax_deductible = true;
    c.vendor = in.text_patch("vendor", 200);
    c.description = in.text_patch("description", 1000);
    c.notes = in.text_patch("notes", 5000);
    if (!in.ok()) return in.error();
    return c;
}

Result<ListFilter> parse_filter(std::optional<std::string> category, std::optional<std::string> date_from,
                                std::optional<std::string> date_to, std::optional<std::string> tax_deductible,
                                std::optional<std::string> search) {
    std::vector<FieldError> errors;
    ListFilter f;
    if (category) {
        bool known = false;
        for (auto k : kCategories) known = known || k == *category;
        if (known)
            f.category = category;
        else
            errors.push_back(FieldError{"category", "must be one of the expense categories"});
    }
    for (auto [name, raw, out] :
         {std::tuple{"date_from", &date_from, &f.date_from}, std::tuple{"date_to", &date_to, &f.date_to}}) {
        if (!*raw) continue;
        auto d = parse_date(**raw);
        if (d)
            *out = d->text();
        else
            errors.push_back(FieldError{name, "must be a date (YYYY-MM-DD)"});
    }
    if (f.date_from && f.date_to && *f.date_from > *f.date_to) {
        errors.push_back(FieldError{"date_to", "must not be before date_from"});
    }
    if (tax_deductible) {
        if (*tax_deductible == "true" || *tax_deductible == "false")
            f.tax_deductible = *tax_deductible == "true";
        else
            errors.push_back(FieldError{"tax_deductible", "must be true or false"});
    }
    if (search && !search->empty()) f.search = contains_pattern(*search);
    if (!errors.empty()) return validation_error(std::move(errors));
    return f;
}

boost::asio::awaitable<Result<std::string>> get(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(kGet, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("expense not found");
    json::Writer w;
    write_expense(w, *rows, 0);
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body) {
    auto defaults = co_await load_org_defaults(org_id);
    if (!defaults) co_return defaults.error();
    auto c = parse_changes(body, true, defaults->currency);
    if (!c) co_return c.error();
    std::string currency = c->currency ? *c->currency : std::string(defaults->currency.code);
    auto rows = co_await db::Pool::current().query(
        "INSERT INTO expenses (org_id, amount, currency, category, vendor, description, date_incurred, "
        "tax_deductible, notes) VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9) RETURNING id",
        db::Params(org_id, c->amount, currency, c->category, c->vendor.value, c->description.value, c->date_incurred,
                   c->tax_deductible, c->notes.value));
    if (!rows) co_return rows.error();
    co_return co_await get(org_id, std::string(rows->text(0, 0)));
}

boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    // The stored currency decides how `amount` is read when the body does not change it.
    auto current = co_await tx->query("SELECT currency FROM expenses WHERE org_id = $1 AND id = $2 FOR UPDATE",
                                      db::Params(org_id, id));
    if (!current) co_return current.error();
    if (current->empty()) co_return Error::not_found("expense not found");
    Currency stored = stored_currency(current->text(0, 0));
    auto c = parse_changes(body, false, stored);
    if (!c) co_return c.error();
    // An amount is minor units of its currency: changing the currency alone would silently rescale
    // it (10.00 USD → 1000 JPY), so the new amount must come with it.
    if (c->currency && *c->currency != stored.code && !c->amount) {
        co_return Error::validation("amount", "is required when the currency changes");
    }
    auto rows = co_await tx->query(
        "UPDATE expenses SET amount = coalesce($3::bigint, amount), currency = coalesce($4::text, currency), "
        "category = coalesce($5::text, category), "
        "vendor = CASE WHEN $6 THEN $7 ELSE vendor END, "
        "description = CASE WHEN $8 THEN $9 ELSE description END, "
        "notes = CASE WHEN $10 THEN $11 ELSE notes END, "
        "date_incurred = coalesce($12::date, date_incurred), "
        "tax_deductible = coalesce($13::boolean, tax_deductible) "
        "WHERE org_id = $1 AND id = $2 RETURNING id",
        db::Params(org_id, id, c->amount, c->currency, c->category, c->vendor.present, c->vendor.value,
                   c->description.present, c->description.value, c->notes.present, c->notes.value, c->date_incurred,
                   c->tax_deductible));
    if (!rows) co_return rows.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return co_await get(org_id, id);
}

boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id) {
    // The receipt file stays: it is one of the org's files (GET /files) and may be deleted there.
    auto rows = co_await db::Pool::current().query("DELETE FROM expenses WHERE org_id = $1 AND id = $2 RETURNING id",
                                                   db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("expense not found");
    co_return Result<void>{};
}

boost::asio::awaitable<Result<ListResult>> list(std::string org_id, ListFilter f, Page page) {
    std::vector<db::Statement> statements;
    statements.push_back({kList, db::Params(org_id, f.category, f.date_from, f.date_to, f.tax_deductible, f.search,
                                            page.after_created_at, page.after_id, page.limit + 1)});
    statements.push_back({kCount, db::Params(org_id, f.category, f.date_from, f.date_to, f.tax_deductible, f.search)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& rows = (*results)[0];
    ListResult out;
    out.total = (*results)[1].int64(0, 0);
    json::Writer w;
    w.begin_array();
    int n = std::min(rows.size(), page.limit);
    for (int i = 0; i < n; ++i) write_expense(w, rows, i);
    w.end_array();
    if (rows.size() > page.limit) out.next_cursor = encode_cursor(rows.text(n - 1, 15), rows.text(n - 1, 0));
    out.json = std::move(w).str();
    co_return out;
}

std::int64_t monthly_average(std::int64_t year_total, int months) {
    if (months <= 0) return 0;
    // Half-up on non-negative totals (expense amounts are positive), in integers.
    return (2 * year_total + months) / (2 * static_cast<std::int64_t>(months));
}

boost::asio::awaitable<Result<std::string>> stats(std::string org_id) {
    auto defaults = co_await load_org_defaults(org_id);
    if (!defaults) co_return defaults.error();
    Currency cur = defaults->currency;
    const std::string& today = defaults->today;  // YYYY-MM-DD in the org's time zone
    std::string year_start = today.substr(0, 4) + "-01-01";
    int months = (today[5] - '0') * 10 + (today[6] - '0');
    std::string code(cur.code);
    std::vector<db::Statement> statements;
    statements.push_back(
        {"SELECT coalesce(sum(amount), 0), count(*), coalesce(sum(amount) FILTER (WHERE tax_deductible), 0), "
         "coalesce(sum(amount) FILTER (WHERE date_incurred BETWEEN $3::date AND $4::date), 0) "
         "FROM expenses WHERE org_id = $1 AND currency = $2",
         db::Params(org_id, code, year_start, today)});
    statements.push_back(
        {"SELECT category, sum(amount) FROM expenses WHERE org_id = $1 AND currency = $2 "
         "GROUP BY category",
         db::Params(org_id, code)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& totals = (*results)[0];
    const db::Rows& by = (*results)[1];
    json::Writer w;
    w.begin_object();
    w.key("total_expenses").number_text(money_text(totals.int64(0, 0), cur));
    w.field("count", totals.int64(0, 1));
    w.key("tax_deductible").number_text(money_text(totals.int64(0, 2), cur));
    // Every category, zero when unused: clients can chart the object without filling gaps.
    w.key("by_category").begin_object();
    for (auto k : kCategories) {
        std::int64_t sum = 0;
        for (int i = 0; i < by.size(); ++i) {
            if (by.text(i, 0) == k) sum = by.int64(i, 1);
        }
        w.key(k).number_text(money_text(sum, cur));
    }
    w.end_object();
    w.key("monthly_average").number_text(money_text(monthly_average(totals.int64(0, 3), months), cur));
    w.field("currency", cur.code);
    w.end_object();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> attach_receipt(std::string org_id, std::string id, files::Part part) {
    db::Pool& pool = db::Pool::current();
    // Cheap refusal before writing up to 10 MiB; the transaction below settles any race.
    auto exists = co_await pool.query("SELECT 1 FROM expenses WHERE org_id = $1 AND id = $2", db::Params(org_id, id));
    if (!exists) co_return exists.error();
    if (exists->empty()) co_return Error::not_found("expense not found");
    auto stored = co_await files::store_bytes(org_id, part);
    if (!stored) co_return stored.error();
    std::string file_id = stored->id;
    Result<void> linked = Result<void>{};
    {
        auto tx = co_await pool.begin();
        if (!tx) {
            linked = tx.error();
        } else {
            auto inserted = co_await files::insert_row(*tx, org_id, *stored);
            if (!inserted) linked = inserted.error();
            if (linked) {
                auto rows = co_await tx->query(
                    "UPDATE expenses SET receipt_file_id = $3 WHERE org_id = $1 AND id = $2 RETURNING id",
                    db::Params(org_id, id, file_id));
                if (!rows)
                    linked = rows.error();
                else if (rows->empty())
                    linked = Error::not_found("expense not found");
            }
            if (linked) {
                auto committed = co_await tx->commit();
                if (!committed) linked = committed.error();
            }
        }
    }
    if (!linked) {
        co_await files::remove_bytes(org_id, file_id);
        co_return linked.error();
    }
    co_return co_await get(org_id, id);
}

boost::asio::awaitable<Result<files::Download>> receipt(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(
        "SELECT e.receipt_file_id FROM expenses e WHERE e.org_id = $1 AND e.id = $2", db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("expense not found");
    if (rows->is_null(0, 0)) co_return Error::not_found("the expense has no receipt");
    std::string file_id(rows->text(0, 0));
    co_return co_await files::download(org_id, file_id);
}

}  // namespace flashbill::domain::expenses
