// Money property test through the API (issue 6): thousands of random invoices — items with
// 4-decimal quantities, rates and discounts, invoice discounts, partial payments and refunds —
// each checked against a brute-force computation written here, and the stored, listed and detailed
// numbers checked to agree to the cent. BILLING_PROPERTY_INVOICES sets the count (default 10,000).

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "auth_test_util.hpp"
#include "server_process.hpp"

namespace flashbill::test {
namespace {

using namespace auth_util;
__extension__ using I128 = __int128;

std::int64_t round_half_up(I128 n, I128 d) {
    bool neg = n < 0;
    if (neg) n = -n;
    I128 q = n / d, r = n % d;
    if (2 * r >= d) ++q;
    return static_cast<std::int64_t>(neg ? -q : q);
}

std::string units4(std::int64_t u) {  // a 4-decimal value as JSON number text
    std::string frac = std::to_string(u % 10000);
    return std::to_string(u / 10000) + "." + std::string(4 - frac.size(), '0') + frac;
}

std::string cents(std::int64_t c) {
    std::string frac = std::to_string(c % 100);
    return std::to_string(c / 100) + "." + std::string(2 - frac.size(), '0') + frac;
}

struct Expected {
    std::int64_t subtotal = 0, tax = 0, discount = 0, total = 0, paid = 0;
};

// A keep-alive client for one thread.
struct Client {
    Connection conn;
    std::string auth;
    explicit Client(std::uint16_t port, std::string token) : conn(port, std::chrono::seconds(30)), auth(std::move(token)) {}
    HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "") {
        Request r;
        r.method = method;
        r.target = target;
        r.headers = {{"Authorization", "Bearer " + auth}};
        if (!body.empty()) {
            r.headers.emplace_back("Content-Type", "application/json");
            r.body = body;
        }
        if (!conn.send(format_request(r))) throw std::runtime_error("connection closed");
        auto res = conn.read_response();
        if (!res) throw std::runtime_error("no response to " + method + " " + target);
        return *res;
    }
};

std::string num(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_number() ? std::string(f->number_text()) : std::string("?");
}

#ifndef FB_PROPERTY_INVOICES
#define FB_PROPERTY_INVOICES 10000
#endif

TEST(BillingMoneyProperty, RandomInvoicesPaymentsAndRefundsAgreeEverywhere) {
    const char* override_count = std::getenv("BILLING_PROPERTY_INVOICES");
    const int count = override_count ? std::atoi(override_count) : FB_PROPERTY_INVOICES;
    TestDatabase db;
    // Plenty of API budget: this test makes tens of thousands of requests as one user.
    ServerProcess server(env(db, {{"RATE_LIMIT_API", "1000000/min"}}));
    auto port = server.port();
    auto owner = register_account(port);
    auto client = str(parse(send(port, "POST", "/api/v1/clients", R"({"name":"Property"})", bearer(owner))), "id");

    std::map<std::string, Expected> expected;  // invoice id → numbers
    std::mutex mu;
    std::atomic<int> failures{0};
    constexpr int kThreads = 4;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(1000 + t);
            auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
            Client c(port, owner.access_token);
            for (int n = t; n < count && failures.load() < 5; n += kThreads) {
                Expected e;
                std::string items;
                int lines = static_cast<int>(pick(1, 4));
                for (int i = 0; i < lines; ++i) {
                    std::int64_t q = pick(1, 1'000'000), price = pick(0, 500'000);
                    std::int64_t rate = pick(0, 2) ? pick(0, 300'000) : 0;
                    std::int64_t disc = pick(0, 3) == 0 ? pick(0, 1'000'000) : 0;
                    std::int64_t amount = round_half_up(static_cast<I128>(q) * price * (1'000'000 - disc),
                                                        static_cast<I128>(10'000) * 1'000'000);
                    e.subtotal += amount;
                    e.tax += round_half_up(static_cast<I128>(amount) * rate, 1'000'000);
                    items += std::string(i ? "," : "") + R"({"description":"L","quantity":)" + units4(q) +
                             R"(,"unit_price":)" + cents(price) + R"(,"tax_rate":)" + units4(rate) +
                             (disc ? R"(,"discount_percent":)" + units4(disc) : std::string()) + "}";
                }
                e.discount = pick(0, 4) == 0 ? pick(0, e.subtotal + e.tax) : 0;
                e.total = e.subtotal + e.tax - e.discount;
                auto r = c.call("POST", "/api/v1/invoices",
                                R"({"client_id":")" + client + R"(","issue_date":"2099-06-01","discount_amount":)" +
                                    cents(e.discount) + R"(,"items":[)" + items + "]}");
                auto body = json::parse(r.body);
                if (r.status != 201 || !body || num(*body, "total_amount") != cents(e.total) ||
                    num(*body, "subtotal") != cents(e.subtotal) || num(*body, "tax_amount") != cents(e.tax)) {
                    ADD_FAILURE() << "invoice " << n << ": expected total " << cents(e.total) << " subtotal "
                                  << cents(e.subtotal) << " tax " << cents(e.tax) << ", got " << r.status << " " << r.body;
                    failures.fetch_add(1);
                    continue;
                }
                std::string id = body->find("id")->as_string();
                // A third are issued and paid in parts, some refunded.
                if (pick(0, 2) == 0 && e.total > 0) {
                    if (c.call("POST", "/api/v1/invoices/" + id + "/mark-sent").status != 200) failures.fetch_add(1);
                    int payments = static_cast<int>(pick(1, 3));
                    for (int p = 0; p < payments && e.paid < e.total; ++p) {
                        std::int64_t amount = p + 1 == payments ? e.total - e.paid : pick(1, e.total - e.paid);
                        auto pr = c.call("POST", "/api/v1/invoices/" + id + "/payments", R"({"amount":)" + cents(amount) + "}");
                        if (pr.status != 201) {
                            ADD_FAILURE() << "payment of " << cents(amount) << " on " << id << ": " << pr.body;
                            failures.fetch_add(1);
                            break;
                        }
                        e.paid += amount;
                        if (pick(0, 4) == 0) {
                            std::int64_t back = pick(1, amount);
                            auto pid = json::parse(pr.body)->find("id")->as_string();
                            auto rr = c.call("POST", "/api/v1/payments/" + pid + "/refund", R"({"amount":)" + cents(back) + "}");
                            if (rr.status != 201) failures.fetch_add(1);
                            else e.paid -= back;
                        }
                    }
                }
                std::lock_guard lock(mu);
                expected[id] = e;
            }
        });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(failures.load(), 0);
    ASSERT_EQ(static_cast<int>(expected.size()), count);

    // Stored: the database's rows equal the expectations, and the paid amounts their payments.
    std::map<std::string, std::string> stored;
    {
        std::string rows = db.scalar(
            "SELECT string_agg(id || ':' || subtotal || ':' || tax_amount || ':' || discount_amount || ':' || "
            "total_amount || ':' || amount_paid, ',') FROM invoices");
        std::size_t pos = 0;
        while (pos < rows.size()) {
            auto comma = rows.find(',', pos);
            std::string row = rows.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            stored[row.substr(0, 36)] = row.substr(37);
            pos = comma == std::string::npos ? rows.size() : comma + 1;
        }
    }
    for (const auto& [id, e] : expected) {
        EXPECT_EQ(stored[id], std::to_string(e.subtotal) + ":" + std::to_string(e.tax) + ":" + std::to_string(e.discount) +
                                  ":" + std::to_string(e.total) + ":" + std::to_string(e.paid))
            << id;
    }
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices i WHERE amount_paid <> (SELECT coalesce(sum(amount - "
                        "refunded_amount), 0) FROM payments p WHERE p.org_id = i.org_id AND p.invoice_id = i.id)"),
              "0");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM invoices i WHERE subtotal <> (SELECT sum(amount) FROM invoice_items t "
                        "WHERE t.invoice_id = i.id) OR tax_amount <> (SELECT sum(tax_amount) FROM invoice_items t "
                        "WHERE t.invoice_id = i.id)"),
              "0");

    // Listed: every page through the Link header, each invoice exactly once with the same numbers.
    Client c(port, owner.access_token);
    std::map<std::string, int> seen;
    std::string target = "/api/v1/invoices?limit=200";
    while (!target.empty()) {
        auto r = c.call("GET", target);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.header("X-Total-Count"), std::to_string(count));
        auto page = json::parse(r.body);
        ASSERT_TRUE(page.ok());
        for (const auto& inv : page->as_array()) {
            std::string id = inv.find("id")->as_string();
            const Expected& e = expected.at(id);
            ++seen[id];
            EXPECT_EQ(num(inv, "total_amount"), cents(e.total)) << id;
            EXPECT_EQ(num(inv, "amount_paid"), cents(e.paid)) << id;
            EXPECT_EQ(num(inv, "balance_due"), cents(e.total - e.paid)) << id;
        }
        std::string link = r.header("Link");
        target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
    }
    EXPECT_EQ(static_cast<int>(seen.size()), count);
    for (auto& [id, times] : seen) EXPECT_EQ(times, 1) << id;

    // Detailed: a sample read one by one.
    int checked = 0;
    for (const auto& [id, e] : expected) {
        if (checked++ % 50) continue;
        auto inv = json::parse(c.call("GET", "/api/v1/invoices/" + id).body);
        ASSERT_TRUE(inv.ok());
        EXPECT_EQ(num(*inv, "subtotal"), cents(e.subtotal));
        EXPECT_EQ(num(*inv, "tax_amount"), cents(e.tax));
        EXPECT_EQ(num(*inv, "discount_amount"), cents(e.discount));
        EXPECT_EQ(num(*inv, "total_amount"), cents(e.total));
        EXPECT_EQ(num(*inv, "balance_due"), cents(e.total - e.paid));
    }
}

}  // namespace
}  // namespace flashbill::test
