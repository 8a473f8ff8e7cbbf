#include "domain/common/idempotency.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "auth/crypto.hpp"
#include "db/pool.hpp"
#include "spdlog/spdlog.h"

namespace flashbill::domain {

namespace {


constexpr std::string_view kClaim =
    "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = NULL, "
    "response_body = NULL, created_at = now() "
    "WHERE idempotency_keys.created_at < now() - interval '24 hours' "
    "OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < now() - interval '5 minutes') "
    "RETURNING 1";
constexpr std::string_view kLoad =
    "SELECT request_hash, status, response_body FROM idempotency_keys WHERE scope = $1 AND key = $2";
constexpr std::string_view kStore =
    "UPDATE idempotency_keys SET status = $3, response_body = $4 WHERE scope = $1 AND key = $2";
constexpr std::string_view kRelease = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2";

}  // namespace

http::Handler idempotent(http::Handler inner) {
    return [inner = std::move(inner)](http::RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
        std::string_view key = ctx.header("Idempotency-Key");
        if (key.empty()) co_return co_await inner(ctx);
        if (key.size() > 255) {
            co_return ctx.error(Error::validation("Idempotency-Key", "must be at most 255 characters"));
        }
        const http::Principal* who = ctx.principal();
        std::string scope = who ? "org:" + who->org_id : "ip:" + ctx.remote_address();
        std::string request;
        request.append(http::method_name(ctx.method())).append("\n").append(ctx.path()).append("\n").append(ctx.body());
        std::string hash = auth::sha256_hex(request);
        db::Pool& pool = db::Pool::current();
        std::string key_text(key);

        auto claimed = co_await pool.query(kClaim, db::Params(scope, key_text, hash));
        if (!claimed) co_return ctx.error(claimed.error());
        if (claimed->empty()) {
            auto row = co_await pool.query(kLoad, db::Params(scope, key_text));
            if (!row) co_return ctx.error(row.error());
            if (row->empty()) {
                // Expired and removed between the two statements: ask for a retry rather than guess.
                co_return ctx.error(Error::conflict("this Idempotency-Key is being reset; retry the request"));
            }
            if (row->text(0, 0) != hash) {
                co_return ctx.error(
                    Error::conflict("this Idempotency-Key was already used with a different request"));
            }
            if (row->is_null(0, 1)) {
                co_return ctx.error(
                    Error::conflict("a request with this Idempotency-Key is still being processed"));
            }
            http::Response replay;
            replay.status = static_cast<int>(row->int64(0, 1));
            replay.body = std::string(row->text(0, 2));
            replay.header("Idempotent-Replayed", "true");
            co_return replay;
        }

        std::exception_ptr failure;
        http::Response res;
        try {
            res = co_await inner(ctx);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure || res.status >= 500) {
            // Not stored: the client may retry the request with the same key.
            auto released = co_await pool.query(kRelease, db::Params(scope, key_text));
            if (!released) spdlog::warn("idempotency: could not release key: {}", released.error().message);
            if (failure) std::rethrow_exception(failure);
            co_return res;
        }
        auto stored = co_await pool.query(kStore, db::Params(scope, key_text, static_cast<std::int64_t>(res.status),
                                                              res.body));
        if (!stored) {
            // The write itself happened; only a replay of it is lost (the claim expires in 5 min).
            spdlog::warn("request {}: could not store the Idempotency-Key response: {}", ctx.request_id(),
                         stored.error().message);
        }
        co_return res;
    };
}

}  // namespace flashbill::domain
