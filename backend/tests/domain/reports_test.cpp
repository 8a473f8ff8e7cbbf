// The pure parts of the reports (API.md §9): period defaults and checks, CSV quoting, and the CSV
// built from a report's JSON answer.

#include <gtest/gtest.h>

#include "domain/reports/service.hpp"

namespace flashbill::domain::reports {
namespace {

TEST(ReportPeriod, DefaultsToTheCurrentCalendarYearOfTheOrgsToday) {
    auto p = resolve_period(PeriodInput{}, "2026-07-14");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->start.text(), "2026-01-01");
    EXPECT_EQ(p->end.text(), "2026-12-31");
    PeriodInput only_start;
    only_start.start_date = "2025-03-01";
    auto q = resolve_period(only_start, "2026-07-14");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->start.text(), "2025-03-01");
    EXPECT_EQ(q->end.text(), "2026-12-31");
}

TEST(ReportPeriod, StartAfterEndAndMalformedDatesAreValidationErrors) {
    PeriodInput in;
    in.start_date = "2026-05-02";
    in.end_date = "2026-05-01";
    auto p = resolve_period(in, "2026-07-14");
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, ErrorCode::kValidation);
    ASSERT_EQ(p.error().details.size(), 1u);
    EXPECT_EQ(p.error().details[0].field, "start_date");
    in.start_date = "2026-02-30";
    in.end_date = "soon";
    in.start_field = "date_range.start_date";
    in.end_field = "date_range.end_date";
    auto q = resolve_period(in, "2026-07-14");
    ASSERT_FALSE(q);
    ASSERT_EQ(q.error().details.size(), 2u);
    EXPECT_EQ(q.error().details[0].field, "date_range.start_date");
    EXPECT_EQ(q.error().details[1].field, "date_range.end_date");
    in.start_date = in.end_date = "2026-05-01";  // a one-day period is fine
    EXPECT_TRUE(resolve_period(in, "2026-07-14"));
}

TEST(ReportCsv, QuotesOnlyWhatRfc4180NeedsAndDefusesFormulas) {
    EXPECT_EQ(csv_text("Acme"), "Acme");
    EXPECT_EQ(csv_text("Smith, Jones"), "\"Smith, Jones\"");
    EXPECT_EQ(csv_text("The \"Best\" Co"), "\"The \"\"Best\"\" Co\"");
    EXPECT_EQ(csv_text("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csv_text("=SUM(A1:A9)"), "'=SUM(A1:A9)");
    EXPECT_EQ(csv_text("@cmd"), "'@cmd");
    EXPECT_EQ(csv_text("-1+1,x"), "\"'-1+1,x\"");
    EXPECT_EQ(csv_text(""), "");
}

TEST(ReportCsv, OneRowPerEntryOfTheMainListWithExactAmounts) {
    auto csv =
        csv_from_json(ReportType::kAging, R"({"current":0,"overdue_invoices":[{"invoice_id":"a","invoice_number":null,)"
                                          R"("client_id":"c","client_name":"Smith, \"J\"","issue_date":"2026-01-01",)"
                                          R"("due_date":"2026-01-31","days_overdue":12,"total_amount":100.10,)"
                                          R"("amount_paid":0.00,"balance_due":100.10}]})");
    ASSERT_TRUE(csv);
    EXPECT_EQ(*csv,
              "invoice_id,invoice_number,client_id,client_name,issue_date,due_date,days_overdue,total_amount,"
              "amount_paid,balance_due\r\n"
              "a,,c,\"Smith, \"\"J\"\"\",2026-01-01,2026-01-31,12,100.10,0.00,100.10\r\n");
    auto empty = csv_from_json(ReportType::kOverview, R"({"revenue_by_month":[]})");
    ASSERT_TRUE(empty);
    EXPECT_EQ(*empty, "month,amount\r\n");
}

TEST(ReportType, NamesRoundTrip) {
    for (auto t :
         {ReportType::kOverview, ReportType::kIncome, ReportType::kExpenses, ReportType::kTax, ReportType::kAging}) {
        EXPECT_EQ(parse_type(type_name(t)), t);
    }
    EXPECT_FALSE(parse_type("profit"));
}

}  // namespace
}  // namespace flashbill::domain::reports
