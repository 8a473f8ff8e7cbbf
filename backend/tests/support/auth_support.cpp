#include "auth_support.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "core/json.hpp"

namespace flashbill::test {

namespace {

std::string field(const std::string& body, const char* a, const char* b = nullptr) {
    auto doc = json::parse(body);
    if (!doc) throw std::runtime_error("not JSON: " + body);
    const json::Value* v = doc->find(a);
    if (v && b) v = v->find(b);
    if (!v || !v->is_string()) throw std::runtime_error(std::string("no ") + a + " in " + body);
    return v->as_string();
}

std::string json_string(const std::string& s) {
    std::string out;
    json::append_escaped(out, s);
    return out;
}

TestAccount from_auth_result(const HttpResponse& r, std::string email, std::string password) {
    TestAccount a;
    a.access_token = field(r.body, "access_token");
    a.refresh_token = field(r.body, "refresh_token");
    a.user_id = field(r.body, "user", "id");
    a.org_id = field(r.body, "user", "org_id");
    a.email = std::move(email);
    a.password = std::move(password);
    return a;
}

}  // namespace

std::string unique_email(const std::string& tag) {
    static std::atomic<int> n{0};
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(now % 1'000'000'007) + "-" +
           std::to_string(n.fetch_add(1)) + "@example.test";
}

std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}
std::vector<std::pair<std::string, std::string>> bearer(const TestAccount& account) {
    return bearer(account.access_token);
}

std::string token_from_link(const std::string& text) {
    auto pos = text.find("token=");
    if (pos == std::string::npos) return {};
    pos += 6;
    auto end = pos;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '-' ||
                                 text[end] == '_')) {
        ++end;
    }
    return text.substr(pos, end - pos);
}

TestAccount register_account(std::uint16_t port, std::string email, std::string company) {
    std::string password = "Tr1cky-" + email.substr(0, 6) + "-horse-battery";
    auto r = http_post_json(port, "/api/v1/auth/register",
                            R"({"email":)" + json_string(email) + R"(,"password":)" + json_string(password) +
                                R"(,"company_name":)" + json_string(company) + "}");
    if (r.status != 201) throw std::runtime_error("register " + email + ": " + std::to_string(r.status) + " " + r.body);
    return from_auth_result(r, std::move(email), std::move(password));
}

TestAccount invite_member(std::uint16_t port, const TestAccount& owner, std::string role) {
    std::string email = unique_email(role);
    auto inv = http_post_json(port, "/api/v1/org/invitations",
                              R"({"email":)" + json_string(email) + R"(,"role":)" + json_string(role) + "}",
                              bearer(owner));
    if (inv.status != 201) throw std::runtime_error("invite: " + std::to_string(inv.status) + " " + inv.body);
    auto mail = http_get(port, "/__test/mail?to=" + email);
    if (mail.status != 200) throw std::runtime_error("no invitation mail: " + mail.body);
    std::string token = token_from_link(field(mail.body, "text"));
    std::string password = "Invited-" + role + "-staple-battery";
    auto acc = http_post_json(port, "/api/v1/auth/accept-invite",
                              R"({"token":)" + json_string(token) + R"(,"password":)" + json_string(password) + "}");
    if (acc.status != 200) throw std::runtime_error("accept-invite: " + std::to_string(acc.status) + " " + acc.body);
    return from_auth_result(acc, std::move(email), std::move(password));
}

}  // namespace flashbill::test
