// One HTTP/1.1 connection: read a request within the limits, route it, run the handler, write the
// answer, repeat while keep-alive holds. Every failure the client can cause gets the API.md JSON
// error or a closed connection; exceptions from handlers become 500 with the request id logged.
//
// The hot path is kept lean on purpose (bench/RESULTS.md): Beast parses, but responses are
// serialised here into one reused buffer (no per-field allocations), I/O deadlines are plain
// stores checked by the loop's sweep instead of a timer per operation, and metrics go through
// per-thread cached handles.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <array>
#include <charconv>
#include <chrono>
#include <ctime>
#include <limits>
#include <unordered_map>

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
using Clock = std::chrono::steady_clock;

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
constexpr std::string_view kSecurityHeaders =
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "Cross-Origin-Resource-Policy: same-site\r\n";

const std::string* allowed_origin(const ServerOptions& opt, std::string_view origin) {
    for (const auto& o : opt.cors_origins) {
        if (o == "*" || o == origin) return &o;
    }
    return nullptr;
}

void add_cors_headers(const ServerOptions& opt, std::string_view origin, Response& res) {
    if (origin.empty()) return;
    const std::string* allowed = allowed_origin(opt, origin);
    if (!allowed) return;
    res.header("Access-Control-Allow-Origin", *allowed == "*" ? std::string("*") : std::string(origin));
    res.header("Vary", "Origin");
    res.header("Access-Control-Expose-Headers",
               "X-Request-Id, Link, X-Total-Count, Retry-After, RateLimit-Limit, RateLimit-Remaining, "
               "RateLimit-Reset, Content-Disposition, ETag");
}

Response error_response(const Error& e, const std::string& request_id, int status_override = 0) {
    Response res;
    res.status = status_override ? status_override : error_http_status(e.code);
    res.body = error_body(e, request_id);
    return res;
}

bool has_header(const Response& res, std::string_view name) {
    for (const auto& h : res.headers) {
        if (beast::iequals(h.name, name)) return true;
    }
    return false;
}

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

// The status line and header block of `res`, into `out` (cleared first). HEAD answers carry the
// Content-Length of the body they omit; 1xx, 204 and 304 carry none.
void serialize_head(std::string& out, const Response& res, unsigned version, bool keep_alive,
                    std::string_view request_id) {
    out.clear();
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(res.status));
    out.push_back(' ');
    auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    out.append(reason.data(), reason.size());
    out.append("\r\nDate: ").append(http_date_now()).append("\r\n");
    const bool bodyless = res.status < 200 || res.status == 204 || res.status == 304;
    if (!bodyless) {
        if (!res.content_type.empty()) out.append("Content-Type: ").append(res.content_type).append("\r\n");
        out.append("Content-Length: ");
        append_number(out, res.body.size());
        out.append("\r\n");
    }
    if (!keep_alive) {
        out.append("Connection: close\r\n");
    } else if (version == 10) {
        out.append("Connection: keep-alive\r\n");
    }
    if (!request_id.empty()) out.append("X-Request-Id: ").append(request_id).append("\r\n");
    for (const auto& h : res.headers) out.append(h.name).append(": ").append(h.value).append("\r\n");
    out.append(kSecurityHeaders);
    if (!has_header(res, "Cache-Control")) out.append("Cache-Control: no-store\r\n");
    out.append("\r\n");
}

// Per-thread metric handles for one (route, method, status): no label strings built per request.
struct RouteCells {
    metrics::Counter requests;
    metrics::Histogram duration;
};

RouteCells& route_cells(std::string_view route, Method method, int status) {
    struct Key {
        const char* route;
        std::size_t route_size;
        Method method;
        int status;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            std::size_t h = std::hash<const void*>{}(k.route) ^ (k.route_size * 0x9E3779B97F4A7C15ULL);
            return h ^ (static_cast<std::size_t>(k.method) << 16) ^ static_cast<std::size_t>(k.status) * 31;
        }
    };
    // Route labels point into the router's routes or static strings, which live as long as the
    // process, so their address identifies them.
    thread_local std::unordered_map<Key, RouteCells, KeyHash> cache;
    Key key{route.data(), route.size(), method, status};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    std::string route_label = metrics::label_value(route);
    RouteCells cells{
        metrics::counter("http_requests_total", "method=\"" + std::string(method_name(method)) + "\",route=\"" +
                                                    route_label + "\",status=\"" + std::to_string(status) + "\""),
        metrics::histogram("http_request_duration_seconds", "route=\"" + route_label + "\"")};
    return cache.emplace(key, cells).first->second;
}

const metrics::Gauge& in_flight_gauge() {
    thread_local metrics::Gauge g = metrics::gauge("http_requests_in_flight");
    return g;
}

const metrics::Gauge& open_connections_gauge() {
    thread_local metrics::Gauge g = metrics::gauge("http_connections_open");
    return g;
}

void log_access(const std::string& request_id, std::string_view method, std::string_view path, std::string_view route,
                int status, std::size_t bytes_in, std::size_t bytes_out, std::chrono::nanoseconds elapsed,
                std::string_view remote) {
    thread_local json::Writer w;
    w.clear();
    w.begin_object();
    w.field("ts", utc_timestamp_cached());
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
asio::awaitable<bool> write_response(const ServerOptions& opt, tcp::socket& sock, Connection& conn, std::string& head,
                                     const Response& res, unsigned version, bool keep_alive, bool head_only,
                                     std::string_view request_id) {
    serialize_head(head, res, version, keep_alive, request_id);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                              head_only ? asio::const_buffer() : asio::buffer(res.body)};
    conn.deadline = Clock::now() + opt.write_timeout;
    auto [ec, n] = co_await asio::async_write(sock, buffers, kTuple);
    conn.deadline = Clock::time_point::max();
    co_return !ec && keep_alive;
}

}  // namespace

asio::awaitable<void> reject_connection(Server::Impl& srv, tcp::socket sock) {
    Connection conn;
    conn.socket = &sock;
    std::string request_id = new_request_id();
    Response res = error_response(Error::unavailable("server is at its connection limit; retry shortly"), request_id);
    res.header("Retry-After", "1");
    std::string head;
    // Not registered with the loop (no sweep): a client that never reads fills only its socket
    // buffer, and the kernel's send buffer takes this small answer whole.
    co_await write_response(srv.options, sock, conn, head, res, 11, false, false, request_id);
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> run_session(Server::Impl& srv, Loop& loop, tcp::socket sock) {
    const ServerOptions& opt = srv.options;
    Connection conn;
    conn.socket = &sock;
    loop.connections.insert(&conn);
    ensure_sweep(srv, loop);
    srv.active_sessions.fetch_add(1);
    srv.open_connections.fetch_add(1, std::memory_order_relaxed);
    open_connections_gauge().add(1);
    struct Unregister {
        Server::Impl& srv;
        Loop& loop;
        Connection& conn;
        ~Unregister() {
            loop.connections.erase(&conn);
            srv.open_connections.fetch_sub(1, std::memory_order_relaxed);
            open_connections_gauge().add(-1);
            srv.active_sessions.fetch_sub(1);
        }
    } unregister{srv, loop, conn};

    boost::system::error_code ep_ec;
    auto peer = sock.remote_endpoint(ep_ec);
    const bool peer_loopback = !ep_ec && is_loopback(peer.address());
    const std::string peer_address = ep_ec ? std::string("unknown") : peer.address().to_string();

    beast::flat_buffer buffer(8192);
    std::string head;
    head.reserve(512);
    try {
        for (;;) {
            conn.timed_out = false;
            // Wait for the first byte of the next request under the idle timeout; the whole header
            // must then arrive within the read timeout (defeats slow-loris clients).
            if (buffer.size() == 0) {
                if (srv.stopping && conn.served > 0) break;
                conn.idle = true;
                conn.deadline = Clock::now() + (conn.served > 0 ? opt.idle_timeout : opt.read_timeout);
                auto [ec, n] = co_await sock.async_read_some(buffer.prepare(8192), kTuple);
                conn.idle = false;
                if (ec) break;
                buffer.commit(n);
            }
            auto start = Clock::now();
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
            // The body limit depends on the route, known only after the header: check the declared
            // length ourselves below and set the real limit before reading the body.
            parser.body_limit(std::numeric_limits<std::uint64_t>::max());
            conn.deadline = start + opt.read_timeout;
            auto [hec, hn] = co_await bhttp::async_read_header(sock, buffer, parser, kTuple);
            conn.deadline = Clock::time_point::max();
            std::string request_id = new_request_id();
            if (hec) {
                if (hec == bhttp::error::end_of_stream || conn.timed_out || hec == asio::error::operation_aborted ||
                    hec == asio::error::connection_reset || hec == asio::error::eof) {
                    break;
                }
                Response res;
                if (hec == bhttp::error::header_limit) {
                    res = error_response(Error::bad_request("request header fields too large"), request_id, 431);
                } else {
                    res = error_response(Error::bad_request("malformed HTTP request: " + hec.message()), request_id);
                }
                route_cells("unmatched", Method::kOther, res.status).requests.inc();
                co_await write_response(opt, sock, conn, head, res, 11, false, false, request_id);
                break;
            }

            auto& req = parser.get();
            if (auto rid = req["X-Request-Id"]; valid_request_id(rid)) {
                request_id = std::string(rid);
            }
            const Method method = to_method(req.method());
            const unsigned version = req.version();
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

            in_flight_gauge().add(1);
            struct InFlight {
                ~InFlight() { in_flight_gauge().add(-1); }
            } in_flight;
            Response res;
            std::string_view route = "unmatched";
            bool close_after = false;
            RouteMatch match = srv.router.match(method, path);
            if (match.route) route = match.route->pattern;

            // Body limit per route; refuse early when the declared length is already too big.
            std::size_t limit =
                match.route && match.route->options.body_limit ? match.route->options.body_limit : opt.max_body_bytes;
            bool body_ok = true;
            if (auto cl = parser.content_length(); cl && *cl > limit) {
                res = error_response(Error{ErrorCode::kPayloadTooLarge,
                                           "request body exceeds the limit of " + std::to_string(limit) + " bytes",
                                           {}},
                                     request_id);
                body_ok = false;
                close_after = true;
            } else if (!parser.is_done()) {
                parser.body_limit(limit);
                if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
                    // The client waits for our go-ahead before sending a (large) body.
                    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                    conn.deadline = Clock::now() + opt.write_timeout;
                    auto [cec, cn] = co_await asio::async_write(sock, asio::buffer(kContinue), kTuple);
                    conn.deadline = Clock::time_point::max();
                    if (cec) break;
                }
                conn.deadline = Clock::now() + opt.read_timeout;
                auto [bec, bn] = co_await bhttp::async_read(sock, buffer, parser, kTuple);
                conn.deadline = Clock::time_point::max();
                if (bec) {
                    body_ok = false;
                    close_after = true;
                    if (bec == bhttp::error::body_limit) {
                        res = error_response(
                            Error{ErrorCode::kPayloadTooLarge,
                                  "request body exceeds the limit of " + std::to_string(limit) + " bytes", {}},
                            request_id);
                    } else if (conn.timed_out || bec == asio::error::operation_aborted || bec == asio::error::eof ||
                               bec == bhttp::error::end_of_stream || bec == asio::error::connection_reset ||
                               bec == bhttp::error::partial_message) {
                        break;  // the client went away or stalled: nobody to answer
                    } else {
                        res = error_response(Error::bad_request("malformed request body: " + bec.message()),
                                             request_id);
                    }
                }
            }

            if (body_ok) {
                if (method == Method::kOptions && !req[bhttp::field::access_control_request_method].empty()) {
                    // CORS preflight.
                    res.status = 204;
                    res.content_type.clear();
                    if (allowed_origin(opt, origin) && match.path_matched) {
                        res.header("Access-Control-Allow-Methods", match.allow);
                        res.header("Access-Control-Allow-Headers",
                                   "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
                        res.header("Access-Control-Max-Age", "600");
                    }
                    route = match.path_matched ? route : "preflight";
                } else if (!match.route) {
                    if (match.path_matched) {
                        res = error_response(Error{ErrorCode::kMethodNotAllowed,
                                                   std::string(req.method_string()) + " is not allowed here", {}},
                                             request_id);
                        res.header("Allow", match.allow);
                    } else {
                        res = error_response(Error::not_found("no route for " + std::string(path)), request_id);
                    }
                } else {
                    detail::RawRequest raw{req};
                    RequestContext ctx(raw, method, path, query, request_id, remote, peer_loopback && !forwarded);
                    ctx.params() = std::move(match.params);
                    bool failed = false;
                    try {
                        res = co_await match.route->handler(ctx);
                    } catch (const std::exception& e) {
                        spdlog::error("request {} {} {}: unhandled exception: {}", request_id, req.method_string(),
                                      path, e.what());
                        failed = true;
                    }
                    if (failed) res = error_response(Error::internal("internal error"), request_id);
                    if (res.status == 204) res.content_type.clear();
                }
            }

            add_cors_headers(opt, origin, res);
            const int status = res.status;
            const std::size_t bytes_in = req.body().size();
            const std::size_t bytes_out = res.body.size();
            bool keep = !close_after && req.keep_alive() && !srv.stopping;
            ++conn.served;
            bool still_open =
                co_await write_response(opt, sock, conn, head, res, version, keep, method == Method::kHead, request_id);

            auto elapsed = Clock::now() - start;
            RouteCells& cells = route_cells(route, method, status);
            cells.requests.inc();
            cells.duration.observe(elapsed);
            if (opt.access_log) {
                log_access(request_id, method_name(method), path, route, status, bytes_in, bytes_out, elapsed, remote);
            }
            if (!still_open) break;
        }
    } catch (const std::exception& e) {
        spdlog::error("connection from {}: {}", peer_address, e.what());
    }
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    sock.close(ignored);
}

}  // namespace flashbill::http
