#include "domain/settings/settings.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "db/pool.hpp"
#include "domain/common/input.hpp"

namespace flashbill::domain::settings {

namespace {

constexpr std::string_view kEnsure = "INSERT INTO org_settings (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING";

// Notification preferences and their defaults: every email on, push on, reminders off.
constexpr std::string_view kNotificationDefaults =
    R"({"email_payment_received":true,"email_invoice_paid":true,"email_payment_reminder":true,)"
    R"("push_payment_received":true,"push_overdue":true,)"
    R"("auto_reminders":{"enabled":false,"days_before_due":[],"days_after_due":[]}})";

boost::asio::awaitable<Result<db::Rows>> read(std::string org_id) {
    auto rows = co_await db::Pool::current().query(
        "SELECT s.company_name, s.business_type, s.email, s.phone, s.address::text, s.tax_id, s.logo_file_id, "
        "o.time_zone, coalesce(s.currency, 'USD'), coalesce(s.number_prefix, 'INV-'), coalesce(s.template, "
        "'classic'), s.terms, s.notes, coalesce(s.default_payment_terms, 30), "
        "($2::jsonb || coalesce(s.notifications, '{}'::jsonb))::text "
        "FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = $1",
        db::Params(org_id, std::string(kNotificationDefaults)));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("organization not found");
    co_return rows;
}

std::string business_json(const db::Rows& r) {
    json::Writer w;
    w.begin_object();
    w.opt_field("company_name", r.opt_text(0, 0));
    w.opt_field("business_type", r.opt_text(0, 1));
    w.opt_field("email", r.opt_text(0, 2));
    w.opt_field("phone", r.opt_text(0, 3));
    w.key("address");
    if (r.is_null(0, 4)) w.null();
    else w.raw(r.text(0, 4));
    w.opt_field("tax_id", r.opt_text(0, 5));
    w.opt_field("logo_file_id", r.opt_text(0, 6));
    w.field("timezone", r.text(0, 7));
    w.field("currency", r.text(0, 8));
    w.end_object();
    return std::move(w).str();
}

std::string invoice_json(const db::Rows& r) {
    json::Writer w;
    w.begin_object();
    w.field("number_prefix", r.text(0, 9));
    w.field("template", r.text(0, 10));
    w.opt_field("terms", r.opt_text(0, 11));
    w.opt_field("notes", r.opt_text(0, 12));
    w.field("default_payment_terms", r.int64(0, 13));
    w.field("currency", r.text(0, 8));
    w.end_object();
    return std::move(w).str();
}

// The org currency, validated: an ISO 4217 code.
std::optional<std::string> currency_field(Input& in) {
    if (!in.has("currency")) return std::nullopt;
    auto c = in.currency("currency", true);
    return c ? std::optional<std::string>(std::string(c->code)) : std::nullopt;
}

}  // namespace

boost::asio::awaitable<Result<std::string>> get_business(std::string org_id) {
    auto r = co_await read(org_id);
    if (!r) co_return r.error();
    co_return business_json(*r);
}

boost::asio::awaitable<Result<std::string>> put_business(std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    auto company = in.text_patch("company_name", 200);
    auto type = in.text_patch("business_type", 100);
    auto email = in.text_patch("email", 254);
    if (email.is_set() && !email.value->empty() && !in.email("email", false)) email.present = false;
    auto phone = in.text_patch("phone", 50);
    auto tax_id = in.text_patch("tax_id", 50);
    Patch<std::string> address, logo;
    if (in.has("address")) {
        address.present = true;
        if (const json::Value* a = in.object("address", false)) {
            Input addr = in.nested(*a, "address");
            json::Writer w;
            w.begin_object();
            for (std::string_view k : {"street", "city", "state", "zip_code", "country"}) {
                if (auto v = addr.text(k, false, 200)) w.field(k, *v);
            }
            w.end_object();
            address.value = std::move(w).str();
        } else if (!in.raw("address")->is_null()) {
            address.present = false;
        }
    }
    if (in.has("logo_file_id")) {
        logo.present = true;
        if (!in.raw("logo_file_id")->is_null()) {
            logo.value = in.uuid("logo_file_id", false);
            if (!logo.value) logo.present = false;
        }
    }
    std::optional<std::string> tz;
    if (in.has("timezone")) tz = in.text("timezone", true, 64);
    auto currency = currency_field(in);
    if (!in.ok()) co_return in.error();
    auto tx = co_await db::Pool::current().begin();
    if (!tx) co_return tx.error();
    if (tz) {
        auto known = co_await tx->query("SELECT 1 FROM pg_timezone_names WHERE name = $1", db::Params(*tz));
        if (!known) co_return known.error();
        if (known->empty()) co_return Error::validation("timezone", "must be an IANA time zone such as Europe/Berlin");
    }
    if (logo.is_set()) {
        auto file = co_await tx->query("SELECT 1 FROM files WHERE org_id = $1 AND id = $2",
                                       db::Params(org_id, *logo.value));
        if (!file) co_return file.error();
        if (file->empty()) co_return Error::validation("logo_file_id", "no such file in this organization");
    }
    std::vector<db::Statement> statements;
    statements.push_back({kEnsure, db::Params(org_id)});
    statements.push_back(
        {"UPDATE org_settings SET "
         "company_name = CASE WHEN $2 THEN $3 ELSE company_name END, "
         "business_type = CASE WHEN $4 THEN $5 ELSE business_type END, "
         "email = CASE WHEN $6 THEN $7 ELSE email END, phone = CASE WHEN $8 THEN $9 ELSE phone END, "
         "tax_id = CASE WHEN $10 THEN $11 ELSE tax_id END, "
         "address = CASE WHEN $12 THEN $13::jsonb ELSE address END, "
         "logo_file_id = CASE WHEN $14 THEN $15::uuid ELSE logo_file_id END, "
         "currency = coalesce($16, currency) WHERE org_id = $1",
         db::Params(org_id, company.present, company.value, type.present, type.value, email.present,
                    email.is_set() && email.value->empty() ? std::nullopt : email.value, phone.present, phone.value,
                    tax_id.present, tax_id.value, address.present, address.value, logo.present, logo.value,
                    currency)});
    statements.push_back({"UPDATE organizations SET time_zone = coalesce($2, time_zone) WHERE id = $1",
                          db::Params(org_id, tz)});
    auto written = co_await tx->batch(std::move(statements));
    if (!written) co_return written.error();
    auto committed = co_await tx->commit();
    if (!committed) co_return committed.error();
    co_return co_await get_business(org_id);
}

boost::asio::awaitable<Result<std::string>> get_notifications(std::string org_id) {
    auto r = co_await read(org_id);
    if (!r) co_return r.error();
    co_return std::string(r->text(0, 14));
}

boost::asio::awaitable<Result<std::string>> put_notifications(std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    json::Writer w;
    w.begin_object();
    for (std::string_view k : {"email_payment_received", "email_invoice_paid", "email_payment_reminder",
                               "push_payment_received", "push_overdue"}) {
        if (auto b = in.boolean(k, false)) w.field(k, *b);
    }
    if (const json::Value* ar = in.object("auto_reminders", false)) {
        Input a = in.nested(*ar, "auto_reminders");
        w.key("auto_reminders").begin_object();
        w.field("enabled", a.boolean("enabled", false).value_or(false));
        for (std::string_view k : {"days_before_due", "days_after_due"}) {
            w.key(k).begin_array();
            if (const json::Array* days = a.array(k, false, 0, 10)) {
                for (std::size_t i = 0; i < days->size(); ++i) {
                    auto d = (*days)[i].is_number() ? (*days)[i].as_exact_int64() : std::nullopt;
                    if (!d || *d < 0 || *d > 365) {
                        a.add_error(std::string(k) + "[" + std::to_string(i) + "]", "must be a whole number of days (0–365)");
                    } else {
                        w.number(*d);
                    }
                }
            }
            w.end_array();
        }
        w.end_object();
    }
    w.end_object();
    if (!in.ok()) co_return in.error();
    std::vector<db::Statement> statements;
    statements.push_back({kEnsure, db::Params(org_id)});
    statements.push_back({"UPDATE org_settings SET notifications = notifications || $2::jsonb WHERE org_id = $1",
                          db::Params(org_id, std::move(w).str())});
    auto written = co_await db::Pool::current().batch(std::move(statements));
    if (!written) co_return written.error();
    co_return co_await get_notifications(org_id);
}

boost::asio::awaitable<Result<std::string>> get_invoice(std::string org_id) {
    auto r = co_await read(org_id);
    if (!r) co_return r.error();
    co_return invoice_json(*r);
}

boost::asio::awaitable<Result<std::string>> put_invoice(std::string org_id, json::Value body) {
    if (!body.is_object()) co_return Error::validation("body", "must be a JSON object");
    Input in(body);
    std::optional<std::string> prefix, tmpl;
    if (in.has("number_prefix")) {
        prefix = in.text("number_prefix", false, 20);
        if (!prefix && in.raw("number_prefix")->is_string()) prefix = "";
        if (prefix && prefix->find_first_of(" \t/\\") != std::string::npos) {
            in.add_error("number_prefix", "must not contain spaces or slashes");
        }
    }
    if (in.has("template")) tmpl = in.text("template", true, 50);
    auto terms = in.text_patch("terms", 5000);
    auto notes = in.text_patch("notes", 5000);
    auto days = in.integer("default_payment_terms", false, 0, 3650);
    auto currency = currency_field(in);
    if (!in.ok()) co_return in.error();
    std::vector<db::Statement> statements;
    statements.push_back({kEnsure, db::Params(org_id)});
    statements.push_back(
        {"UPDATE org_settings SET number_prefix = coalesce($2, number_prefix), template = coalesce($3, template), "
         "terms = CASE WHEN $4 THEN $5 ELSE terms END, notes = CASE WHEN $6 THEN $7 ELSE notes END, "
         "default_payment_terms = coalesce($8::int, default_payment_terms), currency = coalesce($9, currency) "
         "WHERE org_id = $1",
         db::Params(org_id, prefix, tmpl, terms.present, terms.value, notes.present, notes.value, days, currency)});
    auto written = co_await db::Pool::current().batch(std::move(statements));
    if (!written) co_return written.error();
    co_return co_await get_invoice(org_id);
}

}  // namespace flashbill::domain::settings
