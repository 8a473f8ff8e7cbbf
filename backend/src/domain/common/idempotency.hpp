#pragma once
// Idempotency-Key on POST (API.md §1), stored in PostgreSQL so every node sees it. Same key + same
// request within 24 h replays the stored status and body; the same key with a different request,
// or while the first is still running, is 409; a key over 255 characters is VALIDATION_ERROR.
// Keys are scoped per org (the caller's principal) or, on public routes, per client IP.

#include "http/context.hpp"

namespace flashbill::domain {

// Wraps a POST handler (inside auth::guard, so the principal is known). Answers of 5xx are not
// stored, so the client may retry them; a claim left by a crashed node expires after 5 minutes.
http::Handler idempotent(http::Handler inner);

}  // namespace flashbill::domain
