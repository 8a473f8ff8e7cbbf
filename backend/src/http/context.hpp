#pragma once
// What a handler sees of a request and what it returns. Transport-free: no Beast types here, so
// domain code never includes Beast (DESIGN.md).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"

namespace flashbill::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view method_name(Method m);

struct Header {
    std::string name;
    std::string value;
};

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<Header> headers;

    Response& header(std::string name, std::string value) {
        headers.push_back(Header{std::move(name), std::move(value)});
        return *this;
    }
};

// Who is calling, set by the authentication layer (auth::guard) before a protected handler runs.
// Plain strings so the HTTP layer does not depend on auth; role is "owner", "admin" or "member".
struct Principal {
    std::string user_id;
    std::string org_id;
    std::string role;
    std::string api_key_id;  // set when the caller used an API key instead of a session token
};

namespace detail {
struct RawRequest;  // the transport's request, defined by the session
}

class RequestContext {
public:
    RequestContext(const detail::RawRequest& raw, Method method, std::string_view path, std::string_view query,
                   std::string request_id, std::string remote_address, bool peer_is_loopback)
        : raw_(raw),
          method_(method),
          path_(path),
          query_(query),
          request_id_(std::move(request_id)),
          remote_address_(std::move(remote_address)),
          peer_is_loopback_(peer_is_loopback) {}

    Method method() const { return method_; }
    std::string_view path() const { return path_; }
    std::string_view raw_query() const { return query_; }
    // A request header's value, or empty when absent.
    std::string_view header(std::string_view name) const;
    const std::string& body() const;
    const std::string& request_id() const { return request_id_; }
    // Client address (from X-Forwarded-For when TRUST_PROXY is on).
    const std::string& remote_address() const { return remote_address_; }
    // True when the TCP peer is loopback and no proxy forwarded the request.
    bool direct_loopback() const { return peer_is_loopback_; }

    // Path parameter captured by the route pattern ("{id}"); empty when absent.
    std::string_view path_param(std::string_view name) const;
    // Percent-decoded query parameter; nullopt when absent.
    std::optional<std::string> query_param(std::string_view name) const;

    // The body as JSON: 415 for a non-JSON content type, 400 for an empty or unparseable body.
    Result<json::Value> json_body() const;

    // Builds the API.md error body for this request.
    Response error(const Error& e) const;
    // A JSON response with the given status.
    static Response json(int status, std::string body);

    std::vector<std::pair<std::string_view, std::string_view>>& params() { return params_; }
    std::chrono::steady_clock::time_point start_time() const { return start_; }

    // The authenticated caller; nullptr on unauthenticated routes.
    const Principal* principal() const { return principal_ ? &*principal_ : nullptr; }
    void set_principal(Principal p) { principal_ = std::move(p); }

private:
    const detail::RawRequest& raw_;
    Method method_;
    std::string_view path_;
    std::string_view query_;
    std::string request_id_;
    std::string remote_address_;
    bool peer_is_loopback_;
    std::vector<std::pair<std::string_view, std::string_view>> params_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::optional<Principal> principal_;
};

// Serialises an error in the API.md shape with the current UTC timestamp.
std::string error_body(const Error& e, std::string_view request_id);

// RFC 3339 UTC timestamp with second precision, e.g. 2026-11-24T10:11:12Z.
std::string utc_timestamp_now();
// The same for the current second, formatted once per second per thread.
std::string_view utc_timestamp_cached();

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

}  // namespace flashbill::http
