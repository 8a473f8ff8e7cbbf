#pragma once
// Accounts for API tests of any suite: register an owner, or invite and sign in a member, through
// the real /api/v1/auth routes of a running server.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "http_client.hpp"

namespace flashbill::test {

struct TestAccount {
    std::string access_token, refresh_token, user_id, org_id, email, password;
};

// A fresh address, unique within the test run (the server lower-cases addresses).
std::string unique_email(const std::string& tag = "user");

// POST /api/v1/auth/register; throws std::runtime_error (with the answer) unless 201.
TestAccount register_account(std::uint16_t port, std::string email = unique_email(), std::string company = "Test Co");

// The owner (or an admin) invites a new user with `role`; the token is taken from the queued
// invitation email (GET /__test/mail, so the server needs TEST_ROUTES, the test default) and
// accepted. Throws std::runtime_error when a step fails.
TestAccount invite_member(std::uint16_t port, const TestAccount& owner, std::string role);

// {"Authorization", "Bearer <access token>"} for the http_* helpers.
std::vector<std::pair<std::string, std::string>> bearer(const TestAccount& account);
std::vector<std::pair<std::string, std::string>> bearer(const std::string& token);

// The token in the first `token=` link of a mail text ("" when absent).
std::string token_from_link(const std::string& text);

}  // namespace flashbill::test
