#pragma once
// The bytes of uploaded files on disk: UPLOAD_DIR/<org_id>/<file id>, named by ids only (never by a
// client's file name). Writes go to a temporary name in the same directory, are fsync'd, then
// renamed, so a crash leaves either the whole file or none under its final name. Disk work runs on
// a small thread pool, off the event loops.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flashbill::domain::files {

// Set once at startup (domain::add_routes), before any request.
void set_upload_dir(std::string dir);

// Writes `bytes` as the file `file_id` of `org_id` (ids are UUIDs, checked by the caller). `bytes`
// must stay alive until the write completes (it is the awaiting request's body).
boost::asio::awaitable<Result<void>> write_bytes(std::string org_id, std::string file_id, std::string_view bytes);

// The whole file (uploads are at most MAX_UPLOAD_BYTES); NOT_FOUND when the bytes are gone.
boost::asio::awaitable<Result<std::string>> read_bytes(std::string org_id, std::string file_id);

// Removes the file's bytes; a missing file is not an error (the goal is that it is gone).
boost::asio::awaitable<void> remove_bytes(std::string org_id, std::string file_id);

}  // namespace flashbill::domain::files
