#pragma once
// Reports (API.md §9): the vocabulary shared by the repository (SQL), the service (periods, cache,
// JSON and CSV) and the routes. Amounts are integer minor units of the org currency; only
// documents in that currency are counted or summed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/money.hpp"
#include "domain/common/input.hpp"

namespace flashbill::domain::reports {

enum class ReportType { kOverview, kIncome, kExpenses, kTax, kAging };

// "overview", "income", ... (the names of API.md §9 and of the export's report_type).
std::string_view type_name(ReportType t);
std::optional<ReportType> parse_type(std::string_view name);

// Both bounds inclusive, calendar dates in the org's time zone.
struct Period {
    Date start;
    Date end;
};

// What every report query needs: whose data, in which currency, for which period, as of which
// day (the org's today, which decides what is overdue and how old a balance is).
struct Scope {
    std::string org_id;
    Currency currency = kUsd;
    Period period;
    std::string today;  // YYYY-MM-DD in the org's time zone
};

struct MonthAmount {
    std::string month;  // YYYY-MM
    std::int64_t amount = 0;
    std::int64_t count = 0;  // invoices paid (income) or expenses (expenses); unused for revenue
};

struct Overview {
    std::int64_t total_revenue = 0;
    std::int64_t outstanding_balance = 0;
    std::int64_t total_invoices = 0;
    std::int64_t paid_invoices = 0;
    std::int64_t overdue_invoices = 0;
    std::int64_t total_expenses = 0;
    std::vector<MonthAmount> revenue_by_month;
};

struct ClientIncome {
    std::string client_id;
    std::string client_name;
    std::int64_t amount = 0;
    std::int64_t invoice_count = 0;
};

struct InvoiceReceipt {
    std::string invoice_id;
    std::optional<std::string> invoice_number;
    std::string client_id;
    std::string client_name;
    std::int64_t amount = 0;
};

struct Income {
    std::int64_t total_income = 0;
    std::vector<MonthAmount> by_month;
    std::vector<ClientIncome> by_client;
    std::vector<InvoiceReceipt> top_invoices;
};

struct CategoryAmount {
    std::string category;
    std::int64_t amount = 0;
    std::int64_t count = 0;
};

struct Expenses {
    std::int64_t total_expenses = 0;
    std::vector<CategoryAmount> by_category;
    std::vector<MonthAmount> by_month;
};

struct RateTax {
    std::int64_t rate_units = 0;  // Decimal units (10^-4 percent)
    std::optional<std::string> label;
    std::int64_t taxable_amount = 0;
    std::int64_t tax_amount = 0;
};

struct MonthTax {
    std::string month;
    std::int64_t taxable_amount = 0;
    std::int64_t tax_amount = 0;
};

struct Tax {
    std::int64_t total_tax_collected = 0;
    std::int64_t total_tax_deductible = 0;
    std::vector<RateTax> by_rate;
    std::vector<MonthTax> by_month;
};

struct AgingInvoice {
    std::string invoice_id;
    std::optional<std::string> invoice_number;
    std::string client_id;
    std::string client_name;
    std::string issue_date;
    std::string due_date;
    std::int64_t days_overdue = 0;
    std::int64_t total_amount = 0;
    std::int64_t amount_paid = 0;
    std::int64_t balance_due = 0;
};

struct Aging {
    std::int64_t current = 0;
    std::int64_t one_to_thirty_days = 0;
    std::int64_t thirty_one_to_sixty_days = 0;
    std::int64_t sixty_one_to_ninety_days = 0;
    std::int64_t over_ninety_days = 0;
    std::vector<AgingInvoice> overdue_invoices;
};

}  // namespace flashbill::domain::reports
