#include "auth/jwt.hpp"

#include "auth/crypto.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"

namespace flashbill::auth {

namespace {

// The one header we issue, and accept: anything else is rejected before HMAC is even computed.
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

Error unauthorized(std::string message) { return Error{ErrorCode::kUnauthorized, std::move(message), {}}; }

// Tokens are small; a megabyte of "token" is an attack on the parser, not a token.
constexpr std::size_t kMaxTokenBytes = 4096;

const json::Value* member(const json::Value& obj, std::string_view key) { return obj.find(key); }

std::optional<std::int64_t> int_claim(const json::Value& obj, std::string_view key) {
    const json::Value* v = member(obj, key);
    if (!v || !v->is_number()) return std::nullopt;
    return v->as_exact_int64();
}

std::optional<std::string> string_claim(const json::Value& obj, std::string_view key) {
    const json::Value* v = member(obj, key);
    if (!v || !v->is_string()) return std::nullopt;
    return v->as_string();
}

}  // namespace

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string sign_access_token(const AccessClaims& c, std::string_view secret) {
    json::Writer w;
    w.begin_object();
    w.field("sub", c.sub);
    w.field("org", c.org);
    w.field("role", c.role);
    w.field("typ", "access");
    w.field("iat", c.iat);
    w.field("exp", c.exp);
    w.field("ver", c.ver);
    w.end_object();
    std::string signing_input = base64url_encode(kHeader) + "." + base64url_encode(w.str());
    std::string sig = base64url_encode(hmac_sha256(secret, signing_input));
    return signing_input + "." + sig;
}

Result<AccessClaims> verify_access_token(std::string_view token, std::string_view secret, std::int64_t now) {
    if (token.empty() || token.size() > kMaxTokenBytes) return unauthorized("malformed access token");
    auto d1 = token.find('.');
    auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d1 == std::string_view::npos || d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        return unauthorized("malformed access token");
    }
    std::string_view header_b64 = token.substr(0, d1);
    std::string_view payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
    std::string_view sig_b64 = token.substr(d2 + 1);

    auto header_text = base64url_decode(header_b64);
    if (!header_text) return unauthorized("malformed access token");
    auto header = json::parse(*header_text);
    if (!header || !header->is_object()) return unauthorized("malformed access token");
    auto alg = string_claim(*header, "alg");
    // RFC 8725 §3.1: the algorithm is fixed by the verifier, never taken from the token.
    if (!alg || *alg != "HS256") return unauthorized("unsupported token algorithm");
    if (const auto* typ = header->find("typ"); typ && !(typ->is_string() && typ->as_string() == "JWT")) {
        return unauthorized("unsupported token type");
    }
    if (header->find("crit")) return unauthorized("unsupported token header");

    auto sig = base64url_decode(sig_b64);
    if (!sig) return unauthorized("malformed access token");
    std::string expected = hmac_sha256(secret, token.substr(0, d2));
    if (!constant_time_equal(*sig, expected)) return unauthorized("invalid token signature");

    auto payload_text = base64url_decode(payload_b64);
    if (!payload_text) return unauthorized("malformed access token");
    auto payload = json::parse(*payload_text);
    if (!payload || !payload->is_object()) return unauthorized("malformed access token");

    auto typ = string_claim(*payload, "typ");
    if (!typ || *typ != "access") return unauthorized("not an access token");
    AccessClaims c;
    auto sub = string_claim(*payload, "sub");
    auto org = string_claim(*payload, "org");
    auto role = string_claim(*payload, "role");
    auto iat = int_claim(*payload, "iat");
    auto exp = int_claim(*payload, "exp");
    auto ver = int_claim(*payload, "ver");
    if (!sub || !is_uuid(*sub) || !org || !is_uuid(*org) || !role || !iat || !exp || !ver) {
        return unauthorized("malformed access token");
    }
    if (*exp <= now) return unauthorized("access token expired");
    if (const auto* nbf = payload->find("nbf")) {
        auto n = nbf->is_number() ? nbf->as_exact_int64() : std::nullopt;
        if (!n || *n > now) return unauthorized("access token not yet valid");
    }
    // A token "issued" in the future was not issued by this clock; allow a minute of skew between nodes.
    if (*iat > now + 60) return unauthorized("access token not yet valid");
    c.sub = std::move(*sub);
    c.org = std::move(*org);
    c.role = std::move(*role);
    c.iat = *iat;
    c.exp = *exp;
    c.ver = *ver;
    return c;
}

}  // namespace flashbill::auth
