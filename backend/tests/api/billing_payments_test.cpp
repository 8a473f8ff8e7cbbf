// Payments and refunds through the real binary (API.md §5): the checks made under the invoice row
// lock, concurrency that must never overpay, refunds that recompute the invoice.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth_test_util.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

std::string num(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_number() ? std::string(f->number_text()) : std::string("?");
}

// An issued invoice of 100.00 USD (one line, no tax), due in the future unless `issue_date` says
// otherwise; returns its id.
std::string issued_invoice(std::uint16_t port, const TestAccount& a, const std::string& extra = "",
                           const std::string& issue_date = "2099-05-01") {
    auto c = send(port, "POST", "/api/v1/clients", R"({"name":"Payer"})", bearer(a));
    auto client = str(parse(c), "id");
    auto r = send(port, "POST", "/api/v1/invoices",
                  R"({"client_id":")" + client +
                      R"(","issue_date":")" + issue_date + R"(","items":[{"description":"Work","quantity":1,"unit_price":100}])" +
                      extra + "}",
                  bearer(a));
    auto id = str(parse(r), "id");
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + id + "/mark-sent", "", bearer(a)).status, 200);
    return id;
}

TEST(BillingPayments, PartialThenFullPaymentThenRefund) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto inv = issued_invoice(port, owner);
    auto p1 = send(port, "POST", "/api/v1/invoices/" + inv + "/payments",
                   R"({"amount":40,"payment_method":"BankTransfer"})", bearer(owner));
    ASSERT_EQ(p1.status, 201) << p1.body;
    EXPECT_EQ(str(parse(p1), "payment_method"), "bank_transfer");
    EXPECT_EQ(num(parse(p1), "amount"), "40.00");
    auto after1 = parse(http_get(port, "/api/v1/invoices/" + inv, bearer(owner)));
    EXPECT_EQ(str(after1, "status"), "partial");
    EXPECT_EQ(num(after1, "balance_due"), "60.00");
    EXPECT_EQ(num(after1, "partial_payment_count"), "1");
    auto over = send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + inv + R"(","amount":60.01})",
                     bearer(owner));
    EXPECT_EQ(over.status, 409);
    EXPECT_EQ(error_code(over), "CONFLICT");
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + inv + R"(","amount":-1})",
                                bearer(owner))),
              "amount");
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + inv + R"(","amount":1.001})",
                                bearer(owner))),
              "amount");
    auto p2 = send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + inv + R"(","amount":60,"payment_method":"cash"})",
                   bearer(owner));
    ASSERT_EQ(p2.status, 201) << p2.body;
    auto paid = parse(http_get(port, "/api/v1/invoices/" + inv, bearer(owner)));
    EXPECT_EQ(str(paid, "status"), "paid");
    EXPECT_EQ(num(paid, "balance_due"), "0.00");
    EXPECT_FALSE(str(paid, "paid_at").empty());
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + inv + "/payments", R"({"amount":1})", bearer(owner)).status, 409);

    auto pid = str(parse(p2), "id");
    auto r1 = send(port, "POST", "/api/v1/payments/" + pid + "/refund", R"({"amount":10,"reason":"discount"})",
                   bearer(owner));
    ASSERT_EQ(r1.status, 201) << r1.body;
    EXPECT_EQ(num(parse(r1), "amount"), "10.00");
    auto too_much = send(port, "POST", "/api/v1/payments/" + pid + "/refund", R"({"amount":50.01})", bearer(owner));
    EXPECT_EQ(too_much.status, 409);
    auto refunded = parse(http_get(port, "/api/v1/invoices/" + inv, bearer(owner)));
    EXPECT_EQ(str(refunded, "status"), "partial");
    EXPECT_EQ(num(refunded, "amount_paid"), "90.00");
    auto rest = send(port, "POST", "/api/v1/payments/" + pid + "/refund", "", bearer(owner));
    ASSERT_EQ(rest.status, 201) << rest.body;
    EXPECT_EQ(num(parse(rest), "amount"), "50.00");
    auto payment = parse(http_get(port, "/api/v1/payments/" + pid, bearer(owner)));
    EXPECT_EQ(str(payment, "status"), "refunded");
    EXPECT_EQ(payment.find("refunds")->as_array().size(), 2u);
    EXPECT_EQ(num(parse(http_get(port, "/api/v1/invoices/" + inv, bearer(owner))), "amount_paid"), "40.00");
    auto stats = parse(http_get(port, "/api/v1/payments/stats", bearer(owner)));
    EXPECT_EQ(num(stats, "total_amount"), "100.00");
    EXPECT_EQ(num(stats, "total_refunded"), "60.00");
    EXPECT_EQ(num(stats, "net_amount"), "40.00");
    auto listed = http_get(port, "/api/v1/payments?payment_method=cash", bearer(owner));
    EXPECT_EQ(listed.header("X-Total-Count"), "1");
    EXPECT_EQ(db.scalar("SELECT sum(amount - refunded_amount) FROM payments"),
              db.scalar("SELECT amount_paid FROM invoices"));
}

TEST(BillingPayments, OverdueIsDerivedAtReadTimeAndFiltered) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto late = issued_invoice(port, owner, "", "2020-01-01");
    auto current = issued_invoice(port, owner);
    auto got = parse(http_get(port, "/api/v1/invoices/" + late, bearer(owner)));
    EXPECT_EQ(str(got, "status"), "overdue");
    EXPECT_TRUE(got.find("is_overdue")->as_bool());
    EXPECT_EQ(db.scalar("SELECT status FROM invoices WHERE id = '" + late + "'"), "sent");  // not stored
    auto overdue = http_get(port, "/api/v1/invoices?status=overdue", bearer(owner));
    EXPECT_EQ(overdue.header("X-Total-Count"), "1");
    EXPECT_EQ(str(parse(overdue).as_array().at(0), "id"), late);
    auto sent = http_get(port, "/api/v1/invoices?status=sent", bearer(owner));
    EXPECT_EQ(sent.header("X-Total-Count"), "1");
    EXPECT_EQ(str(parse(sent).as_array().at(0), "id"), current);
    EXPECT_EQ(http_get(port, "/api/v1/invoices?status=unpaid", bearer(owner)).header("X-Total-Count"), "2");
    // Paying it off ends the overdue reading.
    ASSERT_EQ(send(port, "POST", "/api/v1/invoices/" + late + "/payments", R"({"amount":100})", bearer(owner)).status, 201);
    EXPECT_EQ(str(parse(http_get(port, "/api/v1/invoices/" + late, bearer(owner))), "status"), "paid");
}

TEST(BillingPayments, ConcurrentPaymentsNeverOverpay) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto inv = issued_invoice(port, owner);
    // 50 payments of 3.00 against 100.00: 33 fit, the rest must be refused.
    std::atomic<int> created{0}, conflicts{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 10; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 5; ++i) {
                auto r = send(port, "POST", "/api/v1/invoices/" + inv + "/payments", R"({"amount":3})", bearer(owner));
                if (r.status == 201) created.fetch_add(1);
                else if (r.status == 409) conflicts.fetch_add(1);
                else other.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 33);
    EXPECT_EQ(conflicts.load(), 17);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(db.scalar("SELECT sum(amount) FROM payments"), "9900");
    EXPECT_EQ(db.scalar("SELECT amount_paid || ' ' || status FROM invoices"), "9900 partial");
}

TEST(BillingPayments, InvoiceRulesRefuseWithConflict) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto whole = issued_invoice(port, owner, R"(,"allow_partial_payment":false)");
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + whole + "/payments", R"({"amount":50})", bearer(owner)).status, 409);
    auto minimum = issued_invoice(port, owner, R"(,"min_payment_amount":25)");
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + minimum + "/payments", R"({"amount":20})", bearer(owner)).status,
              409);
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + minimum + "/payments", R"({"amount":25})", bearer(owner)).status,
              201);
    // A paid-into invoice cannot be cancelled; its new total cannot drop below what was paid.
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + minimum + "/cancel", "", bearer(owner)).status, 409);
    auto lower = send(port, "PUT", "/api/v1/invoices/" + minimum,
                      R"({"items":[{"description":"Less","quantity":1,"unit_price":20}]})", bearer(owner));
    EXPECT_EQ(lower.status, 409);
    // Drafts cannot be paid; another org's invoice is 404 in the path and a field error in the body.
    auto c = str(parse(send(port, "POST", "/api/v1/clients", R"({"name":"D"})", bearer(owner))), "id");
    auto draft = str(parse(send(port, "POST", "/api/v1/invoices",
                                R"({"client_id":")" + c +
                                    R"(","issue_date":"2026-05-01","items":[{"description":"W","quantity":1,"unit_price":5}]})",
                                bearer(owner))),
                     "id");
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + draft + "/payments", R"({"amount":5})", bearer(owner)).status, 409);
    auto other = register_account(port);
    EXPECT_EQ(send(port, "POST", "/api/v1/invoices/" + whole + "/payments", R"({"amount":100})", bearer(other)).status,
              404);
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/payments", R"({"invoice_id":")" + whole + R"(","amount":100})",
                                bearer(other))),
              "invoice_id");
    auto pid = db.scalar("SELECT id FROM payments LIMIT 1");
    EXPECT_EQ(http_get(port, "/api/v1/payments/" + pid, bearer(other)).status, 404);
    EXPECT_EQ(send(port, "POST", "/api/v1/payments/" + pid + "/refund", "", bearer(other)).status, 404);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM payments"), "1");
}

}  // namespace
}  // namespace flashbill::test
