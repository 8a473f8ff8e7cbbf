#pragma once
// The one totals engine of API.md §4. Every path that shows an amount (create, update, preview,
// lists, payments, reports, PDF, emails) takes its numbers from here or from what this computed
// and stored. Integer minor units and exact decimals only.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/decimal.hpp"
#include "core/error.hpp"
#include "core/money.hpp"

namespace flashbill::domain::invoices {

struct LineInput {
    Decimal quantity;                         // > 0, ≤ 4 decimals (validated by the caller)
    std::int64_t unit_price = 0;              // minor units, ≥ 0
    std::optional<Decimal> tax_rate;          // percent; absent → the org's default active rate
    std::optional<Decimal> discount_percent;  // percent, 0–100
};

// The org's default active tax rate, when it has one.
struct DefaultTax {
    Decimal rate;
    std::string label;
};

struct TotalsInput {
    std::vector<LineInput> items;
    std::int64_t discount_amount = 0;  // absolute, applied after tax
    bool tax_exempt = false;           // the client's flag: every line's tax is 0
    std::optional<DefaultTax> default_tax;
};

struct LineTotals {
    std::int64_t amount = 0;  // round(quantity × unit_price × (1 − discount_percent/100))
    Decimal tax_rate;         // the rate applied (the default's when the line had none; 0 when exempt)
    std::int64_t tax = 0;     // round(amount × tax_rate/100)
    bool used_default = false;
};

struct Totals {
    std::vector<LineTotals> lines;
    std::int64_t subtotal = 0;
    std::int64_t tax_amount = 0;
    std::int64_t discount_amount = 0;
    std::int64_t total_amount = 0;
    std::optional<std::string> tax_label;  // the default rate's label when any line used it
};

// Computes the invoice's totals; rounding half-up to the minor unit at each line. Validation
// errors name the field: `discount_amount` above subtotal + tax, or a line or total whose amount
// leaves the accepted range (`items[i].amount`, `total_amount`).
Result<Totals> compute_totals(const TotalsInput& input);

// Status an invoice reads as from its stored state and payments (API.md §4): payments and
// refunds recompute partial/paid from amount_paid; overdue is derived at read time.
std::string status_after_payment(std::int64_t total_amount, std::int64_t amount_paid, const std::string& current,
                                 bool was_viewed);

}  // namespace flashbill::domain::invoices
