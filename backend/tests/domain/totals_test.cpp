// The totals engine (API.md §4): worked examples with the rounding rule pinned, and a property
// test that recomputes every invoice with a brute-force rational formula of its own.

#include "domain/invoices/totals.hpp"

#include <gtest/gtest.h>

#include <random>

namespace flashbill::domain::invoices {
namespace {

Decimal d(std::int64_t units) { return Decimal::from_units(units); }

LineInput line(std::int64_t qty_units, std::int64_t price, std::optional<Decimal> rate = std::nullopt,
               std::optional<Decimal> disc = std::nullopt) {
    return LineInput{d(qty_units), price, rate, disc};
}

TEST(InvoiceTotals, SumsLinesTaxAndDiscount) {
    TotalsInput in;
    in.items = {line(2 * Decimal::kOne, 1050, d(82500)), line(Decimal::kOne, 999)};
    in.discount_amount = 100;
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->lines[0].amount, 2100);
    EXPECT_EQ(t->lines[0].tax, 173);  // 2100 × 8.25 % = 173.25 → 173
    EXPECT_EQ(t->lines[1].amount, 999);
    EXPECT_EQ(t->lines[1].tax, 0);
    EXPECT_EQ(t->subtotal, 3099);
    EXPECT_EQ(t->tax_amount, 173);
    EXPECT_EQ(t->total_amount, 3099 + 173 - 100);
    EXPECT_FALSE(t->tax_label.has_value());
}

TEST(InvoiceTotals, RoundsHalfUpPerLine) {
    TotalsInput in;
    // 0.5 × 1 minor unit = 0.5 → 1; tax 10 % of 5 = 0.5 → 1.
    in.items = {line(5000, 1), line(Decimal::kOne, 5, d(100000))};
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->lines[0].amount, 1);
    EXPECT_EQ(t->lines[1].tax, 1);
    EXPECT_EQ(t->total_amount, 1 + 5 + 1);
}

TEST(InvoiceTotals, LineDiscountAppliesBeforeRounding) {
    TotalsInput in;
    in.items = {line(3 * Decimal::kOne, 333, std::nullopt, d(333333))};  // 999 × (1 − 0.333333) = 666.000333
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->lines[0].amount, 666);
}

TEST(InvoiceTotals, LinesWithoutRateTakeTheDefaultAndItsLabel) {
    TotalsInput in;
    in.default_tax = DefaultTax{d(200000), "VAT"};
    in.items = {line(Decimal::kOne, 1000), line(Decimal::kOne, 1000, d(0))};
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->lines[0].tax, 200);
    EXPECT_TRUE(t->lines[0].used_default);
    EXPECT_EQ(t->lines[1].tax, 0);
    EXPECT_EQ(t->tax_label, "VAT");
}

TEST(InvoiceTotals, ExplicitRatesLeaveNoLabel) {
    TotalsInput in;
    in.default_tax = DefaultTax{d(200000), "VAT"};
    in.items = {line(Decimal::kOne, 1000, d(50000))};
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->tax_amount, 50);
    EXPECT_FALSE(t->tax_label.has_value());
}

TEST(InvoiceTotals, TaxExemptClientPaysNoTaxOnAnyLine) {
    TotalsInput in;
    in.tax_exempt = true;
    in.default_tax = DefaultTax{d(200000), "VAT"};
    in.items = {line(Decimal::kOne, 1000), line(Decimal::kOne, 1000, d(100000))};
    auto t = compute_totals(in);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->tax_amount, 0);
    EXPECT_FALSE(t->tax_label.has_value());
}

TEST(InvoiceTotals, DiscountAboveSubtotalPlusTaxIsAValidationErrorOnThatField) {
    TotalsInput in;
    in.items = {line(Decimal::kOne, 1000, d(100000))};
    in.discount_amount = 1101;
    auto t = compute_totals(in);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, ErrorCode::kValidation);
    EXPECT_EQ(t.error().details.at(0).field, "discount_amount");
    in.discount_amount = 1100;
    EXPECT_EQ(compute_totals(in)->total_amount, 0);
}

TEST(InvoiceTotals, AmountsBeyondTheAcceptedRangeAreValidationErrorsNotCrashes) {
    TotalsInput in;
    in.items = {line(Decimal::kMaxUnits, kMaxMinorUnits)};
    auto t = compute_totals(in);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().details.at(0).field, "items[0].amount");
    in.items = {line(Decimal::kOne, kMaxMinorUnits), line(Decimal::kOne, kMaxMinorUnits)};
    t = compute_totals(in);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().details.at(0).field, "total_amount");
}

// round(n / den) half away from zero, written independently of core/decimal.
std::int64_t brute_round(Int128 n, Int128 den) {
    bool neg = n < 0;
    if (neg) n = -n;
    Int128 q = n / den, r = n % den;
    if (2 * r >= den) ++q;
    return static_cast<std::int64_t>(neg ? -q : q);
}

TEST(InvoiceTotals, PropertyRandomInvoicesAgreeWithBruteForce) {
    std::mt19937_64 rng(20261125);
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    for (int n = 0; n < 20'000; ++n) {
        TotalsInput in;
        in.tax_exempt = pick(0, 9) == 0;
        if (pick(0, 1)) in.default_tax = DefaultTax{d(pick(0, 300000)), "Tax"};
        int lines = static_cast<int>(pick(1, 8));
        for (int i = 0; i < lines; ++i) {
            LineInput l;
            l.quantity = d(pick(1, 1'000 * Decimal::kOne));
            l.unit_price = pick(0, 10'000'000);
            if (pick(0, 2)) l.tax_rate = d(pick(0, 1'000'000));
            if (pick(0, 2)) l.discount_percent = d(pick(0, 1'000'000));
            in.items.push_back(l);
        }
        // Expected, by brute force.
        std::int64_t subtotal = 0, tax = 0;
        bool used_default = false;
        for (const auto& l : in.items) {
            std::int64_t disc = l.discount_percent ? l.discount_percent->units() : 0;
            std::int64_t amount = brute_round(static_cast<Int128>(l.quantity.units()) * l.unit_price *
                                                  (100 * Decimal::kOne - disc),
                                              static_cast<Int128>(Decimal::kOne) * 100 * Decimal::kOne);
            std::int64_t rate = 0;
            if (!in.tax_exempt) {
                if (l.tax_rate) {
                    rate = l.tax_rate->units();
                } else if (in.default_tax) {
                    rate = in.default_tax->rate.units();
                    used_default = true;
                }
            }
            subtotal += amount;
            tax += brute_round(static_cast<Int128>(amount) * rate, static_cast<Int128>(100) * Decimal::kOne);
        }
        in.discount_amount = pick(0, 3) ? 0 : pick(0, subtotal + tax);
        auto t = compute_totals(in);
        ASSERT_TRUE(t.ok()) << "invoice " << n;
        ASSERT_EQ(t->subtotal, subtotal) << "invoice " << n;
        ASSERT_EQ(t->tax_amount, tax) << "invoice " << n;
        ASSERT_EQ(t->total_amount, subtotal + tax - in.discount_amount) << "invoice " << n;
        std::int64_t sum_lines = 0, sum_tax = 0;
        for (const auto& l : t->lines) {
            sum_lines += l.amount;
            sum_tax += l.tax;
        }
        ASSERT_EQ(sum_lines, t->subtotal);
        ASSERT_EQ(sum_tax, t->tax_amount);
        ASSERT_EQ(t->tax_label.has_value(), used_default) << "invoice " << n;
    }
}

TEST(InvoiceStatus, PaymentsAndRefundsRecomputeFromAmountPaid) {
    EXPECT_EQ(status_after_payment(1000, 1000, "sent", false), "paid");
    EXPECT_EQ(status_after_payment(1000, 400, "viewed", true), "partial");
    EXPECT_EQ(status_after_payment(1000, 0, "partial", true), "viewed");
    EXPECT_EQ(status_after_payment(1000, 0, "paid", false), "sent");
}

}  // namespace
}  // namespace flashbill::domain::invoices
