// Clients and invoices through the real binary (API.md §3–§4): the totals engine on the wire,
// numbering under concurrency, validation that changes nothing, Idempotency-Key, tenancy.

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "auth_test_util.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

std::string create_client(std::uint16_t port, const TestAccount& a, const std::string& name = "Acme Ltd") {
    auto r = send(port, "POST", "/api/v1/clients", R"({"name":)" + jstr(name) + R"(,"email":"billing@acme.test"})",
                  bearer(a));
    EXPECT_EQ(r.status, 201) << r.body;
    return str(parse(r), "id");
}

std::string invoice_body(const std::string& client_id, const std::string& extra = "") {
    return R"({"client_id":")" + client_id +
           R"(","issue_date":"2026-03-01","items":[{"description":"Design","quantity":2,"unit_price":10.50,"tax_rate":8.25},)"
           R"({"description":"Hosting","quantity":1.5,"unit_price":9.99,"discount_percent":10}])" +
           extra + "}";
}

std::string num(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_number() ? std::string(f->number_text()) : std::string(f && f->is_null() ? "null" : "?");
}

TEST(BillingInvoices, CreateComputesTotalsWithTheOneEngine) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = create_client(port, owner);
    auto r = send(port, "POST", "/api/v1/invoices", invoice_body(client, R"(,"discount_amount":1)"), bearer(owner));
    ASSERT_EQ(r.status, 201) << r.body;
    auto inv = parse(r);
    // 2 × 10.50 = 21.00, tax 8.25 % = 1.7325 → 1.73; 1.5 × 9.99 × 0.9 = 13.4865 → 13.49, no tax.
    EXPECT_EQ(num(inv, "subtotal"), "34.49");
    EXPECT_EQ(num(inv, "tax_amount"), "1.73");
    EXPECT_EQ(num(inv, "discount_amount"), "1.00");
    EXPECT_EQ(num(inv, "total_amount"), "35.22");
    EXPECT_EQ(num(inv, "balance_due"), "35.22");
    EXPECT_EQ(str(inv, "status"), "draft");
    EXPECT_TRUE(inv.find("invoice_number")->is_null());
    EXPECT_EQ(str(inv, "due_date"), "2026-03-31");  // issue date + the client's 30 days
    EXPECT_EQ(str(inv, "currency"), "USD");
    EXPECT_EQ(inv.find("items")->as_array().size(), 2u);
    EXPECT_EQ(num(inv.find("items")->as_array()[1], "amount"), "13.49");
    EXPECT_NE(str(inv, "public_url").find("/i/" + str(inv, "guest_payment_token")), std::string::npos);
    EXPECT_GE(str(inv, "guest_payment_token").size(), 22u);
    // Stored, detailed and listed numbers agree; preview computes the same.
    EXPECT_EQ(db.scalar("SELECT total_amount FROM invoices"), "3522");
    auto got = parse(http_get(port, "/api/v1/invoices/" + str(inv, "id"), bearer(owner)));
    EXPECT_EQ(num(got, "total_amount"), "35.22");
    auto listed = http_get(port, "/api/v1/invoices", bearer(owner));
    ASSERT_EQ(listed.status, 200);
    EXPECT_EQ(listed.header("X-Total-Count"), "1");
    EXPECT_EQ(num(parse(listed).as_array().at(0), "total_amount"), "35.22");
    auto preview = send(port, "POST", "/api/v1/invoices/preview", invoice_body(client, R"(,"discount_amount":1)"),
                        bearer(owner));
    ASSERT_EQ(preview.status, 200) << preview.body;
    EXPECT_EQ(num(parse(preview), "total_amount"), "35.22");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices"), "1");
}

TEST(BillingInvoices, BadInputNamesEveryFieldAndChangesNothing) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = create_client(port, owner);
    auto before = db.scalar("SELECT count(*) FROM invoices") + db.scalar("SELECT count(*) FROM invoice_items");
    auto r = send(port, "POST", "/api/v1/invoices",
                  R"({"client_id":")" + client +
                      R"(","issue_date":"2026-02-30","items":[{"description":"x","quantity":0,"unit_price":1.005}]})",
                  bearer(owner));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_code(r), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(r), "issue_date,items[0].quantity,items[0].unit_price");
    auto unknown = send(port, "POST", "/api/v1/invoices",
                        invoice_body("00000000-0000-4000-8000-000000000000"), bearer(owner));
    EXPECT_EQ(error_fields(unknown), "client_id");
    auto no_items = send(port, "POST", "/api/v1/invoices",
                         R"({"client_id":")" + client + R"(","issue_date":"2026-01-01","items":[]})", bearer(owner));
    EXPECT_EQ(error_fields(no_items), "items");
    auto send_now = send(port, "POST", "/api/v1/invoices", invoice_body(client, R"(,"send_immediately":true)"),
                         bearer(owner));
    EXPECT_EQ(error_fields(send_now), "send_immediately");
    auto malformed = send(port, "POST", "/api/v1/invoices", "{\"client_id\":", bearer(owner));
    EXPECT_EQ(error_code(malformed), "BAD_REQUEST");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices") + db.scalar("SELECT count(*) FROM invoice_items"), before);
}

TEST(BillingInvoices, ConcurrentIssuesGetConsecutiveNumbersAndDraftsNone) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = create_client(port, owner);
    std::vector<std::string> ids;
    for (int i = 0; i < 105; ++i) {
        auto r = send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(owner));
        ASSERT_EQ(r.status, 201) << r.body;
        ids.push_back(str(parse(r), "id"));
    }
    std::atomic<int> next{0}, ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 10; ++t) {
        threads.emplace_back([&] {
            for (int i; (i = next.fetch_add(1)) < 100;) {
                auto r = send(port, "POST", "/api/v1/invoices/" + ids[static_cast<std::size_t>(i)] + "/mark-sent", "",
                              bearer(owner));
                if (r.status == 200) ok.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 100);
    std::set<std::string> numbers;
    for (int i = 1; i <= 100; ++i) {
        std::string n = std::to_string(i);
        numbers.insert("INV-2026-" + std::string(4 - std::min<std::size_t>(4, n.size()), '0') + n);
    }
    EXPECT_EQ(db.scalar("SELECT string_agg(invoice_number, ',' ORDER BY invoice_number) FROM invoices "
                        "WHERE invoice_number IS NOT NULL"),
              [&] {
                  std::string s;
                  for (auto& n : numbers) s += (s.empty() ? "" : ",") + n;
                  return s;
              }());
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices WHERE status = 'draft' AND invoice_number IS NULL"), "5");
    // Issuing twice is a conflict, not a second number.
    auto again = send(port, "POST", "/api/v1/invoices/" + ids[0] + "/mark-sent", "", bearer(owner));
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(db.scalar("SELECT last_seq FROM invoice_counters"), "100");
}

TEST(BillingInvoices, IdempotencyKeyReplaysTheFirstAnswer) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = create_client(port, owner);
    auto headers = bearer(owner);
    headers.emplace_back("Idempotency-Key", "create-invoice-1");
    auto first = send(port, "POST", "/api/v1/invoices", invoice_body(client), headers);
    auto second = send(port, "POST", "/api/v1/invoices", invoice_body(client), headers);
    ASSERT_EQ(first.status, 201);
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices"), "1");
    auto different = send(port, "POST", "/api/v1/invoices", invoice_body(client, R"(,"notes":"other")"), headers);
    EXPECT_EQ(different.status, 409);
    auto long_key = bearer(owner);
    long_key.emplace_back("Idempotency-Key", std::string(256, 'k'));
    EXPECT_EQ(error_code(send(port, "POST", "/api/v1/invoices", invoice_body(client), long_key)), "VALIDATION_ERROR");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices"), "1");
}

TEST(BillingInvoices, StatusRulesForDeleteCancelAndEdit) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = create_client(port, owner);
    auto id = str(parse(send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(owner))), "id");
    auto edited = send(port, "PUT", "/api/v1/invoices/" + id, R"({"discount_amount":0.49,"notes":"Thanks"})",
                       bearer(owner));
    ASSERT_EQ(edited.status, 200) << edited.body;
    EXPECT_EQ(num(parse(edited), "total_amount"), "35.73");
    EXPECT_EQ(str(parse(edited), "notes"), "Thanks");
    ASSERT_EQ(send(port, "POST", "/api/v1/invoices/" + id + "/mark-sent", "", bearer(owner)).status, 200);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/invoices/" + id, "", bearer(owner)).status, 409);
    // An issued invoice keeps the client as billed; a draft shows the client as it is now.
    auto other_draft = str(parse(send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(owner))), "id");
    ASSERT_EQ(send(port, "PUT", "/api/v1/clients/" + client, R"({"name":"Renamed Ltd","email":null})", bearer(owner)).status,
              200);
    auto issued = parse(http_get(port, "/api/v1/invoices/" + id, bearer(owner)));
    EXPECT_EQ(str(issued, "client_name"), "Acme Ltd");
    EXPECT_EQ(str(issued, "client_email"), "billing@acme.test");
    EXPECT_EQ(str(parse(http_get(port, "/api/v1/invoices/" + other_draft, bearer(owner))), "client_name"), "Renamed Ltd");
    auto cancelled = send(port, "POST", "/api/v1/invoices/" + id + "/cancel", R"({"reason":"duplicate"})", bearer(owner));
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(str(parse(cancelled), "status"), "cancelled");
    EXPECT_EQ(send(port, "PUT", "/api/v1/invoices/" + id, R"({"notes":"x"})", bearer(owner)).status, 409);
    auto draft = str(parse(send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(owner))), "id");
    EXPECT_EQ(send(port, "DELETE", "/api/v1/invoices/" + draft, "", bearer(owner)).status, 204);
    // A client with invoices cannot be deleted; archiving hides it from the list.
    EXPECT_EQ(send(port, "DELETE", "/api/v1/clients/" + client, "", bearer(owner)).status, 409);
    ASSERT_EQ(send(port, "PUT", "/api/v1/clients/" + client, R"({"archived":true})", bearer(owner)).status, 200);
    EXPECT_EQ(http_get(port, "/api/v1/clients", bearer(owner)).header("X-Total-Count"), "0");
    EXPECT_EQ(http_get(port, "/api/v1/clients?archived=true", bearer(owner)).header("X-Total-Count"), "1");
}

TEST(BillingInvoices, AnotherOrgsIdsAreNotFound) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto a = register_account(port);
    auto b = register_account(port);
    auto client = create_client(port, a);
    auto id = str(parse(send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(a))), "id");
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/clients/" + client},
             {"PUT", "/api/v1/clients/" + client},
             {"DELETE", "/api/v1/clients/" + client},
             {"GET", "/api/v1/clients/" + client + "/invoices"},
             {"GET", "/api/v1/invoices/" + id},
             {"PUT", "/api/v1/invoices/" + id},
             {"DELETE", "/api/v1/invoices/" + id},
             {"POST", "/api/v1/invoices/" + id + "/mark-sent"},
             {"POST", "/api/v1/invoices/" + id + "/cancel"},
             {"POST", "/api/v1/invoices/" + id + "/duplicate"},
             {"POST", "/api/v1/invoices/" + id + "/public-link"}}) {
        auto r = send(port, method, path, method == "PUT" ? R"({"notes":"x"})" : "", bearer(b));
        EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.body;
    }
    // b cannot use a's client in its own invoice either.
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/invoices", invoice_body(client), bearer(b))), "client_id");
    EXPECT_EQ(http_get(port, "/api/v1/invoices", bearer(b)).header("X-Total-Count"), "0");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices WHERE status = 'draft'"), "1");
}

}  // namespace
}  // namespace flashbill::test
