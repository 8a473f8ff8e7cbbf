// Expenses through the real binary (API.md §7): CRUD with merge semantics, validation that names
// every field and changes nothing, filters and keyset pages, idempotent creation, stats checked
// against a brute-force sum, and receipts from upload to download.

#include <gtest/gtest.h>

#include <map>

#include "auth/crypto.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "upload_test_util.hpp"

namespace flashbill::test {
namespace {

using namespace upload_util;

std::string create_expense(std::uint16_t port, const TestAccount& a, const std::string& body) {
    auto r = send(port, "POST", "/api/v1/expenses", body, bearer(a));
    EXPECT_EQ(r.status, 201) << body << " → " << r.body;
    return str(parse(r), "id");
}

TEST(BillingExpenses, CreateReadMergeUpdateDelete) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto member = invite_member(port, register_account(port), "member");  // members may do everything here
    auto created = send(port, "POST", "/api/v1/expenses",
                        R"({"amount":12.5,"category":"travel","date":"2026-03-01","vendor":"  Rail Co ",)"
                        R"("description":"Train","notes":"return"})",
                        bearer(member));
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_CONFORMS("POST", "/api/v1/expenses", created);
    auto e = parse(created);
    std::string id = str(e, "id");
    EXPECT_EQ(num(e, "amount"), "12.50");
    EXPECT_EQ(str(e, "currency"), "USD");
    EXPECT_EQ(str(e, "category"), "travel");
    EXPECT_EQ(str(e, "vendor"), "Rail Co");
    EXPECT_EQ(str(e, "date_incurred"), "2026-03-01");
    EXPECT_EQ(str(e, "date"), "2026-03-01");
    EXPECT_TRUE(e.find("tax_deductible")->as_bool());  // the default
    EXPECT_TRUE(e.find("receipt")->is_null());
    EXPECT_EQ(db.scalar("SELECT amount || ' ' || currency FROM expenses"), "1250 USD");

    auto got = http_get(port, "/api/v1/expenses/" + id, bearer(member));
    ASSERT_EQ(got.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/expenses/{id}", got);
    EXPECT_EQ(parse(got).find("amount")->number_text(), "12.50");

    // Absent keeps, null clears, aliases work on update too.
    auto put = send(port, "PUT", "/api/v1/expenses/" + id,
                    R"({"vendor":null,"is_tax_deductible":false,"date_incurred":"2026-03-02","category":"equipment"})",
                    bearer(member));
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_CONFORMS("PUT", "/api/v1/expenses/{id}", put);
    auto u = parse(put);
    EXPECT_TRUE(u.find("vendor")->is_null());
    EXPECT_EQ(str(u, "description"), "Train");
    EXPECT_EQ(str(u, "notes"), "return");
    EXPECT_FALSE(u.find("tax_deductible")->as_bool());
    EXPECT_EQ(str(u, "date"), "2026-03-02");
    EXPECT_EQ(str(u, "category"), "equipment");
    EXPECT_EQ(num(u, "amount"), "12.50");

    // A currency change must carry its amount (minor units would otherwise be rescaled).
    auto bare = send(port, "PUT", "/api/v1/expenses/" + id, R"({"currency":"JPY"})", bearer(member));
    EXPECT_EQ(bare.status, 400);
    EXPECT_EQ(error_fields(bare), "amount");
    auto yen = send(port, "PUT", "/api/v1/expenses/" + id, R"({"currency":"JPY","amount":1500})", bearer(member));
    ASSERT_EQ(yen.status, 200) << yen.body;
    EXPECT_EQ(num(parse(yen), "amount"), "1500");
    EXPECT_EQ(db.scalar("SELECT amount || ' ' || currency FROM expenses"), "1500 JPY");
    // The stored currency decides the decimals when the body does not change it.
    EXPECT_EQ(error_fields(send(port, "PUT", "/api/v1/expenses/" + id, R"({"amount":1.5})", bearer(member))), "amount");

    auto del = send(port, "DELETE", "/api/v1/expenses/" + id, "", bearer(member));
    EXPECT_EQ(del.status, 204);
    EXPECT_CONFORMS("DELETE", "/api/v1/expenses/{id}", del);
    EXPECT_EQ(http_get(port, "/api/v1/expenses/" + id, bearer(member)).status, 404);
    EXPECT_EQ(send(port, "DELETE", "/api/v1/expenses/" + id, "", bearer(member)).status, 404);
}

TEST(BillingExpenses, CurrencyDefaultsToTheOrgs) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    db.exec("INSERT INTO org_settings (org_id, currency) VALUES ('" + owner.org_id + "', 'EUR')");
    auto e = parse(send(port, "POST", "/api/v1/expenses", R"({"amount":3,"category":"other","date":"2026-01-05"})",
                        bearer(owner)));
    EXPECT_EQ(str(e, "currency"), "EUR");
    EXPECT_EQ(num(e, "amount"), "3.00");
    auto jpy = parse(send(port, "POST", "/api/v1/expenses",
                          R"({"amount":300,"currency":"JPY","category":"other","date":"2026-01-05"})", bearer(owner)));
    EXPECT_EQ(num(jpy, "amount"), "300");
}

TEST(BillingExpenses, ValidationNamesEveryFieldAndChangesNothing) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    auto id = create_expense(port, owner, R"({"amount":10,"category":"software","date":"2026-02-01"})");
    auto before = billing_snapshot(db);
    auto post = [&](const std::string& body) { return send(port, "POST", "/api/v1/expenses", body, bearer(owner)); };
    auto put = [&](const std::string& body) {
        return send(port, "PUT", "/api/v1/expenses/" + id, body, bearer(owner));
    };
    EXPECT_EQ(error_fields(post("{}")), "amount,category,date_incurred");
    EXPECT_EQ(error_code(post("{}")), "VALIDATION_ERROR");
    EXPECT_EQ(error_fields(post(R"({"amount":10.001,"currency":"usd","category":"food","date":"2026-02-30",)"
                                R"("tax_deductible":"yes","vendor":7,"description":[],"notes":{}})")),
              "currency,amount,category,date,tax_deductible,vendor,description,notes");
    EXPECT_EQ(error_fields(post(R"({"amount":0,"category":"travel","date_incurred":"2026-02-01"})")), "amount");
    EXPECT_EQ(error_fields(post(R"({"amount":-5,"category":"travel","date_incurred":"2026-02-01"})")), "amount");
    EXPECT_EQ(error_fields(post(R"({"amount":1e14,"category":"travel","date_incurred":"2026-02-01"})")), "amount");
    EXPECT_EQ(error_fields(post(R"({"amount":"10","category":"travel","date_incurred":"2026-02-01"})")), "amount");
    EXPECT_EQ(
        error_fields(post(R"({"amount":1,"category":"travel","date_incurred":"2026-02-01","is_tax_deductible":1})")),
        "is_tax_deductible");
    EXPECT_EQ(error_fields(
                  post(R"({"amount":1,"category":"travel","date":"x","vendor":")" + std::string(201, 'v') + R"("})")),
              "date,vendor");
    EXPECT_EQ(error_code(post("[1]")), "VALIDATION_ERROR");
    EXPECT_EQ(error_code(post("{bad json")), "BAD_REQUEST");
    EXPECT_EQ(error_fields(put(R"({"amount":null,"category":null,"date":null,"tax_deductible":null})")),
              "amount,category,date,tax_deductible");
    EXPECT_EQ(error_fields(put(R"({"amount":0.001,"category":"x","currency":"XXXX"})")), "currency,amount,category");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/expenses?category=food&date_from=2026-13-01&tax_deductible=maybe",
                                    bearer(owner))),
              "category,date_from,tax_deductible");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/expenses?date_from=2026-02-02&date_to=2026-02-01", bearer(owner))),
              "date_to");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/expenses?limit=0", bearer(owner))), "limit");
    EXPECT_EQ(error_fields(http_get(port, "/api/v1/expenses?cursor=zzz", bearer(owner))), "cursor");
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_EQ(send(port, "PUT", "/api/v1/expenses/not-an-id", "{}", bearer(owner)).status, 404);
}

TEST(BillingExpenses, AnotherOrgsExpenseIs404Everywhere) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    auto other = register_account(port);
    auto id = create_expense(port, owner, R"({"amount":10,"category":"software","date":"2026-02-01"})");
    ASSERT_EQ(upload(port, "/api/v1/expenses/" + id + "/receipt", "receipt", "r.pdf", pdf_bytes(), owner).status, 201);
    auto before = billing_snapshot(db);
    auto files_before = dir.files();
    std::string path = "/api/v1/expenses/" + id;
    EXPECT_EQ(http_get(port, path, bearer(other)).status, 404);
    EXPECT_EQ(send(port, "PUT", path, R"({"amount":1})", bearer(other)).status, 404);
    EXPECT_EQ(send(port, "DELETE", path, "", bearer(other)).status, 404);
    EXPECT_EQ(http_get(port, path + "/receipt", bearer(other)).status, 404);
    EXPECT_EQ(upload(port, path + "/receipt", "receipt", "r.pdf", pdf_bytes(), other).status, 404);
    EXPECT_EQ(http_get(port, "/api/v1/expenses", bearer(other)).header("X-Total-Count"), "0");
    EXPECT_EQ(num(parse(http_get(port, "/api/v1/expenses/stats", bearer(other))), "count"), "0");
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_EQ(dir.files(), files_before);
}

TEST(BillingExpenses, FiltersAndPagesFollowLinkWithoutDuplicates) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    create_expense(port, owner, R"({"amount":1,"category":"travel","date":"2026-01-01","vendor":"Air 100%"})");
    create_expense(port, owner, R"({"amount":2,"category":"travel","date":"2026-01-31","tax_deductible":false})");
    create_expense(port, owner,
                   R"({"amount":3,"category":"software","date":"2026-02-01","description":"IDE licence"})");
    create_expense(port, owner, R"({"amount":4,"category":"utilities","date":"2025-12-31","vendor":"Power"})");
    for (int i = 0; i < 7; ++i) {
        create_expense(port, owner,
                       R"({"amount":5,"category":"other","date":"2026-03-0)" + std::to_string(i + 1) +
                           R"(","description":"misc )" + std::to_string(i) + R"("})");
    }
    auto count = [&](const std::string& q) {
        auto r = http_get(port, "/api/v1/expenses?" + q, bearer(owner));
        EXPECT_EQ(r.status, 200) << q << " " << r.body;
        EXPECT_EQ(std::to_string(parse(r).as_array().size()), r.header("X-Total-Count")) << q;
        return r.header("X-Total-Count");
    };
    EXPECT_EQ(count("category=travel"), "2");
    EXPECT_EQ(count("date_from=2026-01-01&date_to=2026-01-31"), "2");  // inclusive at both ends
    EXPECT_EQ(count("date_to=2025-12-31"), "1");
    EXPECT_EQ(count("tax_deductible=false"), "1");
    EXPECT_EQ(count("tax_deductible=true"), "10");
    EXPECT_EQ(count("search=licence"), "1");
    EXPECT_EQ(count("search=AIR"), "1");
    EXPECT_EQ(count("search=100%25"), "1");  // LIKE metacharacters are literal
    EXPECT_EQ(count("search=%25"), "1");
    EXPECT_EQ(count("search=misc"), "7");
    EXPECT_EQ(count("category=other&date_from=2026-03-03&search=misc"), "5");
    auto listed = http_get(port, "/api/v1/expenses?limit=3", bearer(owner));
    EXPECT_CONFORMS("GET", "/api/v1/expenses", listed);

    int pages = 0;
    auto ids = walk_pages(port, "/api/v1/expenses?limit=3", owner, &pages);
    EXPECT_EQ(pages, 4);
    EXPECT_EQ(ids.size(), 11u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 11u);
    // Newest first, as created.
    EXPECT_EQ(ids.front(), db.scalar("SELECT id FROM expenses ORDER BY created_at DESC, id DESC LIMIT 1"));
    // Filters survive into the Link.
    auto filtered = walk_pages(port, "/api/v1/expenses?category=other&limit=2", owner, &pages);
    EXPECT_EQ(pages, 4);
    EXPECT_EQ(std::set<std::string>(filtered.begin(), filtered.end()).size(), 7u);
}

TEST(BillingExpenses, IdempotencyKeyReplayCreatesOneRow) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    std::string body = R"({"amount":42,"category":"marketing","date":"2026-04-01"})";
    auto headers = bearer(owner);
    headers.emplace_back("Idempotency-Key", "expense-once");
    auto first = send(port, "POST", "/api/v1/expenses", body, headers);
    auto second = send(port, "POST", "/api/v1/expenses", body, headers);
    ASSERT_EQ(first.status, 201) << first.body;
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(str(parse(second), "id"), str(parse(first), "id"));
    EXPECT_EQ(db.scalar("SELECT count(*) FROM expenses"), "1");
    auto different =
        send(port, "POST", "/api/v1/expenses", R"({"amount":43,"category":"marketing","date":"2026-04-01"})", headers);
    EXPECT_EQ(different.status, 409);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM expenses"), "1");
}

TEST(BillingExpenses, StatsAgreeWithABruteForceSum) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    // The org's "today" (UTC until set) decides the year and its months.
    std::string today = db.scalar("SELECT (now() AT TIME ZONE 'UTC')::date::text");
    int year = std::stoi(today.substr(0, 4));
    int months = std::stoi(today.substr(5, 2));
    const std::vector<std::string> categories = {"supplies", "office_supplies", "travel",    "equipment",
                                                 "software", "marketing",       "utilities", "other"};
    std::mt19937 rng(7);
    std::int64_t total = 0, deductible = 0, this_year = 0;
    int n = 0;
    std::map<std::string, std::int64_t> by;
    for (int i = 0; i < 30; ++i) {
        std::int64_t cents = 1 + static_cast<std::int64_t>(rng() % 100000);
        const std::string& cat = categories[rng() % categories.size()];
        bool ded = rng() % 3 != 0;
        // Last year, this year up to today, or (not counted in the average) later this year.
        int pick = static_cast<int>(rng() % 3);
        std::string date = pick == 0   ? std::to_string(year - 1) + "-06-15"
                           : pick == 1 ? today
                                       : std::to_string(year) + "-12-31";
        std::string amount =
            std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100);
        create_expense(port, owner,
                       R"({"amount":)" + amount + R"(,"category":")" + cat + R"(","date":")" + date +
                           R"(","tax_deductible":)" + (ded ? "true" : "false") + "}");
        total += cents;
        deductible += ded ? cents : 0;
        by[cat] += cents;
        if (pick == 1 || (pick == 2 && today == std::to_string(year) + "-12-31")) this_year += cents;
        ++n;
    }
    // Another currency is left out of every figure.
    create_expense(port, owner, R"({"amount":999,"currency":"JPY","category":"travel","date":")" + today + "\"}");
    auto money = [](std::int64_t c) {
        return std::to_string(c / 100) + "." + (c % 100 < 10 ? "0" : "") + std::to_string(c % 100);
    };
    auto r = http_get(port, "/api/v1/expenses/stats", bearer(owner));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_CONFORMS("GET", "/api/v1/expenses/stats", r);
    auto s = parse(r);
    EXPECT_EQ(num(s, "total_expenses"), money(total));
    EXPECT_EQ(num(s, "count"), std::to_string(n));
    EXPECT_EQ(num(s, "tax_deductible"), money(deductible));
    // Half-up of this_year / months, done with exact integers a different way: compare remainders.
    std::int64_t q = this_year / months, rem = this_year % months;
    std::int64_t expected_avg = 2 * rem >= months ? q + 1 : q;
    EXPECT_EQ(num(s, "monthly_average"), money(expected_avg));
    EXPECT_EQ(str(s, "currency"), "USD");
    const json::Value* b = s.find("by_category");
    ASSERT_TRUE(b && b->is_object());
    for (const auto& c : categories) EXPECT_EQ(num(*b, c), money(by[c])) << c;
}

TEST(BillingExpenses, ReceiptRoundTripAndFileDeleteClearsIt) {
    TestDatabase db;
    UploadDir dir;
    ServerProcess server(upload_env(db, dir));
    auto port = server.port();
    auto owner = register_account(port);
    auto id = create_expense(port, owner, R"({"amount":99.99,"category":"equipment","date":"2026-05-05"})");
    std::string bytes = png_bytes(200 * 1024, 42);
    auto up = upload(port, "/api/v1/expenses/" + id + "/receipt", "receipt", "/tmp/../Scan 01.png", bytes, owner,
                     "application/pdf");
    ASSERT_EQ(up.status, 201) << up.body;
    EXPECT_CONFORMS("POST", "/api/v1/expenses/{id}/receipt", up);
    auto e = parse(up);
    const json::Value* receipt = e.find("receipt");
    ASSERT_TRUE(receipt && receipt->is_object());
    std::string file_id = str(*receipt, "file_id");
    EXPECT_EQ(str(*receipt, "file_name"), "Scan 01.png");
    EXPECT_EQ(str(*receipt, "content_type"), "image/png");
    EXPECT_EQ(num(*receipt, "size"), std::to_string(bytes.size()));
    EXPECT_EQ(str(*receipt, "url"), "/api/v1/expenses/" + id + "/receipt");
    auto shown = parse(http_get(port, "/api/v1/expenses/" + id, bearer(owner)));
    EXPECT_EQ(str(*shown.find("receipt"), "file_id"), file_id);

    auto down = http_get(port, "/api/v1/expenses/" + id + "/receipt", bearer(owner));
    ASSERT_EQ(down.status, 200);
    EXPECT_CONFORMS("GET", "/api/v1/expenses/{id}/receipt", down);
    EXPECT_TRUE(down.body == bytes);
    EXPECT_EQ(down.header("Content-Type"), "image/png");
    EXPECT_EQ(down.header("Content-Disposition"), "attachment; filename=\"Scan 01.png\"");
    EXPECT_EQ(down.header("ETag"), "\"" + auth::sha256_hex(bytes) + "\"");
    EXPECT_EQ(db.scalar("SELECT sha256 FROM files WHERE id = '" + file_id + "'"), auth::sha256_hex(bytes));
    // The receipt is one of the org's files too.
    EXPECT_EQ(http_get(port, "/api/v1/files/" + file_id, bearer(owner)).body, bytes);

    // Refusals change nothing: a disguised text file, a missing field, the wrong content type.
    auto before = billing_snapshot(db);
    auto files_before = dir.files();
    auto fake =
        upload(port, "/api/v1/expenses/" + id + "/receipt", "receipt", "r.png", "plain text", owner, "image/png");
    EXPECT_EQ(fake.status, 415);
    EXPECT_EQ(error_code(fake), "UNSUPPORTED_MEDIA_TYPE");
    EXPECT_EQ(error_fields(upload(port, "/api/v1/expenses/" + id + "/receipt", "file", "r.png", bytes, owner)),
              "receipt");
    EXPECT_EQ(send(port, "POST", "/api/v1/expenses/" + id + "/receipt", "{}", bearer(owner)).status, 415);
    auto too_big =
        upload(port, "/api/v1/expenses/" + id + "/receipt", "receipt", "r.png", png_bytes(10 * 1024 * 1024), owner);
    EXPECT_EQ(too_big.status, 413);
    EXPECT_EQ(billing_snapshot(db), before);
    EXPECT_EQ(dir.files(), files_before);

    // Deleting the file clears the expense's receipt (and removes the bytes).
    EXPECT_EQ(send(port, "DELETE", "/api/v1/files/" + file_id, "", bearer(owner)).status, 204);
    auto after = parse(http_get(port, "/api/v1/expenses/" + id, bearer(owner)));
    EXPECT_TRUE(after.find("receipt")->is_null());
    EXPECT_EQ(num(after, "amount"), "99.99");
    EXPECT_EQ(http_get(port, "/api/v1/expenses/" + id + "/receipt", bearer(owner)).status, 404);
    EXPECT_TRUE(dir.files().empty());
}

}  // namespace
}  // namespace flashbill::test
