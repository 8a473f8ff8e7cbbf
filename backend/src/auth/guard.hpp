#pragma once
// The authentication layer's public face for domain routes: wrap a handler in guard() and it runs
// only for an authenticated caller of sufficient role, with ctx.principal() set.

#include "config/config.hpp"
#include "http/context.hpp"

namespace flashbill::auth {

enum class Role { kMember, kAdmin, kOwner };

// Installs the process-wide auth configuration (JWT secret, argon2 cost, hashing threads, rate
// rules, mail templates). Call once at startup, before serving; throws on an unusable setup.
void configure(const config::Config& config);

// Authenticates the request (Bearer access JWT or fbk_ API key), answers 401 JSON when it fails
// and 403 FORBIDDEN when the caller's role is below `minimum`, applies the per-user API rate
// limit (RATE_LIMIT_API, RateLimit-* headers), sets ctx.principal(), then runs `inner`.
http::Handler guard(Role minimum, http::Handler inner);

}  // namespace flashbill::auth
