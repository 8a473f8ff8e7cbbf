// The team under /org: who may manage it (owners and admins), tenancy (another org's ids are 404),
// and the invariant that an org always keeps an owner.

#include <gtest/gtest.h>

#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

TEST(AuthTeam, InviteAcceptAndListTheTeam) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto owner = register_account(port, unique_email("owner"), "Team Co");
    const std::string email = unique_email("invitee");
    auto inv = send(port, "POST", "/api/v1/org/invitations", R"({"email":)" + jstr(email) + R"(,"role":"admin"})",
                    bearer(owner));
    ASSERT_EQ(inv.status, 201) << inv.body;
    EXPECT_CONFORMS("POST", "/api/v1/org/invitations", inv);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM one_time_tokens WHERE purpose = 'invitation' AND expires_at BETWEEN "
                        "now() + interval '6 days 23 hours' AND now() + interval '7 days 1 hour'"),
              "1");
    auto mail = parse(http_get(port, "/__test/mail?to=" + email));
    EXPECT_NE(str(mail, "text").find("/accept-invite?token="), std::string::npos);
    EXPECT_NE(str(mail, "text").find("Team Co"), std::string::npos);
    std::string token = token_from_link(str(mail, "text"));

    auto weak = send(port, "POST", "/api/v1/auth/accept-invite", R"({"token":)" + jstr(token) + R"(,"password":"abc"})");
    EXPECT_EQ(error_fields(weak), "password");
    auto accepted = send(port, "POST", "/api/v1/auth/accept-invite",
                         R"({"token":)" + jstr(token) + R"(,"password":"invited-admin-passphrase","name":"Ada"})");
    ASSERT_EQ(accepted.status, 200) << accepted.body;
    EXPECT_CONFORMS("POST", "/api/v1/auth/accept-invite", accepted);
    auto result = parse(accepted);
    EXPECT_EQ(str(*result.find("user"), "role"), "admin");
    EXPECT_EQ(str(*result.find("user"), "org_id"), owner.org_id);
    auto reuse = send(port, "POST", "/api/v1/auth/accept-invite",
                      R"({"token":)" + jstr(token) + R"(,"password":"invited-admin-passphrase"})");
    EXPECT_EQ(reuse.status, 400);
    EXPECT_EQ(error_code(reuse), "BAD_REQUEST");

    auto users = http_get(port, "/api/v1/org/users", bearer(owner));
    ASSERT_EQ(users.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/org/users", users);
    EXPECT_EQ(parse(users).as_array().size(), 2u);
    auto org = http_get(port, "/api/v1/org", bearer(owner));
    ASSERT_EQ(org.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/org", org);
    EXPECT_EQ(str(parse(org), "name"), "Team Co");

    // An address that already has an account cannot be invited (addresses are unique).
    auto dup = send(port, "POST", "/api/v1/org/invitations", R"({"email":)" + jstr(email) + R"(,"role":"member"})",
                    bearer(owner));
    EXPECT_EQ(dup.status, 409);
    auto bad = send(port, "POST", "/api/v1/org/invitations", R"({"email":"x","role":"boss"})", bearer(owner));
    EXPECT_EQ(error_fields(bad), "email,role");
}

TEST(AuthTeam, MembersGet403OnOwnerAndAdminRoutes) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto owner = register_account(port);
    auto member = invite_member(port, owner, "member");
    const std::string before = snapshot(db);
    auto check = [&](const HttpResponse& r, const char* method, const char* path) {
        EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
        EXPECT_EQ(error_code(r), "FORBIDDEN");
        EXPECT_CONFORMS(method, path, r);
    };
    check(http_get(port, "/api/v1/org/users", bearer(member)), "GET", "/api/v1/org/users");
    check(send(port, "POST", "/api/v1/org/invitations", R"({"email":"z@example.test","role":"member"})", bearer(member)),
          "POST", "/api/v1/org/invitations");
    check(send(port, "PUT", "/api/v1/org/users/" + owner.user_id, R"({"role":"member"})", bearer(member)), "PUT",
          "/api/v1/org/users/{id}");
    check(send(port, "DELETE", "/api/v1/org/users/" + owner.user_id, "", bearer(member)), "DELETE",
          "/api/v1/org/users/{id}");
    check(http_get(port, "/api/v1/auth/api-keys", bearer(member)), "GET", "/api/v1/auth/api-keys");
    check(send(port, "POST", "/api/v1/auth/api-keys", R"({"name":"k"})", bearer(member)), "POST", "/api/v1/auth/api-keys");
    EXPECT_EQ(snapshot(db), before) << "a forbidden request changed data";
    // What members may do.
    EXPECT_EQ(http_get(port, "/api/v1/auth/me", bearer(member)).status, 200);
    EXPECT_EQ(http_get(port, "/api/v1/org", bearer(member)).status, 200);
    // Admins manage the team but cannot make or unmake owners.
    auto admin = invite_member(port, owner, "admin");
    EXPECT_EQ(send(port, "PUT", "/api/v1/org/users/" + member.user_id, R"({"role":"admin"})", bearer(admin)).status, 200);
    EXPECT_EQ(send(port, "PUT", "/api/v1/org/users/" + admin.user_id, R"({"role":"owner"})", bearer(admin)).status, 403);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/org/users/" + owner.user_id, "", bearer(admin)).status, 403);
    EXPECT_EQ(send(port, "POST", "/api/v1/org/invitations", R"({"email":"o@example.test","role":"owner"})", bearer(admin))
                  .status,
              403);
}

TEST(AuthTeam, AnotherOrganizationsUsersAndKeysAre404) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto mine = register_account(port);
    auto theirs = register_account(port);
    auto their_member = invite_member(port, theirs, "member");
    auto their_key = str(parse(send(port, "POST", "/api/v1/auth/api-keys", R"({"name":"theirs"})", bearer(theirs))), "id");
    const std::string before = snapshot(db);

    auto put = send(port, "PUT", "/api/v1/org/users/" + their_member.user_id, R"({"role":"admin"})", bearer(mine));
    EXPECT_EQ(put.status, 404);
    EXPECT_EQ(error_code(put), "NOT_FOUND");
    EXPECT_CONFORMS("PUT", "/api/v1/org/users/{id}", put);
    auto del = send(port, "DELETE", "/api/v1/org/users/" + theirs.user_id, "", bearer(mine));
    EXPECT_EQ(del.status, 404);
    EXPECT_CONFORMS("DELETE", "/api/v1/org/users/{id}", del);
    auto key = send(port, "DELETE", "/api/v1/auth/api-keys/" + their_key, "", bearer(mine));
    EXPECT_EQ(key.status, 404);
    EXPECT_CONFORMS("DELETE", "/api/v1/auth/api-keys/{id}", key);
    EXPECT_EQ(send(port, "PUT", "/api/v1/org/users/not-a-uuid", R"({"role":"admin"})", bearer(mine)).status, 404);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/org/users/00000000-0000-4000-8000-000000000000", "", bearer(mine)).status, 404);
    EXPECT_EQ(snapshot(db), before);
    // Lists are the caller's org only.
    EXPECT_EQ(parse(http_get(port, "/api/v1/org/users", bearer(mine))).as_array().size(), 1u);
    EXPECT_EQ(parse(http_get(port, "/api/v1/auth/api-keys", bearer(mine))).as_array().size(), 0u);
}

TEST(AuthTeam, TheLastOwnerCanBeNeitherDemotedNorRemoved) {
    TestDatabase db;
    ServerProcess server(env(db));
    const auto port = server.port();
    auto owner = register_account(port);
    const std::string before = snapshot(db);
    auto demote = send(port, "PUT", "/api/v1/org/users/" + owner.user_id, R"({"role":"admin"})", bearer(owner));
    EXPECT_EQ(demote.status, 409);
    EXPECT_EQ(error_code(demote), "CONFLICT");
    EXPECT_CONFORMS("PUT", "/api/v1/org/users/{id}", demote);
    auto remove = send(port, "DELETE", "/api/v1/org/users/" + owner.user_id, "", bearer(owner));
    EXPECT_EQ(remove.status, 409);
    EXPECT_CONFORMS("DELETE", "/api/v1/org/users/{id}", remove);
    EXPECT_EQ(snapshot(db), before);

    // With a second owner, either may step down, and then the other is the last again.
    auto second = invite_member(port, owner, "owner");
    EXPECT_EQ(send(port, "PUT", "/api/v1/org/users/" + owner.user_id, R"({"role":"admin"})", bearer(owner)).status, 200);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/org/users/" + second.user_id, "", bearer(second)).status, 409);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM users WHERE org_id = '" + owner.org_id + "' AND role = 'owner'"), "1");
}

}  // namespace
}  // namespace flashbill::test
