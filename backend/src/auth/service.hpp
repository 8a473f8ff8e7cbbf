#pragma once
// Accounts, sessions, API keys and the team: the rules of API.md §2, transport-free. Every function
// runs on an event-loop thread and uses that thread's db::Pool; password hashing goes to the
// hashing pool. Functions that act inside an organization take its id first and filter on it.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/password.hpp"
#include "core/error.hpp"
#include "http/context.hpp"

namespace flashbill::mail {
class Templates;
}

namespace flashbill::auth {

// What the service needs from the configuration, fixed at startup (auth::configure).
struct Settings {
    std::string jwt_secret;
    PasswordParams password;
    std::chrono::seconds refresh_ttl{30 * 24 * 3600};
    std::string app_url;
};

struct User {
    std::string id, org_id, email, role;
    std::optional<std::string> name, phone, company_name, business_type;
    std::optional<std::string> business_address;  // JSON object text
    std::string notification_settings;            // JSON object text
    bool email_verified = false;
    std::string created_at;
    std::optional<std::string> last_login_at;
    std::int64_t token_version = 0;
};

// A signed-in session: what AuthResult carries.
struct Session {
    std::string access_token;
    std::string refresh_token;
    std::int64_t expires_in = 0;
    User user;
};

struct Organization {
    std::string id, name, created_at;
};

struct ApiKey {
    std::string id, name, prefix, created_at;
    std::optional<std::string> last_used_at;
    std::string key;  // the secret: only set in the answer to create
};

struct Invitation {
    std::string id, email, role, expires_at, created_at;
};

struct RegisterInput {
    std::string email, password;
    std::optional<std::string> company_name, phone, business_type, name;
};

// A field present in a PUT: absent (no change), null (clear) or a value.
template <class T>
struct Patch {
    bool present = false;
    std::optional<T> value;  // nullopt with present = clear
};

struct ProfileUpdate {
    Patch<std::string> name, phone, company_name, business_type;
    Patch<std::string> business_address;       // JSON object text
    Patch<std::string> notification_settings;  // JSON object text; null resets to {}
};

// Lower-cases and checks an email address; nullopt when it does not look like one.
std::optional<std::string> normalize_email(std::string_view email);
bool valid_role(std::string_view role);

class Service {
public:
    Service(Settings settings, const mail::Templates& templates);

    const Settings& settings() const { return settings_; }

    boost::asio::awaitable<Result<Session>> register_account(RegisterInput in);
    // INVALID_CREDENTIALS for an unknown email or a wrong password, after the same argon2 work.
    boost::asio::awaitable<Result<Session>> login(std::string email, std::string password);
    // Spends the refresh token and returns the next one; a spent token revokes its family.
    boost::asio::awaitable<Result<Session>> refresh(std::string refresh_token);
    // Revokes one refresh token (idempotent: an unknown or revoked token is no error).
    boost::asio::awaitable<Result<void>> logout(std::string refresh_token);
    // Revokes every session of the user: refresh tokens and, through token_version, access tokens.
    boost::asio::awaitable<Result<void>> logout_all(std::string org_id, std::string user_id);
    // Emails a reset link when the account exists; succeeds either way.
    boost::asio::awaitable<Result<void>> forgot_password(std::string email);
    boost::asio::awaitable<Result<void>> reset_password(std::string token, std::string new_password);
    boost::asio::awaitable<Result<void>> verify_email(std::string token);
    boost::asio::awaitable<Result<void>> change_password(std::string org_id, std::string user_id, std::string current,
                                                         std::string next);
    boost::asio::awaitable<Result<Session>> accept_invite(std::string token, std::string password,
                                                          std::optional<std::string> name);

    boost::asio::awaitable<Result<User>> get_user(std::string org_id, std::string user_id);
    boost::asio::awaitable<Result<User>> update_profile(std::string org_id, std::string user_id, ProfileUpdate update);

    boost::asio::awaitable<Result<std::vector<ApiKey>>> list_api_keys(std::string org_id);
    boost::asio::awaitable<Result<ApiKey>> create_api_key(std::string org_id, std::string user_id, std::string name);
    boost::asio::awaitable<Result<void>> revoke_api_key(std::string org_id, std::string key_id);

    boost::asio::awaitable<Result<Organization>> get_org(std::string org_id);
    boost::asio::awaitable<Result<std::vector<User>>> list_users(std::string org_id);
    boost::asio::awaitable<Result<Invitation>> invite(http::Principal actor, std::string email, std::string role);
    boost::asio::awaitable<Result<User>> change_role(http::Principal actor, std::string user_id, std::string role);
    boost::asio::awaitable<Result<void>> remove_user(http::Principal actor, std::string user_id);

    // The caller behind a bearer credential (access JWT or fbk_ API key), checked against the
    // stored user on every call, so removal, demotion and revocation bite at once on every node.
    boost::asio::awaitable<Result<http::Principal>> authenticate(std::string bearer);

private:
    boost::asio::awaitable<Result<Session>> start_session(User user);
    Result<std::string> render_mail(const std::string& to, const std::string& template_name,
                                    const std::string& token_path, const std::string& token,
                                    const std::string& company_name, const std::string& expires_in,
                                    const std::string& inviter_name) const;

    Settings settings_;
    const mail::Templates& templates_;
    std::string dummy_hash_;  // verified against for unknown emails, so they cost the same
};

}  // namespace flashbill::auth
