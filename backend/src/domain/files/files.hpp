#pragma once
// Files (API.md §7): uploads owned by the org — metadata in PostgreSQL (`files`), bytes on disk
// (storage.hpp). Expenses attach their receipts through the same functions.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "db/pool.hpp"
#include "domain/common/list.hpp"
#include "domain/files/multipart.hpp"

namespace flashbill::domain::files {

// An accepted upload whose bytes are on disk but whose row may not exist yet.
struct StoredFile {
    std::string id;
    std::string file_name;
    std::string content_type;  // sniffed
    std::string sha256;        // lower-case hex of the bytes
    std::int64_t size = 0;
};

// Sniffs the part's bytes (415 unless JPEG, PNG, HEIC or PDF) and writes them under a new id.
boost::asio::awaitable<Result<StoredFile>> store_bytes(std::string org_id, Part part);
// Inserts the row for stored bytes inside the caller's transaction.
boost::asio::awaitable<Result<void>> insert_row(db::Transaction& tx, std::string org_id, StoredFile f);

// POST /files/upload: bytes, then the row; a failed insert removes the bytes. Returns the file JSON.
boost::asio::awaitable<Result<std::string>> upload(std::string org_id, Part part);

struct ListResult {
    std::string json;
    std::int64_t total = 0;
    std::optional<std::string> next_cursor;
};
boost::asio::awaitable<Result<ListResult>> list(std::string org_id, Page page);

struct Download {
    std::string file_name;
    std::string content_type;
    std::string sha256;
    std::string bytes;
};
boost::asio::awaitable<Result<Download>> download(std::string org_id, std::string id);

// Deletes the row (expenses pointing at it lose their receipt: ON DELETE SET NULL), then the bytes.
boost::asio::awaitable<Result<void>> remove(std::string org_id, std::string id);

// `Content-Disposition: attachment` for a stored name: an ASCII fallback with anything that could
// break the header replaced, plus the exact name as RFC 5987 `filename*`.
std::string attachment_disposition(std::string_view file_name);

}  // namespace flashbill::domain::files
