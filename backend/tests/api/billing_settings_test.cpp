// Settings and taxes through the real binary (API.md §6, §8): one default rate per org and its
// effect on new invoices, invoice defaults applied to new invoices, roles, validation.

#include <gtest/gtest.h>

#include "auth_test_util.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;

std::string num(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_number() ? std::string(f->number_text()) : std::string("?");
}

TEST(BillingSettings, OneDefaultTaxRateAppliesToLinesWithoutARate) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto vat = send(port, "POST", "/api/v1/settings/tax", R"({"label":"VAT","rate":20,"is_default":true})", bearer(owner));
    ASSERT_EQ(vat.status, 201) << vat.body;
    auto reduced = send(port, "POST", "/api/v1/settings/tax", R"({"label":"Reduced","rate":5.5,"is_default":true})",
                        bearer(owner));
    ASSERT_EQ(reduced.status, 201);
    // The flag moved: exactly one default, the newest.
    EXPECT_EQ(db.scalar("SELECT string_agg(label, ',') FROM tax_rates WHERE is_default"), "Reduced");
    auto def = parse(http_get(port, "/api/v1/settings/tax/default", bearer(owner)));
    EXPECT_EQ(str(def, "label"), "Reduced");
    EXPECT_EQ(num(def, "rate"), "5.5");
    auto client = str(parse(send(port, "POST", "/api/v1/clients", R"({"name":"C"})", bearer(owner))), "id");
    auto inv = parse(send(port, "POST", "/api/v1/invoices",
                          R"({"client_id":")" + client +
                              R"(","issue_date":"2099-01-10","items":[{"description":"A","quantity":1,"unit_price":100},)"
                              R"({"description":"B","quantity":1,"unit_price":100,"tax_rate":0}]})",
                          bearer(owner)));
    EXPECT_EQ(num(inv, "tax_amount"), "5.50");
    EXPECT_EQ(str(inv, "tax_label"), "Reduced");
    // A default must be active; a rate can be made default by PUT too.
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/settings/tax", R"({"label":"X","rate":1,"is_default":true,"is_active":false})",
                                bearer(owner))),
              "is_active");
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/settings/tax", R"({"label":"","rate":101})", bearer(owner))),
              "label,rate");
    auto back = send(port, "PUT", "/api/v1/settings/tax/" + str(parse(vat), "id"), R"({"is_default":true})", bearer(owner));
    ASSERT_EQ(back.status, 200) << back.body;
    EXPECT_EQ(db.scalar("SELECT string_agg(label, ',') FROM tax_rates WHERE is_default"), "VAT");
    auto calc = parse(send(port, "POST", "/api/v1/tax/calculate", R"({"amount":19.99})", bearer(owner)));
    EXPECT_EQ(num(*calc.find("calculation"), "tax_amount"), "4.00");  // 3.998 → 4.00
    EXPECT_EQ(num(*calc.find("calculation"), "total"), "23.99");
    EXPECT_FALSE(str(calc, "legal_disclaimer").empty());
    EXPECT_EQ(send(port, "DELETE", "/api/v1/settings/tax/" + str(parse(reduced), "id"), "", bearer(owner)).status, 204);
    // Stored invoices keep the numbers they were computed with.
    EXPECT_EQ(num(parse(http_get(port, "/api/v1/invoices/" + str(inv, "id"), bearer(owner))), "tax_amount"), "5.50");
}

TEST(BillingSettings, TaxSummaryAndEinValidation) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = str(parse(send(port, "POST", "/api/v1/clients", R"({"name":"C"})", bearer(owner))), "id");
    for (std::string date : {"2026-02-01", "2026-03-01", "2027-01-01"}) {
        auto id = str(parse(send(port, "POST", "/api/v1/invoices",
                                 R"({"client_id":")" + client + R"(","issue_date":")" + date +
                                     R"(","items":[{"description":"A","quantity":2,"unit_price":50,"tax_rate":10}]})",
                                 bearer(owner))),
                      "id");
        ASSERT_EQ(send(port, "POST", "/api/v1/invoices/" + id + "/mark-sent", "", bearer(owner)).status, 200);
    }
    send(port, "POST", "/api/v1/invoices",
         R"({"client_id":")" + client + R"(","issue_date":"2026-02-02","items":[{"description":"Draft","quantity":1,"unit_price":999}]})",
         bearer(owner));
    auto s = parse(send(port, "POST", "/api/v1/tax/summary", R"({"start_date":"2026-01-01","end_date":"2026-12-31"})",
                        bearer(owner)));
    EXPECT_EQ(num(s, "total_taxable"), "200.00");
    EXPECT_EQ(num(s, "total_tax"), "20.00");
    EXPECT_EQ(num(s, "total"), "220.00");
    ASSERT_EQ(s.find("by_rate")->as_array().size(), 1u);
    EXPECT_EQ(num(s.find("by_rate")->as_array()[0], "rate"), "10");
    EXPECT_EQ(error_fields(send(port, "POST", "/api/v1/tax/summary", R"({"start_date":"2026-12-31","end_date":"2026-01-01"})",
                                bearer(owner))),
              "end_date");
    auto ein = parse(send(port, "POST", "/api/v1/tax/validate", R"({"tax_id":"123456789"})", bearer(owner)));
    EXPECT_TRUE(ein.find("valid")->as_bool());
    EXPECT_EQ(str(ein, "normalized"), "12-3456789");
    EXPECT_TRUE(parse(send(port, "POST", "/api/v1/tax/validate", R"({"tax_id":"12-3456789"})", bearer(owner)))
                    .find("valid")->as_bool());
    EXPECT_FALSE(parse(send(port, "POST", "/api/v1/tax/validate", R"({"tax_id":"12-345678"})", bearer(owner)))
                     .find("valid")->as_bool());
}

TEST(BillingSettings, InvoiceDefaultsApplyToNewInvoicesAndMembersCannotChangeSettings) {
    TestDatabase db;
    ServerProcess server(env(db));
    auto port = server.port();
    auto owner = register_account(port);
    auto put = send(port, "PUT", "/api/v1/settings/invoice",
                    R"({"number_prefix":"FB-","terms":"Net 14","notes":"Thank you","default_payment_terms":14,"currency":"EUR"})",
                    bearer(owner));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(str(parse(put), "currency"), "EUR");
    auto biz = send(port, "PUT", "/api/v1/settings/business",
                    R"({"company_name":"Flash Co","timezone":"Europe/Berlin","address":{"city":"Berlin","junk":1}})",
                    bearer(owner));
    ASSERT_EQ(biz.status, 200) << biz.body;
    EXPECT_EQ(str(parse(biz), "timezone"), "Europe/Berlin");
    EXPECT_EQ(str(parse(biz), "currency"), "EUR");
    EXPECT_EQ(str(*parse(biz).find("address"), "city"), "Berlin");
    EXPECT_EQ(error_fields(send(port, "PUT", "/api/v1/settings/business", R"({"timezone":"Mars/Olympus","currency":"XYZ"})",
                                bearer(owner))),
              "currency");  // the currency fails first; the time zone is checked against the database after
    EXPECT_EQ(error_fields(send(port, "PUT", "/api/v1/settings/business", R"({"timezone":"Mars/Olympus"})", bearer(owner))),
              "timezone");
    auto client = parse(send(port, "POST", "/api/v1/clients", R"({"name":"C"})", bearer(owner)));
    EXPECT_EQ(num(client, "payment_terms"), "14");
    auto inv = parse(send(port, "POST", "/api/v1/invoices",
                          R"({"client_id":")" + str(client, "id") +
                              R"(","issue_date":"2099-01-01","items":[{"description":"A","quantity":1,"unit_price":10}]})",
                          bearer(owner)));
    EXPECT_EQ(str(inv, "currency"), "EUR");
    EXPECT_EQ(str(inv, "terms"), "Net 14");
    EXPECT_EQ(str(inv, "notes"), "Thank you");
    EXPECT_EQ(str(inv, "due_date"), "2099-01-15");
    auto issued = parse(send(port, "POST", "/api/v1/invoices/" + str(inv, "id") + "/mark-sent", "", bearer(owner)));
    EXPECT_EQ(str(issued, "invoice_number"), "FB-2099-0001");
    auto notif = send(port, "PUT", "/api/v1/settings/notifications",
                      R"({"push_overdue":false,"auto_reminders":{"enabled":true,"days_before_due":[3],"days_after_due":[1,7]}})",
                      bearer(owner));
    ASSERT_EQ(notif.status, 200) << notif.body;
    EXPECT_FALSE(parse(notif).find("push_overdue")->as_bool());
    EXPECT_TRUE(parse(notif).find("email_invoice_paid")->as_bool());

    auto member = invite_member(port, owner, "member");
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/settings/business"}, {"PUT", "/api/v1/settings/invoice"}, {"POST", "/api/v1/settings/tax"},
             {"GET", "/api/v1/settings/tax"}}) {
        auto r = send(port, method, path, method == "GET" ? "" : R"({"label":"x","rate":1})", bearer(member));
        EXPECT_EQ(r.status, 403) << method << " " << path;
    }
    EXPECT_EQ(send(port, "POST", "/api/v1/tax/calculate", R"({"amount":1})", bearer(member)).status, 200);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM tax_rates"), "0");
}

}  // namespace
}  // namespace flashbill::test
