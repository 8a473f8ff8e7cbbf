#include "http/context.hpp"

#include <boost/url/decode_view.hpp>
#include <ctime>

#include "http/raw_request.hpp"

namespace flashbill::http {

std::string_view method_name(Method m) {
    switch (m) {
        case Method::kGet: return "GET";
        case Method::kHead: return "HEAD";
        case Method::kPost: return "POST";
        case Method::kPut: return "PUT";
        case Method::kPatch: return "PATCH";
        case Method::kDelete: return "DELETE";
        case Method::kOptions: return "OPTIONS";
        case Method::kOther: return "OTHER";
    }
    return "OTHER";
}

std::string utc_timestamp_now() { return std::string(utc_timestamp_cached()); }

std::string_view utc_timestamp_cached() {
    thread_local std::time_t cached_second = -1;
    thread_local char buf[32] = {};
    thread_local std::size_t len = 0;
    std::time_t t = std::time(nullptr);
    if (t != cached_second) {
        cached_second = t;
        std::tm tm{};
        gmtime_r(&t, &tm);
        len = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    return {buf, len};
}

std::string error_body(const Error& e, std::string_view request_id) {
    json::Writer w;
    w.begin_object().key("error").begin_object();
    w.field("code", error_code_name(e.code));
    w.field("message", e.message);
    w.field("timestamp", utc_timestamp_cached());
    w.field("request_id", request_id);
    w.key("details").begin_array();
    for (const auto& d : e.details) {
        w.begin_object().field("field", d.field).field("message", d.message).end_object();
    }
    w.end_array().end_object().end_object();
    return std::move(w).str();
}

std::string_view RequestContext::header(std::string_view name) const {
    auto it = raw_.req.find(name);
    if (it == raw_.req.end()) return {};
    return it->value();
}

const std::string& RequestContext::body() const { return raw_.req.body(); }

std::string_view RequestContext::path_param(std::string_view name) const {
    for (auto& [k, v] : params_) {
        if (k == name) return v;
    }
    return {};
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
    std::string_view q = query_;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        auto eq = pair.find('=');
        std::string_view k = pair.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        if (k == name) {
            // '+' means space in form-encoded query strings.
            std::string plus_fixed(v);
            for (auto& c : plus_fixed) {
                if (c == '+') c = ' ';
            }
            auto decoded = boost::urls::make_pct_string_view(plus_fixed);
            if (!decoded) return std::string(plus_fixed);
            std::string out;
            for (char c : decoded->decode()) out.push_back(c);
            return out;
        }
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

Result<json::Value> RequestContext::json_body() const {
    std::string_view ct = header("Content-Type");
    auto semi = ct.find(';');
    std::string_view mime = ct.substr(0, semi);
    while (!mime.empty() && mime.back() == ' ') mime.remove_suffix(1);
    std::string lower(mime);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool is_json = lower == "application/json" || (lower.size() > 5 && lower.ends_with("+json"));
    if (!is_json) {
        return Error{ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json", {}};
    }
    if (body().empty()) return Error::bad_request("request body is empty; a JSON document is required");
    return json::parse(body());
}

Response RequestContext::error(const Error& e) const {
    Response r;
    r.status = error_http_status(e.code);
    r.body = error_body(e, request_id_);
    return r;
}

Response RequestContext::json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

}  // namespace flashbill::http
