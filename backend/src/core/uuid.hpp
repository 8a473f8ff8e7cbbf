#pragma once
// Identifier helpers: UUID syntax checks for path ids and fast request ids.

#include <string>
#include <string_view>

namespace flashbill {

// True for the canonical 8-4-4-4-12 hex form (any case). A malformed id in a path is 404.
bool is_uuid(std::string_view s);

// A random 128-bit identifier in UUID v4 form, from a per-thread generator seeded by the OS.
// Unpredictable enough for request ids and log correlation; never use it for secrets.
std::string new_request_id();

// A cryptographically secure random UUID v4 (OpenSSL RAND_bytes).
std::string new_uuid();

}  // namespace flashbill
