#include "auth/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "auth/crypto.hpp"
#include "auth/jwt.hpp"
#include "core/json.hpp"
#include "core/uuid.hpp"
#include "db/pool.hpp"
#include "jobs/queue.hpp"
#include "mail/templates.hpp"

namespace flashbill::auth {

namespace asio = boost::asio;

namespace {

// One column list for every query that returns users, read by read_user().
#define FB_USER_COLUMNS                                                                                     \
    "u.id, u.org_id, u.email, u.role, u.name, u.phone, u.company_name, u.business_type, "                   \
    "u.business_address::text, u.notification_settings::text, u.email_verified_at IS NOT NULL, "           \
    "rfc3339(u.created_at), rfc3339(u.last_login_at), u.token_version"

User read_user(const db::Rows& r, int row, int first = 0) {
    User u;
    int c = first;
    u.id = std::string(r.text(row, c++));
    u.org_id = std::string(r.text(row, c++));
    u.email = std::string(r.text(row, c++));
    u.role = std::string(r.text(row, c++));
    u.name = r.opt_text(row, c++);
    u.phone = r.opt_text(row, c++);
    u.company_name = r.opt_text(row, c++);
    u.business_type = r.opt_text(row, c++);
    u.business_address = r.opt_text(row, c++);
    u.notification_settings = std::string(r.text(row, c++));
    u.email_verified = r.boolean(row, c++);
    u.created_at = std::string(r.text(row, c++));
    u.last_login_at = r.opt_text(row, c++);
    u.token_version = r.int64(row, c++);
    return u;
}

constexpr std::string_view kUserByEmail =
    "SELECT " FB_USER_COLUMNS ", u.password_hash FROM users u WHERE u.email = $1";
constexpr std::string_view kUserById = "SELECT " FB_USER_COLUMNS " FROM users u WHERE u.org_id = $1 AND u.id = $2";
constexpr std::string_view kUsersOfOrg =
    "SELECT " FB_USER_COLUMNS " FROM users u WHERE u.org_id = $1 ORDER BY u.created_at DESC, u.id";

constexpr std::string_view kInsertOrg = "INSERT INTO organizations (name) VALUES ($1) RETURNING id";
constexpr std::string_view kInsertOwner =
    "INSERT INTO users AS u (org_id, email, password_hash, role, name, phone, company_name, business_type) "
    "VALUES ($1, $2, $3, 'owner', $4, $5, $6, $7) RETURNING " FB_USER_COLUMNS;
constexpr std::string_view kInsertOneTimeToken =
    "INSERT INTO one_time_tokens (purpose, token_hash, org_id, user_id, invitation_id, expires_at) "
    "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::bigint))";
constexpr std::string_view kInsertRefresh =
    "WITH t AS (INSERT INTO refresh_tokens (org_id, user_id, family_id, token_hash, expires_at) "
    "VALUES ($1, $2, gen_random_uuid(), $3, now() + make_interval(secs => $4::bigint))), "
    "l AS (UPDATE users SET last_login_at = now() WHERE id = $2 AND org_id = $1 RETURNING rfc3339(last_login_at) AS at) "
    "SELECT at FROM l";
// Spends the presented token and adds its successor to the family, atomically, returning the user.
constexpr std::string_view kRotateRefresh =
    "WITH spent AS (UPDATE refresh_tokens SET spent_at = now() "
    "  WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > now() "
    "  RETURNING org_id, user_id, family_id), "
    "fresh AS (INSERT INTO refresh_tokens (org_id, user_id, family_id, token_hash, expires_at) "
    "  SELECT org_id, user_id, family_id, $2, now() + make_interval(secs => $3::bigint) FROM spent "
    "  RETURNING org_id, user_id) "
    "SELECT " FB_USER_COLUMNS " FROM users u JOIN fresh f ON f.user_id = u.id AND f.org_id = u.org_id";
// A spent token presented again: revoke every live token of its family.
constexpr std::string_view kRevokeFamilyOfSpent =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = "
    "(SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND spent_at IS NOT NULL)";
constexpr std::string_view kRevokeRefresh =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";
constexpr std::string_view kRevokeAllSessions =
    "WITH u AS (UPDATE users SET token_version = token_version + 1, tokens_valid_after = now() "
    "  WHERE org_id = $1 AND id = $2 RETURNING id) "
    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = (SELECT id FROM u) AND revoked_at IS NULL";
constexpr std::string_view kPendingToken =
    "SELECT user_id, org_id, invitation_id FROM one_time_tokens "
    "WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()";
// Consumes the token, sets the password, bumps token_version (every access token dies) and revokes
// every refresh token, in one statement. The link proved the address, so it also counts as verified.
constexpr std::string_view kResetPassword =
    "WITH used AS (UPDATE one_time_tokens SET used_at = now() "
    "  WHERE token_hash = $1 AND purpose = 'reset_password' AND used_at IS NULL AND expires_at > now() "
    "  RETURNING user_id, org_id), "
    "others AS (UPDATE one_time_tokens SET used_at = now() WHERE user_id = (SELECT user_id FROM used) "
    "  AND purpose = 'reset_password' AND used_at IS NULL AND token_hash <> $1), "
    "u AS (UPDATE users SET password_hash = $2, token_version = token_version + 1, tokens_valid_after = now(), "
    "  email_verified_at = coalesce(email_verified_at, now()) "
    "  WHERE id = (SELECT user_id FROM used) AND org_id = (SELECT org_id FROM used) RETURNING id), "
    "r AS (UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = (SELECT id FROM u) AND revoked_at IS NULL) "
    "SELECT id FROM u";
constexpr std::string_view kVerifyEmail =
    "WITH used AS (UPDATE one_time_tokens SET used_at = now() "
    "  WHERE token_hash = $1 AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > now() "
    "  RETURNING user_id, org_id) "
    "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) "
    "WHERE id = (SELECT user_id FROM used) AND org_id = (SELECT org_id FROM used) RETURNING id";
constexpr std::string_view kPasswordHash = "SELECT password_hash FROM users WHERE org_id = $1 AND id = $2";
constexpr std::string_view kSetPassword = "UPDATE users SET password_hash = $3 WHERE org_id = $1 AND id = $2";
constexpr std::string_view kUpdateProfile =
    "UPDATE users AS u SET "
    "name = CASE WHEN $3 THEN $4 ELSE name END, "
    "phone = CASE WHEN $5 THEN $6 ELSE phone END, "
    "company_name = CASE WHEN $7 THEN $8 ELSE company_name END, "
    "business_type = CASE WHEN $9 THEN $10 ELSE business_type END, "
    "business_address = CASE WHEN $11 THEN $12::jsonb ELSE business_address END, "
    "notification_settings = CASE WHEN $13 THEN coalesce($14::jsonb, '{}'::jsonb) ELSE notification_settings END "
    "WHERE u.org_id = $1 AND u.id = $2 RETURNING " FB_USER_COLUMNS;
constexpr std::string_view kOrg = "SELECT id, name, rfc3339(created_at) FROM organizations WHERE id = $1";
constexpr std::string_view kOrgName = "SELECT name FROM organizations WHERE id = $1";

constexpr std::string_view kListKeys =
    "SELECT id, name, prefix, rfc3339(created_at), rfc3339(last_used_at) FROM api_keys "
    "WHERE org_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id";
constexpr std::string_view kInsertKey =
    "INSERT INTO api_keys (org_id, user_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5) "
    "RETURNING id, rfc3339(created_at)";
constexpr std::string_view kRevokeKey =
    "UPDATE api_keys SET revoked_at = now() WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL";
constexpr std::string_view kKeyLookup =
    "SELECT k.id, k.user_id, k.org_id, u.role, "
    "k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' "
    "FROM api_keys k JOIN users u ON u.id = k.user_id AND u.org_id = k.org_id "
    "WHERE k.key_hash = $1 AND k.revoked_at IS NULL";
// At most one write per key and minute, however busy the key is.
constexpr std::string_view kTouchKey =
    "UPDATE api_keys SET last_used_at = now() WHERE id = $1 "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')";
// The per-request check: one primary-key lookup.
constexpr std::string_view kAuthUser = "SELECT role, org_id, token_version FROM users WHERE id = $1";

constexpr std::string_view kInsertInvitation =
    "INSERT INTO invitations (org_id, email, role, invited_by, expires_at) "
    "SELECT $1, $2, $3, $4, now() + make_interval(secs => $5::bigint) "
    "WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = $2) "
    "RETURNING id, rfc3339(expires_at), rfc3339(created_at)";
constexpr std::string_view kInviter =
    "SELECT coalesce(u.name, u.email), o.name FROM users u JOIN organizations o ON o.id = u.org_id "
    "WHERE u.org_id = $1 AND u.id = $2";
constexpr std::string_view kConsumeInvite =
    "WITH used AS (UPDATE one_time_tokens SET used_at = now() "
    "  WHERE token_hash = $1 AND purpose = 'invitation' AND used_at IS NULL AND expires_at > now() "
    "  RETURNING invitation_id) "
    "UPDATE invitations SET accepted_at = now() WHERE id = (SELECT invitation_id FROM used) AND accepted_at IS NULL "
    "RETURNING org_id, email, role";
constexpr std::string_view kInsertMember =
    "INSERT INTO users AS u (org_id, email, password_hash, role, name, email_verified_at) "
    "VALUES ($1, $2, $3, $4, $5, now()) RETURNING " FB_USER_COLUMNS;

// Team changes lock the org's owners first, so two concurrent changes cannot both pass the
// "another owner remains" check and leave the org without one.
constexpr std::string_view kLockOwners =
    "SELECT id FROM users WHERE org_id = $1 AND role = 'owner' ORDER BY id FOR UPDATE";
constexpr std::string_view kTargetRole = "SELECT role FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE";
constexpr std::string_view kSetRole =
    "UPDATE users AS u SET role = $3 WHERE u.org_id = $1 AND u.id = $2 RETURNING " FB_USER_COLUMNS;
constexpr std::string_view kDeleteUser = "DELETE FROM users WHERE org_id = $1 AND id = $2";

constexpr std::int64_t kVerifyTtl = 24 * 3600;
constexpr std::int64_t kResetTtl = 3600;
constexpr std::int64_t kInviteTtl = 7 * 24 * 3600;

Error invalid_credentials() {
    return Error{ErrorCode::kInvalidCredentials, "invalid email or password", {}};
}
Error unauthorized(std::string message) { return Error{ErrorCode::kUnauthorized, std::move(message), {}}; }
Error forbidden(std::string message) { return Error{ErrorCode::kForbidden, std::move(message), {}}; }
Error bad_token(std::string_view what) {
    return Error::bad_request(std::string(what) + " token is unknown, already used or expired");
}

bool is_email_conflict(const Error& e) {
    return e.code == ErrorCode::kConflict && e.cause.find("users_email_key") != std::string::npos;
}

std::string mail_payload(const std::string& to, const mail::Rendered& m) {
    json::Writer w;
    w.begin_object();
    w.key("to").begin_array().string(to).end_array();
    w.field("subject", m.subject);
    w.field("text", m.text);
    if (!m.html.empty()) w.field("html", m.html);
    w.end_object();
    return std::move(w).str();
}

}  // namespace

std::optional<std::string> normalize_email(std::string_view email) {
    while (!email.empty() && email.front() == ' ') email.remove_prefix(1);
    while (!email.empty() && email.back() == ' ') email.remove_suffix(1);
    if (email.size() < 3 || email.size() > 254) return std::nullopt;
    auto at = email.find('@');
    if (at == std::string_view::npos || at == 0 || at != email.rfind('@')) return std::nullopt;
    std::string_view domain = email.substr(at + 1);
    if (domain.size() < 3 || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
        domain.back() == '.') {
        return std::nullopt;
    }
    std::string out;
    out.reserve(email.size());
    for (char c : email) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\') {
            return std::nullopt;
        }
        out += static_cast<char>(std::tolower(u));
    }
    return out;
}

bool valid_role(std::string_view role) { return role == "owner" || role == "admin" || role == "member"; }

Service::Service(Settings settings, const mail::Templates& templates)
    : settings_(std::move(settings)), templates_(templates) {
    // A real hash with the configured cost: verifying against it takes as long as a real account.
    auto h = hash_password(random_token(24), settings_.password);
    if (!h) throw std::runtime_error("argon2id is unusable with the configured parameters: " + h.error().cause);
    dummy_hash_ = std::move(*h);
}

Result<std::string> Service::render_mail(const std::string& to, const std::string& template_name,
                                         const std::string& token_path, const std::string& token,
                                         const std::string& company_name, const std::string& expires_in,
                                         const std::string& inviter_name) const {
    std::map<std::string, std::string> vars{{"link", settings_.app_url + token_path + "?token=" + token},
                                            {"company_name", company_name},
                                            {"expires_in", expires_in},
                                            {"inviter_name", inviter_name}};
    auto rendered = templates_.render(template_name, vars);
    if (!rendered) return rendered.error();
    return mail_payload(to, *rendered);
}

asio::awaitable<Result<Session>> Service::start_session(User user) {
    std::string refresh = random_token(32);
    auto& pool = db::Pool::current();
    db::Params params1(user.org_id, user.id, sha256_hex(refresh), static_cast<std::int64_t>(settings_.refresh_ttl.count()));
    auto r = co_await pool.query(kInsertRefresh, std::move(params1));
    if (!r) co_return r.error();
    if (r->empty()) co_return unauthorized("the account no longer exists");
    user.last_login_at = std::string(r->text(0, 0));
    Session s;
    AccessClaims claims;
    claims.sub = user.id;
    claims.org = user.org_id;
    claims.role = user.role;
    claims.iat = unix_now();
    claims.exp = claims.iat + kAccessTokenTtl.count();
    claims.ver = user.token_version;
    s.access_token = sign_access_token(claims, settings_.jwt_secret);
    s.refresh_token = std::move(refresh);
    s.expires_in = kAccessTokenTtl.count();
    s.user = std::move(user);
    co_return s;
}

asio::awaitable<Result<Session>> Service::register_account(RegisterInput in) {
    auto hashed = co_await hash_password_async(in.password, settings_.password);
    if (!hashed) co_return hashed.error();
    std::string org_name = in.company_name.value_or(in.email.substr(0, in.email.find('@')));
    std::string verify_token = random_token(32);

    auto& pool = db::Pool::current();
    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params2(org_name);
    auto org = co_await tx.query(kInsertOrg, std::move(params2));
    if (!org) co_return org.error();
    std::string org_id(org->text(0, 0));
    db::Params params3(org_id, in.email, *hashed, in.name, in.phone, in.company_name, in.business_type);
    auto inserted = co_await tx.query(kInsertOwner, std::move(params3));
    if (!inserted) {
        if (is_email_conflict(inserted.error())) co_return Error::conflict("an account with this email already exists");
        co_return inserted.error();
    }
    User user = read_user(*inserted, 0);
    db::Params params4("verify_email", sha256_hex(verify_token), org_id, user.id, std::nullopt, kVerifyTtl);
    auto tok = co_await tx.query(kInsertOneTimeToken, std::move(params4));
    if (!tok) co_return tok.error();
    auto payload = render_mail(user.email, "verify_email", "/verify-email", verify_token, org_name, "24 hours", "");
    if (!payload) co_return payload.error();
    jobs::NewJob job;
    job.kind = "mail.send";
    job.payload_json = std::move(*payload);
    job.org_id = org_id;
    auto queued = co_await jobs::enqueue(tx, job);
    if (!queued) co_return queued.error();
    auto committed = co_await tx.commit();
    if (!committed) {
        if (is_email_conflict(committed.error())) co_return Error::conflict("an account with this email already exists");
        co_return committed.error();
    }
    auto session = co_await start_session(std::move(user));
    co_return session;
}

asio::awaitable<Result<Session>> Service::login(std::string email, std::string password) {
    auto& pool = db::Pool::current();
    db::Params params5(email);
    auto r = co_await pool.query(kUserByEmail, std::move(params5));
    if (!r) co_return r.error();
    if (r->empty()) {
        // Same work as a real account, so response time does not reveal which emails exist.
        co_await verify_password_async(std::move(password), dummy_hash_);
        co_return invalid_credentials();
    }
    User user = read_user(*r, 0);
    std::string phc(r->text(0, 14));
    bool ok = co_await verify_password_async(std::move(password), std::move(phc));
    if (!ok) co_return invalid_credentials();
    auto session = co_await start_session(std::move(user));
    co_return session;
}

asio::awaitable<Result<Session>> Service::refresh(std::string refresh_token) {
    auto& pool = db::Pool::current();
    if (refresh_token.empty() || refresh_token.size() > 200) co_return unauthorized("invalid refresh token");
    std::string presented = sha256_hex(refresh_token);
    std::string next = random_token(32);
    db::Params params6(presented, sha256_hex(next), static_cast<std::int64_t>(settings_.refresh_ttl.count()));
    auto rotated = co_await pool.query(kRotateRefresh, std::move(params6));
    if (!rotated) co_return rotated.error();
    if (rotated->empty()) {
        db::Params params7(presented);
        auto revoked = co_await pool.query(kRevokeFamilyOfSpent, std::move(params7));
        if (!revoked) co_return revoked.error();
        if (revoked->affected() > 0) {
            spdlog::warn("auth: a spent refresh token was presented again; revoked its family ({} tokens)",
                         revoked->affected());
        }
        co_return unauthorized("invalid refresh token");
    }
    User user = read_user(*rotated, 0);
    AccessClaims claims;
    claims.sub = user.id;
    claims.org = user.org_id;
    claims.role = user.role;
    claims.iat = unix_now();
    claims.exp = claims.iat + kAccessTokenTtl.count();
    claims.ver = user.token_version;
    Session s;
    s.access_token = sign_access_token(claims, settings_.jwt_secret);
    s.refresh_token = std::move(next);
    s.expires_in = kAccessTokenTtl.count();
    s.user = std::move(user);
    co_return s;
}

asio::awaitable<Result<void>> Service::logout(std::string refresh_token) {
    db::Params params8(sha256_hex(refresh_token));
    auto r = co_await db::Pool::current().query(kRevokeRefresh, std::move(params8));
    if (!r) co_return r.error();
    co_return Result<void>();
}

asio::awaitable<Result<void>> Service::logout_all(std::string org_id, std::string user_id) {
    db::Params params9(org_id, user_id);
    auto r = co_await db::Pool::current().query(kRevokeAllSessions, std::move(params9));
    if (!r) co_return r.error();
    co_return Result<void>();
}

asio::awaitable<Result<void>> Service::forgot_password(std::string email) {
    auto& pool = db::Pool::current();
    db::Params params10(email);
    auto r = co_await pool.query(kUserByEmail, std::move(params10));
    if (!r) co_return r.error();
    if (r->empty()) co_return Result<void>();
    User user = read_user(*r, 0);
    db::Params params11(user.org_id);
    auto org = co_await pool.query(kOrgName, std::move(params11));
    if (!org) co_return org.error();
    std::string company = org->empty() ? std::string("FlashBill") : std::string(org->text(0, 0));
    std::string token = random_token(32);
    auto payload = render_mail(user.email, "reset_password", "/reset-password", token, company, "1 hour", "");
    if (!payload) co_return payload.error();
    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params12("reset_password", sha256_hex(token), user.org_id, user.id, std::nullopt, kResetTtl);
    auto tok = co_await tx.query(kInsertOneTimeToken, std::move(params12));
    if (!tok) co_return tok.error();
    jobs::NewJob job;
    job.kind = "mail.send";
    job.payload_json = std::move(*payload);
    job.org_id = user.org_id;
    auto queued = co_await jobs::enqueue(tx, job);
    if (!queued) co_return queued.error();
    auto committed = co_await tx.commit();
    if (!committed) co_return committed.error();
    co_return Result<void>();
}

asio::awaitable<Result<void>> Service::reset_password(std::string token, std::string new_password) {
    auto& pool = db::Pool::current();
    std::string hash = sha256_hex(token);
    // Check the token before spending argon2 work on it.
    db::Params params13(hash, "reset_password");
    auto pending = co_await pool.query(kPendingToken, std::move(params13));
    if (!pending) co_return pending.error();
    if (pending->empty()) co_return bad_token("reset");
    auto hashed = co_await hash_password_async(std::move(new_password), settings_.password);
    if (!hashed) co_return hashed.error();
    db::Params params14(hash, *hashed);
    auto r = co_await pool.query(kResetPassword, std::move(params14));
    if (!r) co_return r.error();
    if (r->empty()) co_return bad_token("reset");  // spent by a concurrent request meanwhile
    co_return Result<void>();
}

asio::awaitable<Result<void>> Service::verify_email(std::string token) {
    db::Params params15(sha256_hex(token));
    auto r = co_await db::Pool::current().query(kVerifyEmail, std::move(params15));
    if (!r) co_return r.error();
    if (r->empty()) co_return bad_token("verification");
    co_return Result<void>();
}

asio::awaitable<Result<void>> Service::change_password(std::string org_id, std::string user_id, std::string current,
                                                       std::string next) {
    auto& pool = db::Pool::current();
    db::Params params16(org_id, user_id);
    auto r = co_await pool.query(kPasswordHash, std::move(params16));
    if (!r) co_return r.error();
    if (r->empty()) co_return unauthorized("the account no longer exists");
    std::string phc(r->text(0, 0));
    bool ok = co_await verify_password_async(std::move(current), std::move(phc));
    if (!ok) co_return Error::validation("current_password", "is not the current password");
    auto hashed = co_await hash_password_async(std::move(next), settings_.password);
    if (!hashed) co_return hashed.error();
    db::Params params17(org_id, user_id, *hashed);
    auto u = co_await pool.query(kSetPassword, std::move(params17));
    if (!u) co_return u.error();
    co_return Result<void>();
}

asio::awaitable<Result<Session>> Service::accept_invite(std::string token, std::string password,
                                                        std::optional<std::string> name) {
    auto& pool = db::Pool::current();
    std::string hash = sha256_hex(token);
    db::Params params18(hash, "invitation");
    auto pending = co_await pool.query(kPendingToken, std::move(params18));
    if (!pending) co_return pending.error();
    if (pending->empty()) co_return bad_token("invitation");
    auto hashed = co_await hash_password_async(std::move(password), settings_.password);
    if (!hashed) co_return hashed.error();
    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params19(hash);
    auto inv = co_await tx.query(kConsumeInvite, std::move(params19));
    if (!inv) co_return inv.error();
    if (inv->empty()) co_return bad_token("invitation");
    std::string org_id(inv->text(0, 0)), email(inv->text(0, 1)), role(inv->text(0, 2));
    db::Params params20(org_id, email, *hashed, role, name);
    auto inserted = co_await tx.query(kInsertMember, std::move(params20));
    if (!inserted) {
        if (is_email_conflict(inserted.error())) co_return Error::conflict("an account with this email already exists");
        co_return inserted.error();
    }
    User user = read_user(*inserted, 0);
    auto committed = co_await tx.commit();
    if (!committed) co_return committed.error();
    auto session = co_await start_session(std::move(user));
    co_return session;
}

asio::awaitable<Result<User>> Service::get_user(std::string org_id, std::string user_id) {
    db::Params params21(org_id, user_id);
    auto r = co_await db::Pool::current().query(kUserById, std::move(params21));
    if (!r) co_return r.error();
    if (r->empty()) co_return Error::not_found("user not found");
    co_return read_user(*r, 0);
}

asio::awaitable<Result<User>> Service::update_profile(std::string org_id, std::string user_id, ProfileUpdate p) {
    db::Params params(org_id, user_id);
    params.add(p.name.present).add(p.name.value);
    params.add(p.phone.present).add(p.phone.value);
    params.add(p.company_name.present).add(p.company_name.value);
    params.add(p.business_type.present).add(p.business_type.value);
    params.add(p.business_address.present).add(p.business_address.value);
    params.add(p.notification_settings.present).add(p.notification_settings.value);
    auto r = co_await db::Pool::current().query(kUpdateProfile, std::move(params));
    if (!r) co_return r.error();
    if (r->empty()) co_return Error::not_found("user not found");
    co_return read_user(*r, 0);
}

asio::awaitable<Result<std::vector<ApiKey>>> Service::list_api_keys(std::string org_id) {
    db::Params params22(org_id);
    auto r = co_await db::Pool::current().query(kListKeys, std::move(params22));
    if (!r) co_return r.error();
    std::vector<ApiKey> keys;
    keys.reserve(static_cast<std::size_t>(r->size()));
    for (int i = 0; i < r->size(); ++i) {
        ApiKey k;
        k.id = std::string(r->text(i, 0));
        k.name = std::string(r->text(i, 1));
        k.prefix = std::string(r->text(i, 2));
        k.created_at = std::string(r->text(i, 3));
        k.last_used_at = r->opt_text(i, 4);
        keys.push_back(std::move(k));
    }
    co_return keys;
}

asio::awaitable<Result<ApiKey>> Service::create_api_key(std::string org_id, std::string user_id, std::string name) {
    ApiKey k;
    // 256 random bits: far beyond guessing, so a plain SHA-256 lookup is as safe as a slow hash.
    k.key = "fbk_" + random_token(32);
    k.prefix = k.key.substr(0, 12);
    k.name = std::move(name);
    db::Params params23(org_id, user_id, k.name, k.prefix, sha256_hex(k.key));
    auto r = co_await db::Pool::current().query(kInsertKey, std::move(params23));
    if (!r) co_return r.error();
    k.id = std::string(r->text(0, 0));
    k.created_at = std::string(r->text(0, 1));
    co_return k;
}

asio::awaitable<Result<void>> Service::revoke_api_key(std::string org_id, std::string key_id) {
    db::Params params24(org_id, key_id);
    auto r = co_await db::Pool::current().query(kRevokeKey, std::move(params24));
    if (!r) co_return r.error();
    if (r->affected() == 0) co_return Error::not_found("API key not found");
    co_return Result<void>();
}

asio::awaitable<Result<Organization>> Service::get_org(std::string org_id) {
    db::Params params25(org_id);
    auto r = co_await db::Pool::current().query(kOrg, std::move(params25));
    if (!r) co_return r.error();
    if (r->empty()) co_return Error::not_found("organization not found");
    Organization o{std::string(r->text(0, 0)), std::string(r->text(0, 1)), std::string(r->text(0, 2))};
    co_return o;
}

asio::awaitable<Result<std::vector<User>>> Service::list_users(std::string org_id) {
    db::Params params26(org_id);
    auto r = co_await db::Pool::current().query(kUsersOfOrg, std::move(params26));
    if (!r) co_return r.error();
    std::vector<User> users;
    for (int i = 0; i < r->size(); ++i) users.push_back(read_user(*r, i));
    co_return users;
}

asio::awaitable<Result<Invitation>> Service::invite(http::Principal actor, std::string email, std::string role) {
    // Only an owner may create another owner: an admin must not be able to out-rank themselves.
    if (role == "owner" && actor.role != "owner") co_return forbidden("only an owner can invite an owner");
    auto& pool = db::Pool::current();
    db::Params params27(actor.org_id, actor.user_id);
    auto who = co_await pool.query(kInviter, std::move(params27));
    if (!who) co_return who.error();
    if (who->empty()) co_return unauthorized("the account no longer exists");
    std::string inviter(who->text(0, 0)), company(who->text(0, 1));
    std::string token = random_token(32);
    auto payload = render_mail(email, "invite", "/accept-invite", token, company, "7 days", inviter);
    if (!payload) co_return payload.error();

    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params28(actor.org_id, email, role, actor.user_id, kInviteTtl);
    auto inv = co_await tx.query(kInsertInvitation, std::move(params28));
    if (!inv) co_return inv.error();
    if (inv->empty()) co_return Error::conflict("a user with this email already exists");
    Invitation out{std::string(inv->text(0, 0)), email, role, std::string(inv->text(0, 1)),
                   std::string(inv->text(0, 2))};
    db::Params params29("invitation", sha256_hex(token), actor.org_id, std::nullopt, out.id, kInviteTtl);
    auto tok = co_await tx.query(kInsertOneTimeToken, std::move(params29));
    if (!tok) co_return tok.error();
    jobs::NewJob job;
    job.kind = "mail.send";
    job.payload_json = std::move(*payload);
    job.org_id = actor.org_id;
    auto queued = co_await jobs::enqueue(tx, job);
    if (!queued) co_return queued.error();
    auto committed = co_await tx.commit();
    if (!committed) co_return committed.error();
    co_return out;
}

asio::awaitable<Result<User>> Service::change_role(http::Principal actor, std::string user_id, std::string role) {
    auto& pool = db::Pool::current();
    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params30(actor.org_id);
    auto owners = co_await tx.query(kLockOwners, std::move(params30));
    if (!owners) co_return owners.error();
    db::Params params31(actor.org_id, user_id);
    auto target = co_await tx.query(kTargetRole, std::move(params31));
    if (!target) co_return target.error();
    if (target->empty()) co_return Error::not_found("user not found");
    std::string current(target->text(0, 0));
    // Owners are made and unmade only by owners.
    if ((current == "owner" || role == "owner") && actor.role != "owner") {
        co_return forbidden("only an owner can grant or take the owner role");
    }
    if (current == "owner" && role != "owner" && owners->size() <= 1) {
        co_return Error::conflict("the last owner cannot be demoted; make another user owner first");
    }
    db::Params params32(actor.org_id, user_id, role);
    auto r = co_await tx.query(kSetRole, std::move(params32));
    if (!r) co_return r.error();
    User user = read_user(*r, 0);
    auto committed = co_await tx.commit();
    if (!committed) co_return committed.error();
    co_return user;
}

asio::awaitable<Result<void>> Service::remove_user(http::Principal actor, std::string user_id) {
    auto& pool = db::Pool::current();
    auto begun = co_await pool.begin();
    if (!begun) co_return begun.error();
    db::Transaction tx = std::move(*begun);
    db::Params params33(actor.org_id);
    auto owners = co_await tx.query(kLockOwners, std::move(params33));
    if (!owners) co_return owners.error();
    db::Params params34(actor.org_id, user_id);
    auto target = co_await tx.query(kTargetRole, std::move(params34));
    if (!target) co_return target.error();
    if (target->empty()) co_return Error::not_found("user not found");
    std::string current(target->text(0, 0));
    if (current == "owner" && actor.role != "owner") co_return forbidden("only an owner can remove an owner");
    if (current == "owner" && owners->size() <= 1) {
        co_return Error::conflict("the last owner cannot be removed; make another user owner first");
    }
    db::Params params35(actor.org_id, user_id);
    auto r = co_await tx.query(kDeleteUser, std::move(params35));
    if (!r) co_return r.error();
    auto committed = co_await tx.commit();
    if (!committed) co_return committed.error();
    co_return Result<void>();
}

asio::awaitable<Result<http::Principal>> Service::authenticate(std::string bearer) {
    auto& pool = db::Pool::current();
    http::Principal p;
    if (bearer.starts_with("fbk_")) {
        if (bearer.size() != 4 + 43) co_return unauthorized("invalid API key");
        db::Params params36(sha256_hex(bearer));
        auto r = co_await pool.query(kKeyLookup, std::move(params36));
        if (!r) co_return r.error();
        if (r->empty()) co_return unauthorized("invalid API key");
        p.api_key_id = std::string(r->text(0, 0));
        p.user_id = std::string(r->text(0, 1));
        p.org_id = std::string(r->text(0, 2));
        p.role = std::string(r->text(0, 3));
        if (r->boolean(0, 4)) {
            db::Params params37(p.api_key_id);
            auto touched = co_await pool.query(kTouchKey, std::move(params37));
            if (!touched) spdlog::warn("auth: could not record API key use: {}", touched.error().cause);
        }
        co_return p;
    }
    auto claims = verify_access_token(bearer, settings_.jwt_secret, unix_now());
    if (!claims) co_return claims.error();
    db::Params params38(claims->sub);
    auto r = co_await pool.query(kAuthUser, std::move(params38));
    if (!r) co_return r.error();
    if (r->empty()) co_return unauthorized("the account no longer exists");
    if (r->text(0, 1) != claims->org || r->int64(0, 2) != claims->ver) {
        co_return unauthorized("the session was revoked; sign in again");
    }
    p.user_id = std::move(claims->sub);
    p.org_id = std::move(claims->org);
    p.role = std::string(r->text(0, 0));  // the stored role: a demotion bites at once
    co_return p;
}

}  // namespace flashbill::auth
