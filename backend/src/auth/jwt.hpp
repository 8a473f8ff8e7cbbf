#pragma once
// HS256 access tokens (RFC 7519, with the RFC 8725 hardening): the header must say alg HS256 and
// nothing else is ever accepted (no "none", no key-type confusion), the signature is checked in
// constant time before the payload is even parsed, and the payload must be an access token
// (typ "access") with exp in the future and nbf, when present, not in the future.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flashbill::auth {

struct AccessClaims {
    std::string sub;   // user id
    std::string org;   // organization id
    std::string role;  // owner | admin | member (informational: the guard uses the stored role)
    std::int64_t iat = 0;
    std::int64_t exp = 0;
    std::int64_t ver = 0;  // users.token_version when issued
};

inline constexpr std::chrono::seconds kAccessTokenTtl{15 * 60};

// Signs claims (typ "access" is always added).
std::string sign_access_token(const AccessClaims& claims, std::string_view secret);

// Verifies a token at time `now` (seconds since the epoch). Every failure is UNAUTHORIZED with a
// message fit for the client (it never says which check failed beyond the category).
Result<AccessClaims> verify_access_token(std::string_view token, std::string_view secret, std::int64_t now);

std::int64_t unix_now();

}  // namespace flashbill::auth
