// Tenancy sweep (DESIGN.md, "Data rules"): for every route of the running server whose path has an
// id, another organization's token with this organization's ids must get 404 — never 403, never
// the data. The route table comes from the server itself (/__test/routes), so a route added later
// is swept too, and a route whose id names a resource this test cannot create fails the test.

#include <gtest/gtest.h>

#include <map>

#include "auth_test_util.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

TEST(TenancySweep, EveryRouteWithAnIdAnswers404ToAnotherOrganization) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto a = register_account(port);
    auto b = register_account(port);

    // One of each resource in org A.
    std::map<std::string, std::string> ids;
    ids["clients"] = str(parse(send(port, "POST", "/api/v1/clients", R"({"name":"A's client"})", bearer(a))), "id");
    auto inv = send(port, "POST", "/api/v1/invoices",
                    R"({"client_id":")" + ids["clients"] +
                        R"(","issue_date":"2099-01-01","items":[{"description":"W","quantity":1,"unit_price":100}]})",
                    bearer(a));
    ids["invoices"] = str(parse(inv), "id");
    ASSERT_EQ(send(port, "POST", "/api/v1/invoices/" + ids["invoices"] + "/mark-sent", "", bearer(a)).status, 200);
    ids["payments"] = str(parse(send(port, "POST", "/api/v1/invoices/" + ids["invoices"] + "/payments",
                                     R"({"amount":10})", bearer(a))),
                          "id");
    ids["tax"] = str(parse(send(port, "POST", "/api/v1/settings/tax", R"({"label":"T","rate":5})", bearer(a))), "id");
    ids["users"] = a.user_id;
    ids["api-keys"] = str(parse(send(port, "POST", "/api/v1/auth/api-keys", R"({"name":"k"})", bearer(a))), "id");
    ids["files"] = db.scalar(
        "INSERT INTO files (org_id, file_name, size, content_type, sha256) VALUES ('" + a.org_id +
        "', 'r.pdf', 3, 'application/pdf', repeat('a', 64)) RETURNING id");
    ids["expenses"] = db.scalar("INSERT INTO expenses (org_id, amount, currency, category, date_incurred, receipt_file_id) "
                                "VALUES ('" + a.org_id + "', 500, 'USD', 'travel', '2026-01-01', '" + ids["files"] +
                                "') RETURNING id");
    for (auto& [k, v] : ids) ASSERT_EQ(v.size(), 36u) << "could not create a " << k;

    auto routes = parse(http_get(port, "/__test/routes"));
    ASSERT_TRUE(routes.is_array());
    const std::string universal_body =
        R"({"amount":1,"name":"x","label":"x","rate":1,"notes":"x","message":"x","role":"member",)"
        R"("email":"x@example.com","reason":"x","payment_method":"cash","category":"other","date":"2026-01-01"})";
    int swept = 0;
    auto snapshot = [&] {
        std::string all;
        for (const char* t : {"clients", "invoices", "invoice_items", "payments", "refunds", "tax_rates", "expenses",
                              "files", "users", "api_keys"}) {
            all += db.scalar(std::string("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM ") + t +
                             " t") + ";";
        }
        return all;
    };
    std::string before = snapshot();
    for (const auto& r : routes.as_array()) {
        std::string method = str(r, "method"), pattern = str(r, "pattern");
        // Ids only: other parameters name kinds ({type}) or secrets ({token}: public routes).
        auto open = pattern.find("{id}");
        if (open == std::string::npos || pattern.rfind("/api/v1/", 0) != 0) continue;
        // The resource is named by the segment before the id.
        std::string before_id = pattern.substr(0, open - 1);
        std::string resource = before_id.substr(before_id.rfind('/') + 1);
        auto it = ids.find(resource);
        ASSERT_NE(it, ids.end()) << method << " " << pattern
                                 << ": the sweep does not know how to create a '" << resource
                                 << "' — add it above so this route's tenancy is tested";
        std::string path = pattern.substr(0, open) + it->second + pattern.substr(pattern.find('}', open) + 1);
        bool with_body = method == "POST" || method == "PUT" || method == "PATCH";
        HttpResponse res;
        if (method == "POST" && path.ends_with("/receipt")) {
            // An upload route: a well-formed multipart body with a real PNG, so only the id decides.
            Request up;
            up.method = "POST";
            up.target = path;
            up.headers = bearer(b);
            up.headers.emplace_back("Content-Type", "multipart/form-data; boundary=sweep");
            up.body = "--sweep\r\nContent-Disposition: form-data; name=\"receipt\"; filename=\"r.png\"\r\n"
                      "Content-Type: image/png\r\n\r\n" + std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) +
                      "\r\n--sweep--\r\n";
            res = http(port, up);
        } else {
            res = send(port, method, path, with_body ? universal_body : "", bearer(b));
        }
        EXPECT_EQ(res.status, 404) << method << " " << path << " answered " << res.status << ": " << res.body;
        EXPECT_EQ(error_code(res), "NOT_FOUND") << method << " " << path;
        ++swept;
    }
    EXPECT_GE(swept, 20);
    EXPECT_EQ(snapshot(), before) << "another organization's requests changed this organization's data";
}

}  // namespace
}  // namespace flashbill::test
