#include "domain/common/org.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace flashbill::domain {

namespace {

constexpr std::string_view kLoad =
    "SELECT coalesce(s.currency, 'USD'), o.time_zone, (now() AT TIME ZONE o.time_zone)::date::text, "
    "coalesce(s.number_prefix, 'INV-'), coalesce(s.default_payment_terms, 30), s.terms, s.notes "
    "FROM organizations o LEFT JOIN org_settings s ON s.org_id = o.id WHERE o.id = $1";

Result<OrgDefaults> from_rows(const db::Rows& rows) {
    if (rows.empty()) return Error::not_found("organization not found");
    OrgDefaults d;
    d.currency = stored_currency(rows.text(0, 0));
    d.time_zone = std::string(rows.text(0, 1));
    d.today = std::string(rows.text(0, 2));
    d.number_prefix = std::string(rows.text(0, 3));
    d.default_payment_terms = static_cast<int>(rows.int64(0, 4));
    d.terms = rows.opt_text(0, 5);
    d.notes = rows.opt_text(0, 6);
    return d;
}

}  // namespace

Currency stored_currency(std::string_view code) {
    auto c = find_currency(code);
    return c ? *c : kUsd;
}

boost::asio::awaitable<Result<OrgDefaults>> load_org_defaults(std::string org_id) {
    auto rows = co_await db::Pool::current().query(kLoad, db::Params(org_id));
    if (!rows) co_return rows.error();
    co_return from_rows(*rows);
}

boost::asio::awaitable<Result<OrgDefaults>> load_org_defaults(db::Transaction& tx, std::string org_id) {
    auto rows = co_await tx.query(kLoad, db::Params(org_id));
    if (!rows) co_return rows.error();
    co_return from_rows(*rows);
}

}  // namespace flashbill::domain
