// Accounts end to end through the real binary, PostgreSQL, the job worker and the SMTP server:
// register, verify, sign in, rotate and replay refresh tokens, reset the password; and the input
// rules of each route (fields named, nothing written on bad input).

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using namespace std::chrono_literals;
using namespace auth_util;

// Quoted-printable soft line breaks and escapes undone, so links can be read from a message.
std::string qp_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '=' && i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '\n') {
            i += 1;
        } else if (s[i] == '=' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Waits for a message to `to` whose subject contains `subject_part` at the harness's SMTP server
// and returns its decoded source.
std::string wait_for_mail(const std::string& to, const std::string& subject_part, int nth = 1) {
    for (auto start = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - start < 30s;) {
        std::ifstream in(smtp_dir() + "/mail/index.jsonl");
        std::string line;
        int seen = 0;
        while (std::getline(in, line)) {
            auto v = json::parse(line);
            if (!v) continue;
            const json::Value* rcpt = v->find("rcpt_tos");
            bool mine = false;
            if (rcpt && rcpt->is_array()) {
                for (const auto& r : rcpt->as_array()) mine = mine || (r.is_string() && r.as_string() == to);
            }
            if (!mine || str(*v, "subject").find(subject_part) == std::string::npos) continue;
            if (++seen < nth) continue;
            std::ifstream eml(str(*v, "file"));
            std::stringstream ss;
            ss << eml.rdbuf();
            return qp_decode(ss.str());
        }
        std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "no mail to " << to << " with subject containing '" << subject_part << "'";
    return {};
}

std::map<std::string, std::string> smtp_env(const TestDatabase& db) {
    return env(db, {{"SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp_port())},
                    {"SMTP_STARTTLS", "none"},
                    {"APP_URL", "https://app.flashbill.test"},
                    {"JOB_POLL_INTERVAL_MS", "200"}});
}

TEST(AuthFlow, RegisterVerifyLoginRefreshReplayResetAndSignInAgain) {
    TestDatabase db;
    ServerProcess server(smtp_env(db));
    const auto port = server.port();
    const std::string email = unique_email("flow");
    const std::string password = "first-Passphrase-77";

    // Register: 201 AuthResult, and a verification email arrives through the queue and SMTP.
    auto reg = send(port, "POST", "/api/v1/auth/register",
                    R"({"email":)" + jstr(email) + R"(,"password":)" + jstr(password) +
                        R"(,"company_name":"Flow Co","phone":"+1 555 0100","business_type":"consulting"})");
    ASSERT_EQ(reg.status, 201) << reg.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/register", reg);
    auto result = parse(reg);
    EXPECT_EQ(str(*result.find("user"), "role"), "owner");
    EXPECT_EQ(str(result, "token_type"), "Bearer");
    EXPECT_EQ(result.find("expires_in")->as_exact_int64(), 900);
    std::string verify_mail = wait_for_mail(email, "Confirm");
    EXPECT_NE(verify_mail.find("https://app.flashbill.test/verify-email?token="), std::string::npos) << verify_mail;
    std::string verify_token = token_from_link(verify_mail);
    ASSERT_EQ(verify_token.size(), 43u) << verify_mail;
    EXPECT_EQ(db.scalar("SELECT count(*) FROM one_time_tokens WHERE token_hash = encode(sha256(convert_to('" +
                        verify_token + "', 'UTF8')), 'hex')"),
              "1")
        << "stored as its SHA-256";
    EXPECT_EQ(db.scalar("SELECT count(*) FROM one_time_tokens WHERE token_hash = '" + verify_token + "'"), "0");

    // Verify (POST), which makes /me say so; a second use is refused.
    auto verified = send(port, "POST", "/api/v1/auth/verify-email", R"({"token":)" + jstr(verify_token) + "}");
    ASSERT_EQ(verified.status, 200) << verified.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/verify-email", verified);
    auto again = send(port, "POST", "/api/v1/auth/verify-email", R"({"token":)" + jstr(verify_token) + "}");
    EXPECT_EQ(again.status, 400);
    EXPECT_EQ(error_code(again), "BAD_REQUEST");

    // Login (the address is case-insensitive) and /me.
    std::string spelled = " " + email + " ";
    spelled[1] = static_cast<char>(std::toupper(static_cast<unsigned char>(spelled[1])));
    auto login = send(port, "POST", "/api/v1/auth/login",
                      R"({"email":)" + jstr(spelled) + R"(,"password":)" + jstr(password) + "}");
    ASSERT_EQ(login.status, 200) << login.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/login", login);
    auto session = parse(login);
    std::string access = str(session, "access_token");
    std::string refresh1 = str(session, "refresh_token");
    auto me = http_get(port, "/api/v1/auth/me", bearer(access));
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_CONFORMS("GET", "/api/v1/auth/me", me);
    auto me_doc = parse(me);
    EXPECT_EQ(str(me_doc, "email"), email);
    EXPECT_TRUE(me_doc.find("email_verified")->as_bool());
    EXPECT_EQ(str(me_doc, "company_name"), "Flow Co");
    EXPECT_FALSE(me_doc.find("last_login_at")->is_null());

    // Refresh: a new refresh token; the old one is spent.
    auto r1 = send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh1) + "}");
    ASSERT_EQ(r1.status, 200) << r1.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/refresh", r1);
    std::string refresh2 = str(parse(r1), "refresh_token");
    EXPECT_NE(refresh2, refresh1);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(str(parse(r1), "access_token"))).status, 200);

    // Replaying the spent token is refused and revokes the family: the newest token dies too.
    auto replay = send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh1) + "}");
    EXPECT_EQ(replay.status, 401);
    EXPECT_EQ(error_code(replay), "UNAUTHORIZED");
    EXPECT_CONFORMS("POST", "/api/v1/auth/refresh", replay);
    auto after_replay = send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh2) + "}");
    EXPECT_EQ(after_replay.status, 401) << "the family survived a replay";

    // A second session (from another login) to prove a reset ends every session.
    auto login2 = send(port, "POST", "/api/v1/auth/login",
                       R"({"email":)" + jstr(email) + R"(,"password":)" + jstr(password) + "}");
    ASSERT_EQ(login2.status, 200);
    std::string access2 = str(parse(login2), "access_token");
    std::string refresh3 = str(parse(login2), "refresh_token");

    // Forgot: 202, and a reset link arrives.
    auto forgot = send(port, "POST", "/api/v1/auth/forgot-password", R"({"email":)" + jstr(email) + "}");
    ASSERT_EQ(forgot.status, 202) << forgot.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/forgot-password", forgot);
    std::string reset_mail = wait_for_mail(email, "eset");
    EXPECT_NE(reset_mail.find("https://app.flashbill.test/reset-password?token="), std::string::npos) << reset_mail;
    std::string reset_token = token_from_link(reset_mail);
    ASSERT_EQ(reset_token.size(), 43u);

    // Reset: 204; every old session is dead, refresh and access alike; the token is single-use.
    const std::string new_password = "second-Passphrase-88";
    auto reset = send(port, "POST", "/api/v1/auth/reset-password",
                      R"({"token":)" + jstr(reset_token) + R"(,"new_password":)" + jstr(new_password) + "}");
    ASSERT_EQ(reset.status, 204) << reset.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/reset-password", reset);
    EXPECT_EQ(send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh3) + "}").status, 401);
    auto dead = http_get(port, "/api/v1/auth/me", bearer(access2));
    EXPECT_EQ(dead.status, 401);
    EXPECT_EQ(error_code(dead), "UNAUTHORIZED");
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(access)).status, 401);
    auto reuse = send(port, "POST", "/api/v1/auth/reset-password",
                      R"({"token":)" + jstr(reset_token) + R"(,"new_password":"third-Passphrase-99"})");
    EXPECT_EQ(reuse.status, 400);
    EXPECT_EQ(error_code(reuse), "BAD_REQUEST");

    // The old password no longer works; the new one does.
    auto old_login = send(port, "POST", "/api/v1/auth/login",
                          R"({"email":)" + jstr(email) + R"(,"password":)" + jstr(password) + "}");
    EXPECT_EQ(old_login.status, 401);
    EXPECT_EQ(error_code(old_login), "INVALID_CREDENTIALS");
    auto new_login = send(port, "POST", "/api/v1/auth/login",
                          R"({"email":)" + jstr(email) + R"(,"password":)" + jstr(new_password) + "}");
    ASSERT_EQ(new_login.status, 200) << new_login.body;
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(str(parse(new_login), "access_token"))).status, 200);
}

TEST(AuthFlow, VerifyEmailLinkWorksAsAGetAndTokensAreSingleUse) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto acct = register_account(server.port());
    auto mail = http_get(server.port(), "/__test/mail?to=" + acct.email);
    ASSERT_EQ(mail.status, 200);
    std::string token = token_from_link(str(parse(mail), "text"));
    auto v = http_get(server.port(), "/api/v1/auth/verify-email?token=" + token);
    ASSERT_EQ(v.status, 200) << v.body;
    EXPECT_CONFORMS("GET", "/api/v1/auth/verify-email", v);
    EXPECT_TRUE(parse(v).find("success")->as_bool());
    auto again = http_get(server.port(), "/api/v1/auth/verify-email?token=" + token);
    EXPECT_EQ(again.status, 400);
    EXPECT_CONFORMS("GET", "/api/v1/auth/verify-email", again);
    EXPECT_EQ(http_get(server.port(), "/api/v1/auth/verify-email?token=nope").status, 400);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL"), "1");
}

TEST(AuthFlow, RegisterNamesEveryBadFieldAndWritesNothing) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    const std::string before = snapshot(db);

    auto r = send(port, "POST", "/api/v1/auth/register", R"({"email":"not-an-email","password":"short","phone":7})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_code(r), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(r), "email,password,phone");
    EXPECT_CONFORMS("POST", "/api/v1/auth/register", r);

    auto common = send(port, "POST", "/api/v1/auth/register", R"({"email":"a@example.test","password":"Password123"})");
    EXPECT_EQ(common.status, 400);
    EXPECT_EQ(error_fields(common), "password");

    auto missing = send(port, "POST", "/api/v1/auth/register", "{}");
    EXPECT_EQ(error_fields(missing), "email,password");
    auto not_object = send(port, "POST", "/api/v1/auth/register", "[1]");
    EXPECT_EQ(error_code(not_object), "VALIDATION_ERROR");
    auto malformed = send(port, "POST", "/api/v1/auth/register", R"({"email":)");
    EXPECT_EQ(malformed.status, 400);
    EXPECT_EQ(error_code(malformed), "BAD_REQUEST");
    EXPECT_EQ(snapshot(db), before) << "a refused registration wrote something";

    // A duplicate (in any letter case) is 409 and changes nothing either.
    auto first = register_account(port, unique_email("dup"));
    const std::string after_first = snapshot(db);
    std::string upper = first.email;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto dup = send(port, "POST", "/api/v1/auth/register",
                    R"({"email":)" + jstr(upper) + R"(,"password":"another-fine-passphrase"})");
    EXPECT_EQ(dup.status, 409) << dup.body;
    EXPECT_EQ(error_code(dup), "CONFLICT");
    EXPECT_CONFORMS("POST", "/api/v1/auth/register", dup);
    EXPECT_EQ(snapshot(db), after_first);
}

TEST(AuthFlow, LoginFailuresLookTheSameForUnknownEmailsAndWrongPasswords) {
    TestDatabase db;
    ServerProcess server(env(db, {{"RATE_LIMIT_LOGIN_FAILURES", "100/15min"}}));
    auto acct = register_account(server.port());
    auto timed = [&](const std::string& email) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = send(server.port(), "POST", "/api/v1/auth/login",
                      R"({"email":)" + jstr(email) + R"(,"password":"not-the-password-1"})");
        return std::make_pair(r, std::chrono::steady_clock::now() - t0);
    };
    // Interleaved samples and medians: the machine is shared, single timings are noise.
    std::vector<std::chrono::nanoseconds> wrong_times, unknown_times;
    HttpResponse wrong, unknown;
    for (int i = 0; i < 5; ++i) {
        auto [w, wt] = timed(acct.email);
        auto [u, ut] = timed(unique_email("nobody"));
        wrong_times.push_back(wt);
        unknown_times.push_back(ut);
        wrong = w;
        unknown = u;
    }
    std::sort(wrong_times.begin(), wrong_times.end());
    std::sort(unknown_times.begin(), unknown_times.end());
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(error_code(wrong), "INVALID_CREDENTIALS");
    EXPECT_EQ(error_code(unknown), "INVALID_CREDENTIALS");
    EXPECT_EQ(parse(wrong).find("error")->find("message")->as_string(),
              parse(unknown).find("error")->find("message")->as_string());
    EXPECT_CONFORMS("POST", "/api/v1/auth/login", unknown);
    // Both cost one argon2 verification (tens of milliseconds); skipping it for unknown addresses
    // would make them answer in about a millisecond.
    EXPECT_GT(unknown_times[2] * 3, wrong_times[2]) << "unknown email answered much faster";
    auto missing = send(server.port(), "POST", "/api/v1/auth/login", R"({"email":"x@example.test"})");
    EXPECT_EQ(error_fields(missing), "password");
}

TEST(AuthFlow, ForgotPasswordAlwaysAnswers202AndMailsOnlyRealAccounts) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto acct = register_account(server.port());
    auto known = send(server.port(), "POST", "/api/v1/auth/forgot-password", R"({"email":)" + jstr(acct.email) + "}");
    auto unknown = send(server.port(), "POST", "/api/v1/auth/forgot-password", R"({"email":"ghost@example.test"})");
    EXPECT_EQ(known.status, 202);
    EXPECT_EQ(unknown.status, 202);
    EXPECT_EQ(known.body, unknown.body);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM one_time_tokens WHERE purpose = 'reset_password' "
                        "AND expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes'"),
              "1");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE payload->'to' ? 'ghost@example.test'"), "0");
    auto bad = send(server.port(), "POST", "/api/v1/auth/forgot-password", R"({"email":"nope"})");
    EXPECT_EQ(error_fields(bad), "email");
}

TEST(AuthFlow, ChangePasswordChecksTheCurrentOneAndThePolicy) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto acct = register_account(server.port());
    const std::string before = snapshot(db);
    auto wrong = send(server.port(), "POST", "/api/v1/auth/change-password",
                      R"({"current_password":"not-it-at-all","new_password":"a-new-good-passphrase"})", bearer(acct));
    EXPECT_EQ(wrong.status, 400);
    EXPECT_EQ(error_code(wrong), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(wrong), "current_password");
    EXPECT_CONFORMS("POST", "/api/v1/auth/change-password", wrong);
    auto weak = send(server.port(), "POST", "/api/v1/auth/change-password",
                     R"({"current_password":)" + jstr(acct.password) + R"(,"new_password":"1234567890"})", bearer(acct));
    EXPECT_EQ(error_fields(weak), "new_password");
    EXPECT_EQ(snapshot(db), before);
    auto ok = send(server.port(), "POST", "/api/v1/auth/change-password",
                   R"({"current_password":)" + jstr(acct.password) + R"(,"new_password":"a-new-good-passphrase"})",
                   bearer(acct));
    EXPECT_EQ(ok.status, 204) << ok.body;
    auto login = send(server.port(), "POST", "/api/v1/auth/login",
                      R"({"email":)" + jstr(acct.email) + R"(,"password":"a-new-good-passphrase"})");
    EXPECT_EQ(login.status, 200);
    auto anonymous = send(server.port(), "POST", "/api/v1/auth/change-password", R"({})");
    EXPECT_EQ(anonymous.status, 401);
}

TEST(AuthFlow, ProfileUpdatesMergeAndNullClears) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto acct = register_account(server.port());
    auto put = send(server.port(), "PUT", "/api/v1/auth/me",
                    R"({"phone":"+44 20 7946 0000","business_address":{"city":"London","country":"GB"},)"
                    R"("notification_settings":{"email_payment_received":true}})",
                    bearer(acct));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_CONFORMS("PUT", "/api/v1/auth/me", put);
    auto doc = parse(put);
    EXPECT_EQ(str(doc, "phone"), "+44 20 7946 0000");
    EXPECT_EQ(str(*doc.find("business_address"), "city"), "London");
    EXPECT_EQ(str(doc, "company_name"), "Test Co") << "absent fields stay";
    auto alias = send(server.port(), "PUT", "/api/v1/auth/profile", R"({"phone":null,"business_type":"retail"})",
                      bearer(acct));
    ASSERT_EQ(alias.status, 200) << alias.body;
    EXPECT_CONFORMS("PUT", "/api/v1/auth/profile", alias);
    auto doc2 = parse(alias);
    EXPECT_TRUE(doc2.find("phone")->is_null());
    EXPECT_EQ(str(doc2, "business_type"), "retail");
    EXPECT_EQ(str(*doc2.find("business_address"), "country"), "GB");
    const std::string before = snapshot(db);
    auto bad = send(server.port(), "PUT", "/api/v1/auth/me", R"({"phone":5,"business_address":"Main St"})", bearer(acct));
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(error_fields(bad), "phone,business_address");
    EXPECT_EQ(snapshot(db), before);
}

TEST(AuthFlow, LogoutEndsOneSessionOrAll) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto acct = register_account(port);
    auto second = send(port, "POST", "/api/v1/auth/login",
                       R"({"email":)" + jstr(acct.email) + R"(,"password":)" + jstr(acct.password) + "}");
    ASSERT_EQ(second.status, 200);
    std::string refresh2 = str(parse(second), "refresh_token");

    auto one = send(port, "POST", "/api/v1/auth/logout", R"({"refresh_token":)" + jstr(acct.refresh_token) + "}");
    EXPECT_EQ(one.status, 204);
    EXPECT_CONFORMS("POST", "/api/v1/auth/logout", one);
    EXPECT_EQ(send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(acct.refresh_token) + "}").status,
              401);
    auto still = send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh2) + "}");
    ASSERT_EQ(still.status, 200) << "logging out one session ended another";
    std::string refresh3 = str(parse(still), "refresh_token");

    EXPECT_EQ(send(port, "POST", "/api/v1/auth/logout", R"({"all":true})").status, 401) << "all needs a bearer";
    auto all = send(port, "POST", "/api/v1/auth/logout", R"({"all":true})", bearer(acct));
    EXPECT_EQ(all.status, 204) << all.body;
    EXPECT_EQ(send(port, "POST", "/api/v1/auth/refresh", R"({"refresh_token":)" + jstr(refresh3) + "}").status, 401);
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(acct)).status, 401) << "access tokens survived logout-all";
}

}  // namespace
}  // namespace flashbill::test
