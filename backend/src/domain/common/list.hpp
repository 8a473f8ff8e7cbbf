#pragma once
// Lists (API.md §1): `limit` (default 50, clamped to 200, below 1 is VALIDATION_ERROR) and an
// opaque `cursor`; the next page's URL goes in `Link: <…>; rel="next"`, the total in
// `X-Total-Count`. Ordering is stable: created_at desc, id desc — the cursor carries the last
// row's (created_at, id), so a page never repeats or skips rows however the list grows.

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "http/context.hpp"

namespace flashbill::domain {

struct Page {
    int limit = 50;
    // Keyset position: rows strictly after (created_at, id) in (created_at desc, id desc) order.
    std::optional<std::string> after_created_at;  // timestamptz text, microsecond precision
    std::optional<std::string> after_id;
};

// Reads `limit` and `cursor` from the query string.
Result<Page> read_page(const http::RequestContext& ctx);

// Encodes a cursor for the row (created_at text, id).
std::string encode_cursor(std::string_view created_at, std::string_view id);

// Adds X-Total-Count and, when `next_cursor` is set, the Link header to `res` (the request's
// own query with `cursor` replaced).
void add_list_headers(const http::RequestContext& ctx, http::Response& res, std::int64_t total,
                      const std::optional<std::string>& next_cursor);

}  // namespace flashbill::domain
