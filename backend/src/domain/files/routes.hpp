#pragma once
#include <cstddef>
#include <string>

#include "domain/files/multipart.hpp"
#include "http/router.hpp"

namespace flashbill::domain::files {
// Registers /api/v1/files routes with bytes stored under `upload_dir`; uploads accept files up to
// `max_upload_bytes` (413 above).
void add_routes(http::Router& router, std::string upload_dir, std::size_t max_upload_bytes);

// The multipart file part named `field` of an upload request (415, 400, 413 or VALIDATION_ERROR).
Result<Part> read_upload(const http::RequestContext& ctx, std::string_view field, std::size_t max_upload_bytes);

// A download answer: the bytes with their type, Content-Disposition: attachment and ETag = sha256.
http::Response file_answer(std::string bytes, std::string_view content_type, std::string_view file_name,
                           std::string_view sha256);
}  // namespace flashbill::domain::files
