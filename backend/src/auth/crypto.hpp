#pragma once
// Small cryptographic building blocks for auth: random secrets, SHA-256 digests of secrets,
// HMAC-SHA256, base64url (RFC 4648 §5, no padding) and constant-time comparison. OpenSSL only.

#include <optional>
#include <string>
#include <string_view>

namespace flashbill::auth {

// `bytes` random bytes from the OS CSPRNG, base64url-encoded (32 bytes -> 43 characters).
std::string random_token(std::size_t bytes = 32);
// Lower-case hex SHA-256 of s: how refresh tokens, one-time tokens and API keys are stored.
std::string sha256_hex(std::string_view s);
// Raw 32-byte HMAC-SHA256 of data under key.
std::string hmac_sha256(std::string_view key, std::string_view data);

std::string base64url_encode(std::string_view bytes);
// Strict decoding: only the base64url alphabet, no padding, no trailing bits; nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

// Compares without a data-dependent early exit (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace flashbill::auth
