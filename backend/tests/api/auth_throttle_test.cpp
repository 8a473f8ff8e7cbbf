// Throttling of the credential routes through the shared rate limiter: failed logins per account
// across server processes sharing Redis, the per-IP limit, and the per-account budget of
// register/forgot/reset.

#include <gtest/gtest.h>

#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "own_service.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

HttpResponse login(std::uint16_t port, const std::string& email, const std::string& password) {
    return send(port, "POST", "/api/v1/auth/login", R"({"email":)" + jstr(email) + R"(,"password":)" + jstr(password) + "}");
}

TEST(AuthThrottle, SixthWrongPasswordForOneAccountIs429AcrossTwoProcesses) {
    TestDatabase db;
    OwnService redis("redis");
    auto e = env(db, {{"REDIS_URL", redis.url()}});
    ServerProcess a(e), b(e);
    auto acct = register_account(a.port());
    // Five failures, spread over both nodes.
    for (int i = 0; i < 5; ++i) {
        auto r = login(i % 2 ? b.port() : a.port(), acct.email, "wrong-password-" + std::to_string(i));
        ASSERT_EQ(r.status, 401) << "attempt " << i + 1 << ": " << r.body;
    }
    auto sixth = login(b.port(), acct.email, "wrong-password-6");
    EXPECT_EQ(sixth.status, 429) << sixth.body;
    EXPECT_EQ(error_code(sixth), "RATE_LIMITED");
    EXPECT_CONFORMS("POST", "/api/v1/auth/login", sixth);
    int retry = std::atoi(sixth.header("Retry-After").c_str());
    EXPECT_GE(retry, 1);
    EXPECT_LE(retry, 15 * 60);
    // While throttled even the right password is refused (that is the point), on either node,
    // and in any spelling of the address.
    EXPECT_EQ(login(a.port(), acct.email, acct.password).status, 429);
    std::string upper = acct.email;
    upper[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[0])));
    EXPECT_EQ(login(a.port(), upper, acct.password).status, 429);
    // Other accounts are unaffected.
    auto other = register_account(b.port());
    EXPECT_EQ(login(a.port(), other.email, other.password).status, 200);
}

TEST(AuthThrottle, SuccessfulLoginsDoNotCountAsFailures) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto acct = register_account(server.port());
    for (int i = 0; i < 8; ++i) ASSERT_EQ(login(server.port(), acct.email, acct.password).status, 200) << i;
}

TEST(AuthThrottle, AuthRoutesAreLimitedPerIp) {
    TestDatabase db;
    ServerProcess server(env(db, {{"RATE_LIMIT_AUTH", "4/min"}}));
    for (int i = 0; i < 4; ++i) {
        auto r = send(server.port(), "POST", "/api/v1/auth/refresh", R"({"refresh_token":"nope"})");
        EXPECT_EQ(r.status, 401);
        EXPECT_EQ(r.header("RateLimit-Limit"), "4");
    }
    auto limited = send(server.port(), "POST", "/api/v1/auth/login", R"({"email":"a@example.test","password":"x"})");
    EXPECT_EQ(limited.status, 429);
    EXPECT_FALSE(limited.header("Retry-After").empty());
    EXPECT_EQ(limited.header("RateLimit-Remaining"), "0");
    EXPECT_CONFORMS("POST", "/api/v1/auth/login", limited);
}

TEST(AuthThrottle, ForgotPasswordIsLimitedPerAccount) {
    TestDatabase db;
    ServerProcess server(env(db, {{"RATE_LIMIT_AUTH_ACCOUNT", "2/hour"}}));
    auto acct = register_account(server.port());
    const std::string body = R"({"email":)" + jstr(acct.email) + "}";
    EXPECT_EQ(send(server.port(), "POST", "/api/v1/auth/forgot-password", body).status, 202);
    EXPECT_EQ(send(server.port(), "POST", "/api/v1/auth/forgot-password", body).status, 202);
    auto third = send(server.port(), "POST", "/api/v1/auth/forgot-password", body);
    EXPECT_EQ(third.status, 429);
    EXPECT_CONFORMS("POST", "/api/v1/auth/forgot-password", third);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM one_time_tokens WHERE purpose = 'reset_password'"), "2");
    EXPECT_EQ(send(server.port(), "POST", "/api/v1/auth/forgot-password", R"({"email":"other@example.test"})").status,
              202);
}

}  // namespace
}  // namespace flashbill::test
