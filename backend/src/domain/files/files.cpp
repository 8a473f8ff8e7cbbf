// Files: repository (org-scoped SQL) and the upload rules of API.md §7.

#include "domain/files/files.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "auth/crypto.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"
#include "domain/files/sniff.hpp"
#include "domain/files/storage.hpp"

namespace flashbill::domain::files {

namespace {

constexpr std::string_view kInsert =
    "INSERT INTO files (id, org_id, file_name, size, content_type, sha256) VALUES ($1, $2, $3, $4, $5, $6)";
constexpr std::string_view kGet =
    "SELECT id, file_name, size, content_type, sha256, rfc3339(created_at), created_at::text FROM files "
    "WHERE org_id = $1 AND id = $2";
constexpr std::string_view kList =
    "SELECT id, file_name, size, content_type, sha256, rfc3339(created_at), created_at::text FROM files "
    "WHERE org_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid)) "
    "ORDER BY created_at DESC, id DESC LIMIT $4";
constexpr std::string_view kCount = "SELECT count(*) FROM files WHERE org_id = $1";
constexpr std::string_view kDelete = "DELETE FROM files WHERE org_id = $1 AND id = $2 RETURNING id";

void write_file(json::Writer& w, const db::Rows& r, int i) {
    w.begin_object();
    w.field("id", r.text(i, 0));
    w.field("file_name", r.text(i, 1));
    w.field("size", r.int64(i, 2));
    w.field("content_type", r.text(i, 3));
    w.field("sha256", r.text(i, 4));
    w.field("created_at", r.text(i, 5));
    w.end_object();
}

Error unsupported_type() {
    return Error{ErrorCode::kUnsupportedMediaType, "the file must be a JPEG, PNG, HEIC or PDF document", {}};
}

}  // namespace

boost::asio::awaitable<Result<StoredFile>> store_bytes(std::string org_id, Part part) {
    auto type = sniff(part.data);
    if (!type) co_return unsupported_type();
    StoredFile f;
    f.id = new_uuid();
    f.content_type = std::string(type->content_type);
    f.size = static_cast<std::int64_t>(part.data.size());
    f.sha256 = auth::sha256_hex(part.data);
    f.file_name = part.filename ? *part.filename : std::string();
    if (f.file_name.empty()) f.file_name = "upload" + std::string(type->extension);
    auto written = co_await write_bytes(org_id, f.id, part.data);
    if (!written) co_return written.error();
    co_return f;
}

boost::asio::awaitable<Result<void>> insert_row(db::Transaction& tx, std::string org_id, StoredFile f) {
    auto r = co_await tx.query(kInsert, db::Params(f.id, org_id, f.file_name, f.size, f.content_type, f.sha256));
    if (!r) co_return r.error();
    co_return Result<void>{};
}

boost::asio::awaitable<Result<std::string>> upload(std::string org_id, Part part) {
    auto stored = co_await store_bytes(org_id, part);
    if (!stored) co_return stored.error();
    db::Pool& pool = db::Pool::current();
    auto inserted = co_await pool.query(
        kInsert, db::Params(stored->id, org_id, stored->file_name, stored->size, stored->content_type, stored->sha256));
    if (!inserted) {
        co_await remove_bytes(org_id, stored->id);
        co_return inserted.error();
    }
    auto rows = co_await pool.query(kGet, db::Params(org_id, stored->id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("file not found");
    json::Writer w;
    write_file(w, *rows, 0);
    co_return std::move(w).str();
}

boost::asio::awaitable<Result<ListResult>> list(std::string org_id, Page page) {
    std::vector<db::Statement> statements;
    statements.push_back({kList, db::Params(org_id, page.after_created_at, page.after_id, page.limit + 1)});
    statements.push_back({kCount, db::Params(org_id)});
    auto results = co_await db::Pool::current().batch(std::move(statements));
    if (!results) co_return results.error();
    const db::Rows& rows = (*results)[0];
    ListResult out;
    out.total = (*results)[1].int64(0, 0);
    json::Writer w;
    w.begin_array();
    int n = std::min(rows.size(), page.limit);
    for (int i = 0; i < n; ++i) write_file(w, rows, i);
    w.end_array();
    if (rows.size() > page.limit) out.next_cursor = encode_cursor(rows.text(n - 1, 6), rows.text(n - 1, 0));
    out.json = std::move(w).str();
    co_return out;
}

boost::asio::awaitable<Result<Download>> download(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(kGet, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("file not found");
    Download d;
    d.file_name = std::string(rows->text(0, 1));
    d.content_type = std::string(rows->text(0, 3));
    d.sha256 = std::string(rows->text(0, 4));
    auto bytes = co_await read_bytes(org_id, id);
    if (!bytes) co_return bytes.error();
    d.bytes = std::move(*bytes);
    co_return d;
}

boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id) {
    auto rows = co_await db::Pool::current().query(kDelete, db::Params(org_id, id));
    if (!rows) co_return rows.error();
    if (rows->empty()) co_return Error::not_found("file not found");
    // After the row's commit: a crash here leaves unreferenced bytes, never a row without bytes.
    co_await remove_bytes(org_id, id);
    co_return Result<void>{};
}

std::string attachment_disposition(std::string_view file_name) {
    std::string ascii;
    std::string encoded;
    bool plain = true;
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (unsigned char c : file_name) {
        bool safe = c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '/' && c != ';' && c != '%';
        ascii.push_back(safe ? static_cast<char>(c) : '_');
        plain = plain && safe;
        // RFC 5987 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"
        bool attr = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
        if (attr) {
            encoded.push_back(static_cast<char>(c));
        } else {
            encoded.push_back('%');
            encoded.push_back(kHex[c >> 4]);
            encoded.push_back(kHex[c & 15]);
        }
    }
    if (ascii.empty()) ascii = "download";
    std::string out = "attachment; filename=\"" + ascii + "\"";
    if (!plain) out += "; filename*=UTF-8''" + encoded;
    return out;
}

}  // namespace flashbill::domain::files
