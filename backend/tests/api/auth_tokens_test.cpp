// Bearer credentials through the real binary: every forged, malformed or expired access token and
// a refresh token presented as one get 401 JSON; API keys work once, hashed, with their creator's
// authority; revocation (removal, demotion, logout-all) bites on the very next request.

#include <gtest/gtest.h>

#include "auth/crypto.hpp"
#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

// The secret ServerProcess's test environment runs with (config's development default), so tests
// can mint tokens that differ from a real one in exactly one respect.
const std::string kServerSecret = "development-only-jwt-secret-change-me-0123456789";

std::string b64(const std::string& s) { return auth::base64url_encode(s); }

std::string mint(const std::string& header, const std::string& payload, const std::string& secret = kServerSecret) {
    std::string input = b64(header) + "." + b64(payload);
    return input + "." + b64(auth::hmac_sha256(secret, input));
}

std::string claims(const TestAccount& a, const std::string& typ = "access", long long exp_offset = 600,
                   const std::string& extra = "") {
    long long now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return R"({"sub":")" + a.user_id + R"(","org":")" + a.org_id + R"(","role":"owner","typ":")" + typ +
           R"(","iat":)" + std::to_string(now - 5) + R"(,"exp":)" + std::to_string(now + exp_offset) + R"(,"ver":0)" +
           extra + "}";
}

void expect_401(std::uint16_t port, const std::string& authorization, const std::string& why) {
    auto r = http_get(port, "/api/v1/auth/me", {{"Authorization", authorization}});
    EXPECT_EQ(r.status, 401) << why << ": " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << why;
    EXPECT_EQ(error_code(r), "UNAUTHORIZED") << why;
    EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << why;
    EXPECT_CONFORMS("GET", "/api/v1/auth/me", r);
}

TEST(AuthTokens, EveryForgedMalformedOrExpiredAccessTokenIs401) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto a = register_account(port);
    const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
    // The control: a minted token with the server's secret is accepted, so each case below fails
    // for its one difference only.
    ASSERT_EQ(http_get(port, "/api/v1/auth/me", bearer(mint(hs256, claims(a)))).status, 200);

    expect_401(port, "Bearer " + b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(claims(a)) + ".", "alg none");
    expect_401(port, "Bearer " + mint(R"({"alg":"none"})", claims(a)), "alg none with an HMAC");
    expect_401(port, "Bearer " + mint(R"({"alg":"HS512","typ":"JWT"})", claims(a)), "HS512");
    expect_401(port, "Bearer " + mint(R"({"alg":"RS256","typ":"JWT"})", claims(a)), "RS256");
    expect_401(port, "Bearer " + mint(hs256, claims(a, "access", -1)), "expired");
    expect_401(port, "Bearer " + mint(hs256, claims(a, "access", 600, R"(,"nbf":9999999999)")), "nbf in the future");
    expect_401(port, "Bearer " + mint(hs256, claims(a, "refresh")), "typ refresh");
    expect_401(port, "Bearer " + mint(hs256, claims(a), "a-different-secret-of-the-same-length-000000000"),
               "wrong key");
    std::string good = a.access_token;
    std::string tampered = good.substr(0, good.find('.') + 1) + b64(claims(a, "access", 86'400)) +
                           good.substr(good.rfind('.'));
    expect_401(port, "Bearer " + tampered, "payload changed, signature kept");
    std::string flipped = good;
    flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'x' ? 'y' : 'x';
    expect_401(port, "Bearer " + flipped, "signature changed");
    expect_401(port, "Bearer not.a.jwt", "garbage");
    expect_401(port, "Bearer " + good.substr(0, good.rfind('.')), "two parts");
    expect_401(port, "Bearer ", "empty");
    expect_401(port, "Basic " + b64(a.email + ":" + a.password), "another scheme");
    expect_401(port, "Bearer fbk_" + std::string(43, 'A'), "unknown API key");
    expect_401(port, "Bearer fbk_short", "malformed API key");
    auto none = http_get(port, "/api/v1/auth/me");
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(error_code(none), "UNAUTHORIZED");
    // A user of another org cannot be impersonated by swapping org in a validly signed token.
    auto b = register_account(port);
    std::string cross = claims(a);
    cross.replace(cross.find(a.org_id), a.org_id.size(), b.org_id);
    expect_401(port, "Bearer " + mint(hs256, cross), "org of another tenant");
}

TEST(AuthTokens, ARefreshTokenIsNeverAnAccessToken) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto a = register_account(server.port());
    expect_401(server.port(), "Bearer " + a.refresh_token, "refresh token as bearer");
    // And the other way round: an access token is no refresh token.
    auto r = send(server.port(), "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(a.access_token) + "}");
    EXPECT_EQ(r.status, 401);
}

TEST(AuthTokens, ApiKeysAreShownOnceStoredHashedAndActForTheirCreator) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto owner = register_account(port);
    auto created = send(port, "POST", "/api/v1/auth/api-keys", R"({"name":"Accounting sync"})", bearer(owner));
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/api-keys", created);
    auto doc = parse(created);
    std::string key = str(doc, "key"), id = str(doc, "id");
    EXPECT_TRUE(key.starts_with("fbk_"));
    EXPECT_TRUE(key.starts_with(str(doc, "prefix")));
    EXPECT_TRUE(doc.find("last_used_at")->is_null());
    EXPECT_EQ(db.scalar("SELECT count(*) FROM api_keys WHERE key_hash = encode(sha256(convert_to('" + key +
                        "', 'UTF8')), 'hex')"),
              "1");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM api_keys WHERE key_hash = '" + key + "' OR prefix = '" + key + "'"), "0");

    auto list = http_get(port, "/api/v1/auth/api-keys", bearer(owner));
    ASSERT_EQ(list.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/auth/api-keys", list);
    EXPECT_EQ(list.body.find(key), std::string::npos) << "the list shows the secret";
    EXPECT_EQ(parse(list).as_array().size(), 1u);

    // The key authenticates as its creator, with the creator's role (owner routes pass).
    auto me = http_get(port, "/api/v1/auth/me", bearer(key));
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(str(parse(me), "id"), owner.user_id);
    EXPECT_EQ(http_get(port, "/api/v1/org/users", bearer(key)).status, 200);
    EXPECT_EQ(db.scalar("SELECT last_used_at IS NOT NULL FROM api_keys"), "t");
    // last_used_at is written at most once a minute, however busy the key.
    std::string used = db.scalar("SELECT last_used_at FROM api_keys");
    for (int i = 0; i < 5; ++i) ASSERT_EQ(http_get(port, "/api/v1/auth/me", bearer(key)).status, 200);
    EXPECT_EQ(db.scalar("SELECT last_used_at FROM api_keys"), used);
    auto listed = parse(http_get(port, "/api/v1/auth/api-keys", bearer(owner)));
    EXPECT_FALSE(listed.as_array()[0].find("last_used_at")->is_null());

    auto bad = send(port, "POST", "/api/v1/auth/api-keys", R"({"name":""})", bearer(owner));
    EXPECT_EQ(error_fields(bad), "name");

    auto revoked = send(port, "DELETE", "/api/v1/auth/api-keys/" + id, "", bearer(owner));
    EXPECT_EQ(revoked.status, 204);
    EXPECT_CONFORMS("DELETE", "/api/v1/auth/api-keys/{id}", revoked);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(key)).status, 401);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/auth/api-keys/" + id, "", bearer(owner)).status, 404);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/auth/api-keys/not-a-uuid", "", bearer(owner)).status, 404);
}

TEST(AuthTokens, RemovalDemotionAndLogoutAllBiteOnTheNextRequest) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto owner = register_account(port);
    auto admin = invite_member(port, owner, "admin");
    auto member = invite_member(port, owner, "member");
    auto admin_key = parse(send(port, "POST", "/api/v1/auth/api-keys", R"({"name":"admin key"})", bearer(admin)));
    std::string key = str(admin_key, "key");
    ASSERT_EQ(http_get(port, "/api/v1/org/users", bearer(admin)).status, 200);
    ASSERT_EQ(http_get(port, "/api/v1/org/users", bearer(key)).status, 200);

    // Demoted: the same unexpired token (and the admin's key) is now a member's.
    auto demote = send(port, "PUT", "/api/v1/org/users/" + admin.user_id, R"({"role":"member"})", bearer(owner));
    ASSERT_EQ(demote.status, 200) << demote.body;
    EXPECT_CONFORMS("PUT", "/api/v1/org/users/{id}", demote);
    EXPECT_EQ(http_get(port, "/api/v1/org/users", bearer(admin)).status, 403);
    EXPECT_EQ(http_get(port, "/api/v1/org/users", bearer(key)).status, 403);

    // Removed: token and key are dead at once.
    auto removed = send(port, "DELETE", "/api/v1/org/users/" + admin.user_id, "", bearer(owner));
    ASSERT_EQ(removed.status, 204) << removed.body;
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(admin)).status, 401);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(key)).status, 401);
    EXPECT_EQ(send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(admin.refresh_token) + "}").status,
              401);

    // Logout-all by the member ends the member's access token too.
    ASSERT_EQ(send(port, "POST", "/api/v1/auth/logout", R"({"all":true})", bearer(member)).status, 204);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(member)).status, 401);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(owner)).status, 200) << "another user was logged out";
}

}  // namespace
}  // namespace flashbill::test
