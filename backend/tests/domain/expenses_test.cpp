// Expense rules without a database: input parsing with aliases and collected errors, and the
// rounding of the monthly average.

#include "domain/expenses/expenses.hpp"

#include <gtest/gtest.h>

namespace flashbill::domain::expenses {
namespace {

TEST(ExpenseStats, MonthlyAverageRoundsHalfUp) {
    EXPECT_EQ(monthly_average(0, 1), 0);
    EXPECT_EQ(monthly_average(1000, 3), 333);  // 333.33
    EXPECT_EQ(monthly_average(1001, 2), 501);  // 500.5 → 501
    EXPECT_EQ(monthly_average(1000, 6), 167);  // 166.67
    EXPECT_EQ(monthly_average(5, 2), 3);       // 2.5 → 3
    EXPECT_EQ(monthly_average(7, 12), 1);      // 0.58 → 1
    EXPECT_EQ(monthly_average(6, 12), 1);      // 0.5 → 1
    EXPECT_EQ(monthly_average(5, 12), 0);      // 0.42 → 0
}

TEST(ExpenseInput, CollectsEveryFieldErrorAndHonoursAliases) {
    auto body = json::parse(R"({"amount":1.005,"category":"food","date":"2026-02-30","is_tax_deductible":"yes",
                                "vendor":5})");
    ASSERT_TRUE(body.ok());
    auto r = parse_changes(*body, true, kUsd);
    ASSERT_FALSE(r.ok());
    std::string fields;
    for (const auto& d : r.error().details) fields += d.field + ",";
    EXPECT_EQ(fields, "amount,category,date,is_tax_deductible,vendor,");
    auto ok = json::parse(R"({"amount":1e2,"category":"travel","date":"2026-02-28","currency":"JPY"})");
    auto c = parse_changes(*ok, true, kUsd);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->amount.value(), 100);  // JPY has no minor unit
    EXPECT_EQ(c->date_incurred.value(), "2026-02-28");
    EXPECT_TRUE(c->tax_deductible.value());
}

}  // namespace
}  // namespace flashbill::domain::expenses
