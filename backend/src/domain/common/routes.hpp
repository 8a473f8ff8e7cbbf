#pragma once
// Route plumbing shared by the feature routes: authentication and role (auth::guard), the
// Idempotency-Key wrapper on every POST, ids from the path, and JSON answers.

#include <optional>
#include <string>

#include "auth/guard.hpp"
#include "http/router.hpp"
#include "redis/cache.hpp"

namespace flashbill::domain {

inline constexpr std::string_view kApi = "/api/v1";

// The per-org cache of computed views (reports). Every successful write through add_route
// invalidates the writer's org, here and on every node sharing Redis.
redis::Cache& org_cache();

// Registers `handler` at kApi + path for callers of at least `role`; POSTs are idempotent, and a
// successful POST, PUT or DELETE invalidates the org's cache.
void add_route(http::Router& router, http::Method method, std::string_view path, auth::Role role,
               http::Handler handler, http::RouteOptions options = {});

// The `{name}` path parameter as a lower-case UUID; nullopt when malformed (the caller answers 404).
std::optional<std::string> path_id(const http::RequestContext& ctx, std::string_view name = "id");

// The caller's org (set by guard).
const std::string& org_of(const http::RequestContext& ctx);

// A JSON answer, or the API error for `e`.
http::Response json_answer(int status, std::string body);

// The JSON body of `r` with `status`, or the API error it carries.
http::Response json_result(const http::RequestContext& ctx, Result<std::string> r, int status = 200);

// Parses the body as a JSON object: BAD_REQUEST/415 for unparseable bodies (from ctx.json_body()),
// VALIDATION_ERROR when it is JSON but not an object.
Result<json::Value> object_body(const http::RequestContext& ctx);

}  // namespace flashbill::domain
