#include "domain/taxes/taxes.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "db/pool.hpp"
#include "domain/common/input.hpp"
#include "domain/common/org.hpp"

namespace flashbill::domain::taxes {

namespace {

constexpr std::string_view kSelect =
    "SELECT id, label, rate_units, is_default, is_active, rfc3339(created_at), rfc3339(updated_at) FROM tax_rates ";

void write_rate(json::Writer& w, const db::Rows& r, int i) {
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.field("label", r.text(i, 1));
    w.key("rate").number_text(Decimal::from_units(r.int64(i, 2)).to_string());
    w.field("is_default", r.boolean(i, 3));
    w.field("is_active", r.boolean(i, 4));
    w.field("created_at", r.text(i, 5));
    w.field("updated_at", r.text(i, 6));
    w.end_object();
}

boost::asio::awaitable<Result<std::string>> render_one(db::Transaction& tx, std::string org_id, std::string id) {
    std::string sql = std::string(kSelect) + "WHERE org_id = $1 AND id = $2";
    auto rows = co_await tx.query(sql, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("tax rate not found");
    json::Writer w;
    write_rate(w, *rows, 0);
    co_return std::move(w).str();
}

struct RateInput {
    Patch<std::string> label;
    std::optional<Decimal> rate;
    std::optional<bool> is_default, is_active;
};

Result<RateInput> parse_rate(const json::Value& body, bool create) {
    if (!body.is_object()) return Error::validation("body", "must be a JSON object");
    Input in(body);
    RateInput r;
    if (create) {
        r.label.present = true;
        r.label.value = in.text("label", true, 100);
    } else {
        r.label = in.text_patch("label", 100, 1);
        if (r.label.present && !r.label.value) {
            if (in.raw("label")->is_null()) in.add_error("label", "must not be null");
            r.label.present = false;
        }
    }
    r.rate = in.decimal("rate", create, Decimal{}, Decimal::from_integer(100));
    r.is_default = in.boolean("is_default", false);
    r.is_active = in.boolean("is_active", false);
    if (!in.ok()) return in.error();
    return r;
}

}  // namespace

boost::asio::awaitable<Result<std::string>> list(std::string org_id) {
    std::string sql = std::string(kSelect) + "WHERE org_id = $1 ORDER BY created_at DESC, id DESC";
    auto rows = co_await db::Pool::current().query(sql, db::Params(org_id));
    if (!rows) co_return rows.error();
    json::Writer w;
    w.begin_array();
    for (int i = 0; i < rows->size(); ++i) write_rate(w, *rows, i);
    w.end_array();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> get_default(std::string org_id) {
    std::string sql = std::string(kSelect) + "WHERE org_id = $1 AND is_default";
    auto rows = co_await db::Pool::current().query(sql, db::Params(org_id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return std::string("null");
    json::Writer w;
    write_rate(w, *rows, 0);
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> create(std::string org_id, json::Value body) {
    auto in = parse_rate(body, true);
    if (!in) co_return in.error();
    bool is_default = in->is_default.value_or(false);
    bool is_active = in->is_active.value_or(true);
    if (is_default && !is_active) co_return Error::validation("is_active", "a default rate must be active");
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    // Every rate of the org locked: concurrent "make default" requests queue instead of colliding.
    auto locked = co_await tx->query("SELECT id FROM tax_rates WHERE org_id = $1 FOR UPDATE", db::Params(org_id));
    if (!locked) co_return locked.error();
    if (is_default) {
        auto cleared = co_await tx->query("UPDATE tax_rates SET is_default = false WHERE org_id = $1 AND is_default",
                                          db::Params(org_id));
        if (!cleared) co_return cleared.error();
    }
    auto inserted = co_await tx->query(
        "INSERT INTO tax_rates (org_id, label, rate_units, is_default, is_active) VALUES ($1, $2, $3, $4, $5) "
        "RETURNING id",
        db::Params(org_id, *in->label.value, in->rate->units(), is_default, is_active));
    if (!inserted) co_return inserted.error();
    auto json = co_await render_one(*tx, org_id, std::string(inserted->text(0, 0)));
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<std::string>> update(std::string org_id, std::string id, json::Value body) {
    auto in = parse_rate(body, false);
    if (!in) co_return in.error();
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    auto locked = co_await tx->query("SELECT id, is_default, is_active FROM tax_rates WHERE org_id = $1 FOR UPDATE",
                                     db::Params(org_id));
    if (!locked) co_return locked.error();
    int row = -1;
    for (int i = 0; i < locked->size(); ++i) {
        if (locked->text(i, 0) == id) row = i;
    }
    if (row < 0) co_return Error::not_found("tax rate not found");
    bool is_default = in->is_default.value_or(locked->boolean(row, 1));
    bool is_active = in->is_active.value_or(locked->boolean(row, 2));
    if (is_default && !is_active) co_return Error::validation("is_active", "a default rate must be active");
    if (is_default && !locked->boolean(row, 1)) {
        auto cleared = co_await tx->query("UPDATE tax_rates SET is_default = false WHERE org_id = $1 AND is_default",
                                          db::Params(org_id));
        if (!cleared) co_return cleared.error();
    }
    std::optional<std::int64_t> rate;
    if (in->rate) rate = in->rate->units();
    auto updated = co_await tx->query(
        "UPDATE tax_rates SET label = coalesce($3, label), rate_units = coalesce($4::bigint, rate_units), "
        "is_default = $5, is_active = $6 WHERE org_id = $1 AND id = $2",
        db::Params(org_id, id, in->label.value, rate, is_default, is_active));
    if (!updated) co_return updated.error();
    auto json = co_await render_one(*tx, org_id, id);
    if (!json) co_return json.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return json;
}

boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id) {
    // Invoices keep the rate they were computed with (copied into their items), so a rate can go.
    auto rows = co_await db::Pool::current().query("DELETE FROM tax_rates WHERE org_id = $1 AND id = $2 RETURNING 1",
                                                   db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("tax rate not found");
    co_return Result<void>{};
}

boost::asio::awaitable<Result<std::string>> calculate(std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    auto org = co_await load_org_defaults(org_id);
    if (!org) co_return org.error();
    Input in(body);
    Currency cur = org->currency;
    if (auto c = in.currency("currency", false)) cur = *c;
    auto amount = in.money("amount", cur, true, false);
    auto explicit_rate = in.decimal("tax_rate", false, Decimal{}, Decimal::from_integer(100));
    if (!in.ok()) co_return in.error();
    Decimal rate;
    std::optional<std::string> label;
    if (explicit_rate) {
        rate = *explicit_rate;
    } else {
        auto def = co_await db::Pool::current().query(
            "SELECT label, rate_units FROM tax_rates WHERE org_id = $1 AND is_default AND is_active",
            db::Params(org_id));
        if (!def) co_return def.error();
        if (!def->empty()) {
            label = std::string(def->text(0, 0));
            rate = Decimal::from_units(def->int64(0, 1));
        }
    }
    auto tax = try_percent_of(*amount, rate);
    if (!tax || *tax + *amount > kMaxMinorUnits) co_return Error::validation("amount", "is too large");
    json::Writer w;
    w.begin_object();
    w.key("calculation").begin_object();
    w.key("subtotal").number_text(money_text(*amount, cur));
    w.key("tax_rate").number_text(rate.to_string());
    w.key("tax_amount").number_text(money_text(*tax, cur));
    w.key("total").number_text(money_text(*amount + *tax, cur));
    w.opt_field("tax_label", label);
    w.field("currency", cur.code);
    w.end_object();
    w.field("legal_disclaimer",
            "Calculated from the tax rates configured for this business, rounded half-up to the currency's minor "
            "unit. It is not tax advice; check the rates that apply to you with your accountant or tax authority.");
    w.end_object();
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<std::string>> summary(std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    auto start = in.date("start_date", true);
    auto end = in.date("end_date", true);
    if (start && end && *end < *start) in.add_error("end_date", "must not be before start_date");
    if (!in.ok()) co_return in.error();
    auto org = co_await load_org_defaults(org_id);
    if (!org) co_return org.error();
    Currency cur = org->currency;
    // Issued, non-cancelled invoices in the org currency by issue date; lines grouped by the rate
    // they were taxed at (and the label when the rate was the org default).
    auto rows = co_await db::Pool::current().query(
        "SELECT CASE WHEN it.used_default_tax THEN i.tax_label END AS label, it.tax_rate_units, "
        "sum(it.amount), sum(it.tax_amount) FROM invoice_items it "
        "JOIN invoices i ON i.org_id = it.org_id AND i.id = it.invoice_id "
        "WHERE i.org_id = $1 AND i.status NOT IN ('draft', 'cancelled') AND i.currency = $2 "
        "AND i.issue_date BETWEEN $3::date AND $4::date GROUP BY 1, 2 ORDER BY 2, 1",
        db::Params(org_id, std::string(cur.code), start->text(), end->text()));
    if (!rows) co_return rows.error();
    auto discounts = co_await db::Pool::current().query(
        "SELECT coalesce(sum(discount_amount), 0) FROM invoices WHERE org_id = $1 AND status NOT IN ('draft', "
        "'cancelled') AND currency = $2 AND issue_date BETWEEN $3::date AND $4::date",
        db::Params(org_id, std::string(cur.code), start->text(), end->text()));
    if (!discounts) co_return discounts.error();
    std::int64_t taxable = 0, tax = 0;
    json::Writer by;
    by.begin_array();
    for (int i = 0; i < rows->size(); ++i) {
        Decimal rate = Decimal::from_units(rows->int64(i, 1));
        taxable += rows->int64(i, 2);
        tax += rows->int64(i, 3);
        by.begin_object();
        if (rows->is_null(i, 0)) by.field("label", rate.to_string() + "%");
        else by.field("label", rows->text(i, 0));
        by.key("rate").number_text(rate.to_string());
        by.key("taxable_amount").number_text(money_text(rows->int64(i, 2), cur));
        by.key("tax_amount").number_text(money_text(rows->int64(i, 3), cur));
        by.end_object();
    }
    by.end_array();
    json::Writer w;
    w.begin_object();
    w.field("period_start", start->text());
    w.field("period_end", end->text());
    w.key("total_taxable").number_text(money_text(taxable, cur));
    w.key("total_tax").number_text(money_text(tax, cur));
    // What the invoices total: taxable + tax − the invoice-level discounts (applied after tax).
    w.key("total").number_text(money_text(taxable + tax - discounts->int64(0, 0), cur));
    w.field("currency", cur.code);
    w.key("by_rate").raw(std::move(by).str());
    w.end_object();
    co_return std::move(w).str();
}

Result<std::string> validate(const json::Value& body) {
    if (!body.is_object()) return Error::validation("body", "must be a JSON object");
    Input in(body);
    auto id = in.text("tax_id", true, 50);
    auto country = in.text("country", false, 2);
    if (country && *country != "US" && *country != "us") {
        in.add_error("country", "only US tax ids (EIN) can be validated");
    }
    if (!in.ok()) return in.error();
    std::string digits;
    bool clean = true;
    for (std::size_t i = 0; i < id->size(); ++i) {
        char c = (*id)[i];
        if (c >= '0' && c <= '9') digits.push_back(c);
        else if (!(c == '-' && i == 2)) clean = false;
    }
    bool valid = clean && digits.size() == 9;
    json::Writer w;
    w.begin_object();
    w.field("valid", valid);
    if (valid) w.field("normalized", digits.substr(0, 2) + "-" + digits.substr(2));
    else w.key("normalized").null();
    w.end_object();
    return std::move(w).str();
}

}  // namespace flashbill::domain::taxes
