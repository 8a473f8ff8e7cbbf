// One HTTP/1.1 connection: read a request within the limits, route it, run the handler, write the
// answer, repeat while keep-alive holds. Every failure the client can cause gets the API.md JSON
// error or a closed connection; exceptions from handlers become 500 with the request id logged.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/core/string.hpp>
#include <chrono>
#include <ctime>
#include <limits>

#include "core/log.hpp"
#include "core/uuid.hpp"
#include "http/raw_request.hpp"
#include "http/session.hpp"
#include "metrics/metrics.hpp"

namespace flashbill::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using BeastResponse = bhttp::response<bhttp::string_body>;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Method to_method(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get: return Method::kGet;
        case bhttp::verb::head: return Method::kHead;
        case bhttp::verb::post: return Method::kPost;
        case bhttp::verb::put: return Method::kPut;
        case bhttp::verb::patch: return Method::kPatch;
        case bhttp::verb::delete_: return Method::kDelete;
        case bhttp::verb::options: return Method::kOptions;
        default: return Method::kOther;
    }
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

bool is_loopback(const asio::ip::address& a) {
    if (a.is_loopback()) return true;
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
    return false;
}

// RFC 9110 Date header, formatted once per second per thread.
const std::string& http_date_now() {
    thread_local std::time_t cached_second = 0;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = buf;
    }
    return cached;
}

// Security headers for API responses; the web app's CSP is nginx's business (deploy/).
void add_security_headers(BeastResponse& res) {
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    res.set("Cross-Origin-Resource-Policy", "same-site");
    if (res.find(bhttp::field::cache_control) == res.end()) res.set(bhttp::field::cache_control, "no-store");
}

const std::string* allowed_origin(const ServerOptions& opt, std::string_view origin) {
    for (const auto& o : opt.cors_origins) {
        if (o == "*" || o == origin) return &o;
    }
    return nullptr;
}

void add_cors_headers(const ServerOptions& opt, std::string_view origin, BeastResponse& res) {
    if (origin.empty()) return;
    const std::string* allowed = allowed_origin(opt, origin);
    if (!allowed) return;
    res.set(bhttp::field::access_control_allow_origin, *allowed == "*" ? std::string_view("*") : origin);
    res.set(bhttp::field::vary, "Origin");
    res.set(bhttp::field::access_control_expose_headers,
            "X-Request-Id, Link, X-Total-Count, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
            "Content-Disposition, ETag");
}

struct Outcome {
    BeastResponse res;
    std::string_view route = "unmatched";
};

BeastResponse error_response(const Error& e, const std::string& request_id, unsigned version, int status_override = 0) {
    BeastResponse res{static_cast<bhttp::status>(status_override ? status_override : error_http_status(e.code)),
                      version};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = error_body(e, request_id);
    return res;
}

void log_access(const std::string& request_id, std::string_view method, std::string_view path, std::string_view route,
                int status, std::size_t bytes_in, std::size_t bytes_out, std::chrono::nanoseconds elapsed,
                std::string_view remote) {
    json::Writer w;
    w.begin_object();
    w.field("ts", utc_timestamp_now());
    w.field("level", "info");
    w.field("logger", "access");
    w.field("request_id", request_id);
    w.field("method", method);
    w.field("path", path);
    w.field("route", route);
    w.field("status", status);
    w.field("bytes_in", static_cast<std::int64_t>(bytes_in));
    w.field("bytes_out", static_cast<std::int64_t>(bytes_out));
    w.field("duration_us", static_cast<std::int64_t>(elapsed.count() / 1000));
    w.field("remote", remote);
    w.end_object();
    log::access_line(w.str());
}

// Writes a response and reports whether the connection may stay open.
asio::awaitable<bool> write_response(Server::Impl& srv, beast::tcp_stream& stream, BeastResponse& res, bool keep_alive,
                                     bool head) {
    res.keep_alive(keep_alive);
    res.set(bhttp::field::date, http_date_now());
    if (head) {
        auto n = res.body().size();
        res.body().clear();
        res.content_length(n);
    } else {
        res.prepare_payload();
    }
    stream.expires_after(srv.options.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple);
    co_return !ec && keep_alive;
}

}  // namespace

asio::awaitable<void> reject_connection(Server::Impl& srv, tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    std::string request_id = new_request_id();
    BeastResponse res =
        error_response(Error::unavailable("server is at its connection limit; retry shortly"), request_id, 11);
    res.set("Retry-After", "1");
    res.set("X-Request-Id", request_id);
    add_security_headers(res);
    co_await write_response(srv, stream, res, false, false);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> run_session(Server::Impl& srv, Loop& loop, tcp::socket sock) {
    const ServerOptions& opt = srv.options;
    beast::tcp_stream stream(std::move(sock));
    Connection conn;
    conn.stream = &stream;
    loop.connections.insert(&conn);
    srv.active_sessions.fetch_add(1);
    srv.open_connections.fetch_add(1, std::memory_order_relaxed);
    metrics::gauge_add("http_connections_open", {}, 1);
    struct Unregister {
        Server::Impl& srv;
        Loop& loop;
        Connection& conn;
        ~Unregister() {
            loop.connections.erase(&conn);
            srv.open_connections.fetch_sub(1, std::memory_order_relaxed);
            metrics::gauge_add("http_connections_open", {}, -1);
            srv.active_sessions.fetch_sub(1);
        }
    } unregister{srv, loop, conn};

    boost::system::error_code ep_ec;
    auto peer = stream.socket().remote_endpoint(ep_ec);
    const bool peer_loopback = !ep_ec && is_loopback(peer.address());
    const std::string peer_address = ep_ec ? std::string("unknown") : peer.address().to_string();

    beast::flat_buffer buffer(8192);
    try {
        for (;;) {
            // Wait for the first byte of the next request under the idle timeout; the whole header
            // must then arrive within the read timeout (defeats slow-loris clients).
            if (buffer.size() == 0) {
                if (srv.stopping && conn.served > 0) break;
                conn.idle = true;
                stream.expires_after(conn.served > 0 ? opt.idle_timeout : opt.read_timeout);
                auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kTuple);
                conn.idle = false;
                if (ec) break;
                buffer.commit(n);
            }
            auto start = std::chrono::steady_clock::now();
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
            // The body limit depends on the route, known only after the header: check the declared
            // length ourselves below and set the real limit before reading the body.
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            stream.expires_after(opt.read_timeout);
            auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
            std::string request_id = new_request_id();
            if (hec) {
                if (hec == bhttp::error::end_of_stream || hec == beast::error::timeout ||
                    hec == asio::error::operation_aborted || hec == asio::error::connection_reset ||
                    hec == asio::error::eof) {
                    break;
                }
                BeastResponse res;
                if (hec == bhttp::error::header_limit) {
                    res = error_response(Error::bad_request("request header fields too large"), request_id, 11, 431);
                } else {
                    res = error_response(Error::bad_request("malformed HTTP request: " + hec.message()), request_id, 11);
                }
                add_security_headers(res);
                res.set("X-Request-Id", request_id);
                metrics::inc("http_requests_total",
                             std::string("method=\"OTHER\",route=\"unmatched\",status=\"") +
                                 std::to_string(res.result_int()) + "\"");
                co_await write_response(srv, stream, res, false, false);
                break;
            }

            auto& req = parser.get();
            if (auto rid = req["X-Request-Id"]; valid_request_id(rid)) {
                request_id = std::string(rid);
            }
            const Method method = to_method(req.method());
            std::string_view target = req.target();
            auto qpos = target.find('?');
            std::string_view path = target.substr(0, qpos);
            std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
            std::string_view origin = req[bhttp::field::origin];
            std::string remote = peer_address;
            bool forwarded = req.find("X-Forwarded-For") != req.end() || req.find("X-Real-IP") != req.end();
            if (opt.trust_proxy && forwarded) {
                std::string_view xff = req["X-Forwarded-For"];
                auto comma = xff.rfind(',');
                std::string_view last = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
                while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
                if (!last.empty()) remote = std::string(last);
                else if (auto rip = req["X-Real-IP"]; !rip.empty()) remote = std::string(rip);
            }

            metrics::gauge_add("http_requests_in_flight", {}, 1);
            struct InFlight {
                ~InFlight() { metrics::gauge_add("http_requests_in_flight", {}, -1); }
            } in_flight;
            Outcome out;
            bool close_after = false;
            RouteMatch match = srv.router.match(method, path);
            if (match.route) out.route = match.route->pattern;

            // Body limit per route; refuse early when the declared length is already too big.
            std::size_t limit =
                match.route && match.route->options.body_limit ? match.route->options.body_limit : opt.max_body_bytes;
            bool body_ok = true;
            if (auto cl = parser.content_length(); cl && *cl > limit) {
                out.res = error_response(Error{ErrorCode::kPayloadTooLarge,
                                               "request body exceeds the limit of " + std::to_string(limit) + " bytes",
                                               {}},
                                         request_id, req.version());
                body_ok = false;
                close_after = true;
            } else if (!parser.is_done()) {
                parser.body_limit(limit);
                if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
                    // The client waits for our go-ahead before sending a (large) body.
                    BeastResponse cont{bhttp::status::continue_, req.version()};
                    stream.expires_after(opt.write_timeout);
                    auto [cec, cn] = co_await bhttp::async_write(stream, cont, kTuple);
                    if (cec) break;
                }
                stream.expires_after(opt.read_timeout);
                auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
                if (bec) {
                    body_ok = false;
                    close_after = true;
                    if (bec == bhttp::error::body_limit) {
                        out.res = error_response(
                            Error{ErrorCode::kPayloadTooLarge,
                                  "request body exceeds the limit of " + std::to_string(limit) + " bytes", {}},
                            request_id, req.version());
                    } else if (bec == beast::error::timeout || bec == asio::error::operation_aborted ||
                               bec == asio::error::eof || bec == bhttp::error::end_of_stream ||
                               bec == asio::error::connection_reset || bec == bhttp::error::partial_message) {
                        break;  // the client went away or stalled: nobody to answer
                    } else {
                        out.res = error_response(Error::bad_request("malformed request body: " + bec.message()),
                                                 request_id, req.version());
                    }
                }
            }

            if (body_ok) {
                if (method == Method::kOptions && !req[bhttp::field::access_control_request_method].empty()) {
                    // CORS preflight.
                    out.res = BeastResponse{bhttp::status::no_content, req.version()};
                    if (allowed_origin(opt, origin) && match.path_matched) {
                        out.res.set(bhttp::field::access_control_allow_methods, match.allow);
                        out.res.set(bhttp::field::access_control_allow_headers,
                                    "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
                        out.res.set(bhttp::field::access_control_max_age, "600");
                    }
                    out.route = match.path_matched ? out.route : "preflight";
                } else if (!match.route) {
                    if (match.path_matched) {
                        out.res = error_response(Error{ErrorCode::kMethodNotAllowed,
                                                       std::string(req.method_string()) + " is not allowed here", {}},
                                                 request_id, req.version());
                        out.res.set(bhttp::field::allow, match.allow);
                    } else {
                        out.res = error_response(Error::not_found("no route for " + std::string(path)), request_id,
                                                 req.version());
                    }
                } else {
                    detail::RawRequest raw{req};
                    RequestContext ctx(raw, method, path, query, request_id, remote, peer_loopback && !forwarded);
                    ctx.params() = std::move(match.params);
                    Response r;
                    bool failed = false;
                    try {
                        r = co_await match.route->handler(ctx);
                    } catch (const std::exception& e) {
                        spdlog::error("request {} {} {}: unhandled exception: {}", request_id, req.method_string(),
                                      path, e.what());
                        failed = true;
                    }
                    if (failed) {
                        out.res = error_response(Error::internal("internal error"), request_id, req.version());
                    } else {
                        out.res = BeastResponse{static_cast<bhttp::status>(r.status), req.version()};
                        if (!r.content_type.empty() && r.status != 204) {
                            out.res.set(bhttp::field::content_type, r.content_type);
                        }
                        for (auto& h : r.headers) out.res.set(h.name, h.value);
                        out.res.body() = std::move(r.body);
                    }
                }
            }

            out.res.set("X-Request-Id", request_id);
            add_security_headers(out.res);
            add_cors_headers(opt, origin, out.res);
            const int status = out.res.result_int();
            const std::size_t bytes_in = req.body().size();
            const std::size_t bytes_out = out.res.body().size();
            bool keep = !close_after && req.keep_alive() && !srv.stopping;
            ++conn.served;
            bool still_open = co_await write_response(srv, stream, out.res, keep, method == Method::kHead);

            auto elapsed = std::chrono::steady_clock::now() - start;
            std::string status_label = std::to_string(status);
            std::string route_label = metrics::label_value(out.route);
            metrics::inc("http_requests_total", "method=\"" + std::string(method_name(method)) + "\",route=\"" +
                                                    route_label + "\",status=\"" + status_label + "\"");
            metrics::observe("http_request_duration_seconds", "route=\"" + route_label + "\"", elapsed);
            if (opt.access_log) {
                log_access(request_id, method_name(method), path, out.route, status, bytes_in, bytes_out, elapsed,
                           remote);
            }
            if (!still_open) break;
        }
    } catch (const std::exception& e) {
        spdlog::error("connection from {}: {}", peer_address, e.what());
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
}

}  // namespace flashbill::http
