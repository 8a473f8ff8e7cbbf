#include "domain/common/list.hpp"


#include "auth/crypto.hpp"
#include "core/uuid.hpp"
#include "domain/common/input.hpp"

namespace flashbill::domain {

namespace {

// A timestamptz as PostgreSQL prints it in ISO style ("2026-11-25 10:11:12.123456+00").
bool plausible_timestamp(std::string_view s) {
    if (s.size() < 19 || s.size() > 40) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == ' ' || c == '.' || c == '+' || c == 'T')) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string encode_cursor(std::string_view created_at, std::string_view id) {
    std::string raw(created_at);
    raw.push_back('|');
    raw.append(id);
    return auth::base64url_encode(raw);
}

Result<Page> read_page(const http::RequestContext& ctx) {
    Page page;
    if (auto limit = ctx.query_param("limit")) {
        std::int64_t n = 0;
        bool digits = !limit->empty() && limit->size() <= 9;
        for (char c : *limit) digits = digits && c >= '0' && c <= '9';
        if (digits) n = std::stoll(*limit);
        if (!digits && !limit->empty() && (*limit)[0] == '-') digits = false;
        if (!digits || n < 1) return Error::validation("limit", "must be an integer of at least 1");
        page.limit = static_cast<int>(std::min<std::int64_t>(n, 200));
    }
    if (auto cursor = ctx.query_param("cursor"); cursor && !cursor->empty()) {
        auto raw = auth::base64url_decode(*cursor);
        auto bar = raw ? raw->find('|') : std::string::npos;
        if (bar == std::string::npos || !plausible_timestamp(raw->substr(0, bar)) || !is_uuid(raw->substr(bar + 1))) {
            return Error::validation("cursor", "is not a cursor this API issued");
        }
        page.after_created_at = raw->substr(0, bar);
        page.after_id = raw->substr(bar + 1);
    }
    return page;
}

void add_list_headers(const http::RequestContext& ctx, http::Response& res, std::int64_t total,
                      const std::optional<std::string>& next_cursor) {
    res.header("X-Total-Count", std::to_string(total));
    if (!next_cursor) return;
    // The same query with cursor replaced; other parameters are kept as the client sent them.
    std::string query;
    std::string_view q = ctx.raw_query();
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (part.empty() || part.starts_with("cursor=") || part == "cursor") continue;
        query.append(part).push_back('&');
    }
    query += "cursor=" + *next_cursor;  // base64url needs no escaping
    res.header("Link", "<" + std::string(ctx.path()) + "?" + query + ">; rel=\"next\"");
}

}  // namespace flashbill::domain
