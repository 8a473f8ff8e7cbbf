#include "jobs/queue.hpp"

namespace flashbill::jobs {

namespace {

constexpr std::string_view kInsert =
    "INSERT INTO jobs (kind, payload, org_id, run_at, max_attempts) "
    "VALUES ($1, $2::jsonb, $3::uuid, now() + make_interval(secs => $4::int), $5) RETURNING id";

db::Params params(const NewJob& j) {
    return db::Params(j.kind, j.payload_json.empty() ? std::string("{}") : j.payload_json, j.org_id,
                      static_cast<std::int64_t>(j.delay.count()), j.max_attempts);
}

}  // namespace

boost::asio::awaitable<Result<std::string>> enqueue(db::Transaction& tx, NewJob job) {
    auto r = co_await tx.query(kInsert, params(job));
    if (!r) co_return std::move(r).error();
    co_return std::string(r->text(0, 0));
}

boost::asio::awaitable<Result<std::string>> enqueue(db::Pool& pool, NewJob job) {
    auto r = co_await pool.query(kInsert, params(job));
    if (!r) co_return std::move(r).error();
    co_return std::string(r->text(0, 0));
}

}  // namespace flashbill::jobs
