// Every billing answer conforms to docs/openapi.yaml, and every route the server registers under
// /api/v1 is documented there (so the contract cannot silently fall behind the code).

#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "auth_test_util.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

TEST(BillingOpenApi, EveryRegisteredRouteIsDocumented) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto doc = YAML::LoadFile(repo_root() + "/docs/openapi.yaml");
    auto routes = parse(http_get(server.port(), "/__test/routes"));
    int checked = 0;
    for (const auto& r : routes.as_array()) {
        std::string method = str(r, "method"), pattern = str(r, "pattern");
        if (pattern.rfind("/__test", 0) == 0) continue;
        for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto path = doc["paths"][pattern];
        EXPECT_TRUE(path && path[method]) << method << " " << pattern << " is not in docs/openapi.yaml";
        ++checked;
    }
    EXPECT_GT(checked, 40);
}

TEST(BillingOpenApi, AnswersConformToTheDocument) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto h = bearer(owner);
    auto tax = send(port, "POST", "/api/v1/settings/tax", R"({"label":"VAT","rate":20,"is_default":true})", h);
    EXPECT_CONFORMS("POST", "/api/v1/settings/tax", tax);
    EXPECT_CONFORMS("GET", "/api/v1/settings/tax", http_get(port, "/api/v1/settings/tax", h));
    EXPECT_CONFORMS("GET", "/api/v1/settings/tax/default", http_get(port, "/api/v1/settings/tax/default", h));
    EXPECT_CONFORMS("PUT", "/api/v1/settings/tax/{id}",
                    send(port, "PUT", "/api/v1/settings/tax/" + str(parse(tax), "id"), R"({"label":"VAT 20"})", h));
    auto client = send(port, "POST", "/api/v1/clients",
                       R"({"name":"Acme","billing_address":{"city":"Springfield"},"currency":"USD"})", h);
    EXPECT_CONFORMS("POST", "/api/v1/clients", client);
    std::string cid = str(parse(client), "id");
    EXPECT_CONFORMS("GET", "/api/v1/clients", http_get(port, "/api/v1/clients", h));
    EXPECT_CONFORMS("GET", "/api/v1/clients/stats", http_get(port, "/api/v1/clients/stats", h));
    EXPECT_CONFORMS("GET", "/api/v1/clients/{id}", http_get(port, "/api/v1/clients/" + cid, h));
    EXPECT_CONFORMS("PUT", "/api/v1/clients/{id}", send(port, "PUT", "/api/v1/clients/" + cid, R"({"phone":"555"})", h));
    std::string body = R"({"client_id":")" + cid +
                       R"(","issue_date":"2099-01-01","items":[{"description":"A","quantity":1.5,"unit_price":10,"discount_percent":5}]})";
    EXPECT_CONFORMS("POST", "/api/v1/invoices/preview", send(port, "POST", "/api/v1/invoices/preview", body, h));
    auto inv = send(port, "POST", "/api/v1/invoices", body, h);
    EXPECT_CONFORMS("POST", "/api/v1/invoices", inv);
    std::string iid = str(parse(inv), "id");
    EXPECT_CONFORMS("GET", "/api/v1/invoices", http_get(port, "/api/v1/invoices", h));
    EXPECT_CONFORMS("GET", "/api/v1/invoices/{id}", http_get(port, "/api/v1/invoices/" + iid, h));
    EXPECT_CONFORMS("PUT", "/api/v1/invoices/{id}", send(port, "PUT", "/api/v1/invoices/" + iid, R"({"notes":"n"})", h));
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/mark-sent", send(port, "POST", "/api/v1/invoices/" + iid + "/mark-sent", "", h));
    EXPECT_CONFORMS("GET", "/api/v1/clients/{id}/invoices", http_get(port, "/api/v1/clients/" + cid + "/invoices", h));
    auto pay = send(port, "POST", "/api/v1/invoices/" + iid + "/payments", R"({"amount":5,"payment_method":"PayPal"})", h);
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/payments", pay);
    std::string pid = str(parse(pay), "id");
    auto cash = send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + iid + R"(","amount":1})", h);
    EXPECT_CONFORMS("POST", "/api/v1/payments", cash);
    EXPECT_CONFORMS("POST", "/api/v1/payments/{id}/refund",
                    send(port, "POST", "/api/v1/payments/" + str(parse(cash), "id") + "/refund", "", h));
    EXPECT_CONFORMS("GET", "/api/v1/payments", http_get(port, "/api/v1/payments", h));
    EXPECT_CONFORMS("GET", "/api/v1/payments/{id}", http_get(port, "/api/v1/payments/" + pid, h));
    EXPECT_CONFORMS("GET", "/api/v1/payments/stats", http_get(port, "/api/v1/payments/stats", h));
    EXPECT_CONFORMS("GET", "/api/v1/payments/methods", http_get(port, "/api/v1/payments/methods", h));
    auto dup = send(port, "POST", "/api/v1/invoices/" + iid + "/duplicate", "", h);
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/duplicate", dup);
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/public-link",
                    send(port, "POST", "/api/v1/invoices/" + iid + "/public-link", "", h));
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/cancel",
                    send(port, "POST", "/api/v1/invoices/" + str(parse(dup), "id") + "/cancel", "", h));
    EXPECT_CONFORMS("POST", "/api/v1/tax/calculate", send(port, "POST", "/api/v1/tax/calculate", R"({"amount":10})", h));
    EXPECT_CONFORMS("POST", "/api/v1/tax/summary",
                    send(port, "POST", "/api/v1/tax/summary", R"({"start_date":"2099-01-01","end_date":"2099-12-31"})", h));
    EXPECT_CONFORMS("POST", "/api/v1/tax/validate", send(port, "POST", "/api/v1/tax/validate", R"({"tax_id":"12-3456789"})", h));
    for (std::string s : {"business", "notifications", "invoice"}) {
        EXPECT_CONFORMS("GET", "/api/v1/settings/" + s, http_get(port, "/api/v1/settings/" + s, h));
        EXPECT_CONFORMS("PUT", "/api/v1/settings/" + s, send(port, "PUT", "/api/v1/settings/" + s, "{}", h));
    }
    auto msg = send(port, "POST", "/api/v1/invoices/" + iid + "/discussion", R"({"message":"Paid by Friday?"})", h);
    EXPECT_EQ(msg.status, 201) << msg.body;
    EXPECT_CONFORMS("POST", "/api/v1/invoices/{id}/discussion", msg);
    auto thread = http_get(port, "/api/v1/invoices/" + iid + "/discussion", h);
    EXPECT_CONFORMS("GET", "/api/v1/invoices/{id}/discussion", thread);
    EXPECT_EQ(parse(thread).find("messages")->as_array().size(), 1u);
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/invoices/" + iid + "/discussion", R"({"message":""})", h)),
              "message");
    // Errors conform too.
    EXPECT_CONFORMS("GET", "/api/v1/invoices/{id}", http_get(port, "/api/v1/invoices/00000000-0000-4000-8000-000000000000", h));
    EXPECT_CONFORMS("POST", "/api/v1/invoices", send(port, "POST", "/api/v1/invoices", R"({"items":[]})", h));
}

}  // namespace
}  // namespace flashbill::test
