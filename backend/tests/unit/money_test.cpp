// Money: the currency table, exact parsing of JSON number text into minor units, formatting, the
// Money value type, and the line-amount primitives of API.md §4. The property tests check the
// primitives against an independent oracle: exact rationals in Boost.Multiprecision's cpp_int,
// built from the decimal text of the inputs, so they share no code with the implementation.

#include "core/money.hpp"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace flashbill {
namespace {

using boost::multiprecision::cpp_int;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

Currency currency(std::string_view code) {
    std::optional<Currency> c = find_currency(code);
    if (!c) throw std::logic_error("test uses an unknown currency");
    return *c;
}

const Currency kUsdC = currency("USD");
const Currency kJpy = currency("JPY");
const Currency kBhd = currency("BHD");
const Currency kEur = currency("EUR");
const Currency kClf = currency("CLF");

std::int64_t minor_of(std::string_view text, Currency c) {
    Result<std::int64_t> parsed = parse_minor_units(text, c, "amount");
    EXPECT_TRUE(parsed.ok()) << "expected '" << text << "' to parse as " << c.code;
    return parsed.ok() ? *parsed : 0;
}

// The message of a rejected amount, after checking it is a validation error on the field.
std::string rejection(std::string_view text, Currency c) {
    Result<std::int64_t> parsed = parse_minor_units(text, c, "items[2].unit_price");
    EXPECT_FALSE(parsed.ok()) << "expected '" << text << "' to be rejected as " << c.code;
    if (parsed.ok()) return {};
    EXPECT_EQ(parsed.error().code, ErrorCode::kValidation);
    EXPECT_EQ(parsed.error().details.size(), 1U);
    if (parsed.error().details.size() != 1) return {};
    EXPECT_EQ(parsed.error().details[0].field, "items[2].unit_price");
    return parsed.error().details[0].message;
}

// ---------------------------------------------------------------------------------------------
// Currency table

TEST(Currency, FindsCodesWithTheirIsoExponents) {
    EXPECT_EQ(find_currency("USD"), (Currency{"USD", 2}));
    EXPECT_EQ(find_currency("EUR"), (Currency{"EUR", 2}));
    EXPECT_EQ(find_currency("JPY"), (Currency{"JPY", 0}));
    EXPECT_EQ(find_currency("KRW"), (Currency{"KRW", 0}));
    EXPECT_EQ(find_currency("BHD"), (Currency{"BHD", 3}));
    EXPECT_EQ(find_currency("KWD"), (Currency{"KWD", 3}));
    EXPECT_EQ(find_currency("CLF"), (Currency{"CLF", 4}));
    EXPECT_EQ(find_currency("AED"), (Currency{"AED", 2}));  // first in the table
    EXPECT_EQ(find_currency("ZWL"), (Currency{"ZWL", 2}));  // last in the table
    EXPECT_EQ(kUsd, find_currency("USD"));
}

TEST(Currency, RejectsUnknownLowercaseAndMalformedCodes) {
    for (std::string_view code : {"usd", "Usd", "US", "USDD", "", "XXX", "XTS", "XAU", "HRK", "ABC", " USD"}) {
        EXPECT_EQ(find_currency(code), std::nullopt) << code;
    }
}

TEST(Currency, TableIsWellFormedAndSorted) {
    const std::span<const Currency> all = all_currencies();
    EXPECT_GT(all.size(), 150U);
    std::string_view previous;
    for (const Currency& c : all) {
        ASSERT_EQ(c.code.size(), 3U);
        for (char ch : c.code) ASSERT_TRUE(ch >= 'A' && ch <= 'Z') << c.code;
        ASSERT_TRUE(c.exponent == 0 || c.exponent == 2 || c.exponent == 3 || c.exponent == 4) << c.code;
        ASSERT_LT(previous, c.code);
        ASSERT_EQ(find_currency(c.code), c);
        previous = c.code;
    }
}

// Pins every currency whose minor unit is not the usual 2 decimals (ISO 4217 List One).
TEST(Currency, NonTwoDecimalCurrenciesMatchIso4217) {
    std::set<std::string_view> zero, three, four;
    for (const Currency& c : all_currencies()) {
        if (c.exponent == 0) zero.insert(c.code);
        if (c.exponent == 3) three.insert(c.code);
        if (c.exponent == 4) four.insert(c.code);
    }
    EXPECT_EQ(zero, (std::set<std::string_view>{"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                                 "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}));
    EXPECT_EQ(three, (std::set<std::string_view>{"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}));
    EXPECT_EQ(four, (std::set<std::string_view>{"CLF", "UYW"}));
}

// ---------------------------------------------------------------------------------------------
// parse_minor_units

TEST(MoneyParse, ReadsTheExactValueOfEverySpelling) {
    EXPECT_EQ(minor_of("10", kUsdC), 1000);
    EXPECT_EQ(minor_of("10.000", kUsdC), 1000);
    EXPECT_EQ(minor_of("10.50", kUsdC), 1050);
    EXPECT_EQ(minor_of("1e2", kUsdC), 10000);
    EXPECT_EQ(minor_of("1E+2", kUsdC), 10000);
    EXPECT_EQ(minor_of("1e+2", kUsdC), 10000);
    EXPECT_EQ(minor_of("12.5", kUsdC), 1250);
    EXPECT_EQ(minor_of("0.1", kUsdC), 10);
    EXPECT_EQ(minor_of("0.01", kUsdC), 1);
    EXPECT_EQ(minor_of("1.23e1", kUsdC), 1230);
    EXPECT_EQ(minor_of("1999e-2", kUsdC), 1999);
    EXPECT_EQ(minor_of("0.1999E2", kUsdC), 1999);
    EXPECT_EQ(minor_of("-12.5", kUsdC), -1250);
}

TEST(MoneyParse, TreatsNegativeZeroAsZero) {
    EXPECT_EQ(minor_of("-0.0", kUsdC), 0);
    EXPECT_EQ(minor_of("-0", kJpy), 0);
    EXPECT_EQ(minor_of("0e-999", kBhd), 0);
}

TEST(MoneyParse, RejectsMoreDecimalsThanCurrency) {
    EXPECT_EQ(rejection("10.005", kUsdC), "must have at most 2 decimal places in USD");
    EXPECT_EQ(rejection("0.001", kUsdC), "must have at most 2 decimal places in USD");
    EXPECT_EQ(rejection("1e-3", kUsdC), "must have at most 2 decimal places in USD");
    EXPECT_EQ(rejection("-12.345", kEur), "must have at most 2 decimal places in EUR");
    EXPECT_EQ(rejection("1.5", kJpy), "must be a whole number in JPY");
    EXPECT_EQ(rejection("0.0005", kBhd), "must have at most 3 decimal places in BHD");
    EXPECT_EQ(rejection("1.00001", kClf), "must have at most 4 decimal places in CLF");
}

TEST(MoneyParse, AcceptsTrailingZerosBeyondTheCurrencyDecimals) {
    EXPECT_EQ(minor_of("10.000", kUsdC), 1000);
    EXPECT_EQ(minor_of("10.500000000000000000000000000000", kUsdC), 1050);
    EXPECT_EQ(minor_of("1000.0", kJpy), 1000);
    EXPECT_EQ(minor_of("15000e-1", kJpy), 1500);
    EXPECT_EQ(minor_of("15e-1", kBhd), 1500);
}

TEST(MoneyParse, UsesEachCurrencysMinorUnit) {
    EXPECT_EQ(minor_of("1000", kJpy), 1000);
    EXPECT_EQ(minor_of("1e3", kJpy), 1000);
    EXPECT_EQ(minor_of("0.005", kBhd), 5);
    EXPECT_EQ(minor_of("1.234", kBhd), 1234);
    EXPECT_EQ(minor_of("1", kBhd), 1000);
    EXPECT_EQ(minor_of("0.0001", kClf), 1);
}

TEST(MoneyParse, AcceptsExactlyTheMaximum) {
    EXPECT_EQ(minor_of("100000000000", kUsdC), kMaxMinorUnits);  // 10^11 dollars = 10^13 cents
    EXPECT_EQ(minor_of("100000000000.00", kUsdC), kMaxMinorUnits);
    EXPECT_EQ(minor_of("1e11", kUsdC), kMaxMinorUnits);
    EXPECT_EQ(minor_of("-1e11", kUsdC), -kMaxMinorUnits);
    EXPECT_EQ(minor_of("10000000000000", kJpy), kMaxMinorUnits);
    EXPECT_EQ(minor_of("10000000000", kBhd), kMaxMinorUnits);
}

TEST(MoneyParse, RejectsMoreThanTheMaximum) {
    EXPECT_EQ(rejection("100000000000.01", kUsdC), "must be at most 100000000000.00 in absolute value");
    EXPECT_EQ(rejection("-100000000000.01", kUsdC), "must be at most 100000000000.00 in absolute value");
    EXPECT_EQ(rejection("1.00000000001e11", kUsdC), "must be at most 100000000000.00 in absolute value");
    EXPECT_EQ(rejection("10000000000001", kJpy), "must be at most 10000000000000 in absolute value");
    EXPECT_EQ(rejection("10000000000.001", kBhd), "must be at most 10000000000.000 in absolute value");
    EXPECT_EQ(rejection("92233720368547758.08", kUsdC), "must be at most 100000000000.00 in absolute value");
    EXPECT_EQ(rejection("1" + std::string(400, '0'), kUsdC), "must be at most 100000000000.00 in absolute value");
}

TEST(MoneyParse, RejectsHugeExponentsWithoutHangingOrOverflowing) {
    EXPECT_FALSE(parse_minor_units("1e999999999", kUsdC, "amount").ok());
    EXPECT_FALSE(parse_minor_units("-1e999999999", kUsdC, "amount").ok());
    EXPECT_FALSE(parse_minor_units("1e-999999999", kUsdC, "amount").ok());
    EXPECT_FALSE(parse_minor_units("1e18446744073709551617", kUsdC, "amount").ok());  // 2^64 + 1 wraps to 1
    EXPECT_FALSE(parse_minor_units("1e-18446744073709551614", kUsdC, "amount").ok());
    EXPECT_FALSE(parse_minor_units("1e9223372036854775807", kJpy, "amount").ok());
    EXPECT_EQ(minor_of("0e99999999999999999999999999", kUsdC), 0);
    EXPECT_EQ(minor_of("1000e-0000000000000000000000000003", kUsdC), 100);
}

TEST(MoneyParse, RejectsTextThatIsNotAJsonNumber) {
    const std::vector<std::string> kGarbage = {
        "",        "abc", "1..2", "NaN", "-NaN",     "Infinity", "0x10", "+1",  "01",  "-01", "00", "00.5",
        ".5",      "5.",  "-",    "1e",  "1e+",      "e2",       "1f",   "1,5", "1 ", " 1", "\t1", "1_000",
        "1'000",   "--1", "+-1",  "1e2.5", "1.2.3", "null", "\"12\"", "\xef\xbc\x91",  // U+FF11 FULLWIDTH ONE
        std::string("12\0", 3),
    };
    for (const std::string& text : kGarbage) EXPECT_EQ(rejection(text, kUsdC), "must be a number") << text;
}

TEST(MoneyParse, AcceptsASignCallersDecidePositivity) {
    EXPECT_EQ(minor_of("-0.05", kUsdC), -5);
    EXPECT_EQ(minor_of("-1e3", kJpy), -1000);
}

// Property: every in-range amount, written in any of several equivalent spellings, parses back to
// itself; one more non-zero decimal is always refused.
TEST(MoneyParse, PropertyEquivalentSpellingsParseToTheSameMinorUnits) {
    std::mt19937_64 rng(4217);
    const std::span<const Currency> all = all_currencies();
    std::uniform_int_distribution<std::size_t> pick_currency(0, all.size() - 1);
    std::uniform_int_distribution<std::int64_t> any_minor(-kMaxMinorUnits, kMaxMinorUnits);
    std::uniform_int_distribution<std::int64_t> small_minor(-10'000, 10'000);
    std::uniform_int_distribution<int> extra_zeros(0, 6);
    std::uniform_int_distribution<int> last_digit(1, 9);
    for (int i = 0; i < 20'000; ++i) {
        const Currency c = all[pick_currency(rng)];
        const std::int64_t minor = i % 3 == 0 ? small_minor(rng) : any_minor(rng);
        const std::string canonical = format_minor_units(minor, c);

        // The integer count of minor units with a negative exponent, padded with zeros: "1250e-2",
        // "125000e-4".
        const int zeros = extra_zeros(rng);
        const std::string scaled = std::to_string(minor) + std::string(static_cast<std::size_t>(zeros), '0') + "e-" +
                                   std::to_string(c.exponent + zeros);
        // The canonical text with trailing zeros and an explicit "E+0".
        std::string padded = canonical;
        if (c.exponent == 0) padded += '.';
        padded += std::string(static_cast<std::size_t>(zeros) + 1, '0') + "E+0";

        for (const std::string& text : {canonical, scaled, padded}) {
            Result<std::int64_t> parsed = parse_minor_units(text, c, "amount");
            ASSERT_TRUE(parsed.ok()) << text << " " << c.code;
            ASSERT_EQ(*parsed, minor) << text << " " << c.code;
        }

        std::string too_precise = canonical;
        if (c.exponent == 0) too_precise += '.';
        too_precise += static_cast<char>('0' + last_digit(rng));
        Result<std::int64_t> refused = parse_minor_units(too_precise, c, "amount");
        ASSERT_FALSE(refused.ok()) << too_precise << " " << c.code;
    }
}

// ---------------------------------------------------------------------------------------------
// format_minor_units and Money::to_string

TEST(MoneyFormat, WritesExactlyTheCurrencyDecimals) {
    EXPECT_EQ(format_minor_units(1250, kUsdC), "12.50");
    EXPECT_EQ(format_minor_units(5, kUsdC), "0.05");
    EXPECT_EQ(format_minor_units(0, kUsdC), "0.00");
    EXPECT_EQ(format_minor_units(100000, kUsdC), "1000.00");
    EXPECT_EQ(format_minor_units(kMaxMinorUnits, kUsdC), "100000000000.00");
}

TEST(MoneyFormat, WritesNegativeValues) {
    EXPECT_EQ(format_minor_units(-5, kUsdC), "-0.05");
    EXPECT_EQ(format_minor_units(-1250, kUsdC), "-12.50");
    EXPECT_EQ(format_minor_units(-1000, kJpy), "-1000");
    EXPECT_EQ(format_minor_units(-1, kBhd), "-0.001");
    EXPECT_EQ(format_minor_units(kInt64Min, kUsdC), "-92233720368547758.08");
    EXPECT_EQ(format_minor_units(kInt64Max, kUsdC), "92233720368547758.07");
}

TEST(MoneyFormat, WritesZeroAndThreeDecimalCurrencies) {
    EXPECT_EQ(format_minor_units(1000, kJpy), "1000");
    EXPECT_EQ(format_minor_units(0, kJpy), "0");
    EXPECT_EQ(format_minor_units(1234, kBhd), "1.234");
    EXPECT_EQ(format_minor_units(5, kBhd), "0.005");
    EXPECT_EQ(format_minor_units(0, kBhd), "0.000");
    EXPECT_EQ(format_minor_units(1, kClf), "0.0001");
}

TEST(MoneyFormat, MoneyToStringMatchesFormatMinorUnits) {
    EXPECT_EQ(Money(1250, kUsdC).to_string(), "12.50");
    EXPECT_EQ(Money(-5, kUsdC).to_string(), "-0.05");
    EXPECT_EQ(Money(1000, kJpy).to_string(), "1000");
    EXPECT_EQ(Money(1000, kBhd).to_string(), "1.000");
}

TEST(MoneyFormat, RoundTripsThroughParse) {
    for (const Currency& c : all_currencies()) {
        for (std::int64_t minor : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{9},
                                   std::int64_t{1050}, std::int64_t{-123456789}, kMaxMinorUnits, -kMaxMinorUnits}) {
            const std::string text = format_minor_units(minor, c);
            ASSERT_EQ(text.find_first_of("eE,"), std::string::npos) << text;
            Result<std::int64_t> back = parse_minor_units(text, c, "amount");
            ASSERT_TRUE(back.ok()) << text << " " << c.code;
            ASSERT_EQ(*back, minor) << text << " " << c.code;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Money value type

TEST(MoneyValue, AddsSubtractsAndComparesWithinACurrency) {
    const Money a(1999, kUsdC);
    const Money b(1, kUsdC);
    EXPECT_EQ((a + b).minor(), 2000);
    EXPECT_EQ((a - b).minor(), 1998);
    EXPECT_EQ((b - a).minor(), -1998);
    EXPECT_EQ((-a).minor(), -1999);
    EXPECT_EQ((a + b).currency(), kUsdC);
    EXPECT_TRUE(a > b);
    EXPECT_TRUE(b < a);
    EXPECT_TRUE(a >= a);
    EXPECT_TRUE(a == Money(1999, kUsdC));
    EXPECT_TRUE(a != b);
    EXPECT_TRUE(Money::zero(kJpy).is_zero());
    EXPECT_TRUE((b - a).is_negative());
    Money total = Money::zero(kUsdC);
    total += a;
    total += a;
    total -= b;
    EXPECT_EQ(total, Money(3997, kUsdC));
}

TEST(MoneyValue, MixingCurrenciesIsABug) {
    const Money usd(100, kUsdC);
    const Money eur(100, kEur);
    EXPECT_THROW((void)(usd + eur), std::logic_error);
    EXPECT_THROW((void)(usd - eur), std::logic_error);
    EXPECT_THROW((void)(usd < eur), std::logic_error);
    EXPECT_THROW((void)(usd == eur), std::logic_error);
    Money m = usd;
    EXPECT_THROW(m += eur, std::logic_error);
    EXPECT_EQ(m, usd);  // unchanged by the refused operation
}

TEST(MoneyValue, ThrowsInsteadOfOverflowing) {
    EXPECT_THROW((void)(Money(kInt64Max, kUsdC) + Money(1, kUsdC)), std::overflow_error);
    EXPECT_THROW((void)(Money(kInt64Min, kUsdC) - Money(1, kUsdC)), std::overflow_error);
    EXPECT_THROW((void)(-Money(kInt64Min, kUsdC)), std::overflow_error);
    EXPECT_EQ((Money(kInt64Max, kUsdC) + Money(kInt64Min, kUsdC)).minor(), -1);
}

// ---------------------------------------------------------------------------------------------
// line_amount / percent_of: worked examples

Decimal dec(std::string_view text) { return Decimal::parse(text, "test").value(); }

TEST(LineAmount, WorkedExamples) {
    // 3 × 19.99 = 59.97; × 0.9 = 53.973 → 53.97
    EXPECT_EQ(line_amount(dec("3"), 1999, dec("10")), 5397);
    // 0.3333 × 1.00 = 0.3333 → 0.33
    EXPECT_EQ(line_amount(dec("0.3333"), 100, dec("0")), 33);
    // 2 × 49.50 = 99.00, no discount
    EXPECT_EQ(line_amount(dec("2"), 4950, dec("0")), 9900);
    // 1 × 100.00 × (1 − 0.333333) = 66.6667 → 66.67
    EXPECT_EQ(line_amount(dec("1"), 10000, dec("33.3333")), 6667);
    // 1.5 × 0.01 = 0.015 → 0.02 (tie, away from zero)
    EXPECT_EQ(line_amount(dec("1.5"), 1, dec("0")), 2);
    // 2.5 × 0.01 = 0.025 → 0.03, not banker's 0.02
    EXPECT_EQ(line_amount(dec("2.5"), 1, dec("0")), 3);
    // 12.75 hours × 80.00 with 12.5 % off = 1020.00 × 0.875 = 892.50
    EXPECT_EQ(line_amount(dec("12.75"), 8000, dec("12.5")), 89250);
    // JPY: 3 × ¥333 with 5 % off = 949.05 → ¥949
    EXPECT_EQ(line_amount(dec("3"), 333, dec("5")), 949);
}

TEST(LineAmount, RoundsOnceAtTheEnd) {
    // 0.5 × 0.03 = 0.015, × 0.9 = 0.0135 → 0.01. Rounding the product first (0.02 × 0.9 = 0.018)
    // would give 0.02.
    EXPECT_EQ(line_amount(dec("0.5"), 3, dec("10")), 1);
    // 0.0001 × 0.01 → 0.000001 → 0 and 0.5 × 0.01 × 0.99 = 0.00495 → 0: no intermediate 0.01.
    EXPECT_EQ(line_amount(dec("0.0001"), 1, dec("0")), 0);
    EXPECT_EQ(line_amount(dec("0.5"), 1, dec("1")), 0);
}

TEST(LineAmount, HandlesFullDiscountZeroPriceAndCredits) {
    EXPECT_EQ(line_amount(dec("7"), 1999, dec("100")), 0);
    EXPECT_EQ(line_amount(dec("7"), 0, dec("10")), 0);
    // A negative price (a credit line) rounds half away from zero too: −0.015 → −0.02.
    EXPECT_EQ(line_amount(dec("1.5"), -1, dec("0")), -2);
    EXPECT_EQ(line_amount(dec("3"), -1999, dec("10")), -5397);
}

TEST(LineAmount, ThrowsInsteadOfOverflowing) {
    // Largest validated inputs: quantity 10^9 and price 10^13 minor multiply to 10^22 minor.
    EXPECT_EQ(try_line_amount(dec("1000000000"), kMaxMinorUnits, dec("0")), std::nullopt);
    EXPECT_THROW((void)line_amount(dec("1000000000"), kMaxMinorUnits, dec("0")), std::overflow_error);
    // Beyond 128 bits in the intermediate product.
    EXPECT_THROW((void)line_amount(Decimal::from_units(kInt64Max), kInt64Max, Decimal::from_units(kInt64Min)),
                 std::overflow_error);
    EXPECT_THROW((void)line_amount(Decimal::from_units(kInt64Min), kInt64Max, Decimal::from_units(kInt64Min)),
                 std::overflow_error);
    // Just in range: 922337203685477.5807 × 1 minor unit × 1 → 922337203685478 (0.5807 rounds up).
    EXPECT_EQ(line_amount(Decimal::from_units(kInt64Max), 1, dec("0")), 922337203685478);
    EXPECT_EQ(line_amount(dec("1"), kInt64Max, dec("0")), kInt64Max);
    EXPECT_EQ(line_amount(dec("1"), kInt64Min, dec("0")), kInt64Min);
}

TEST(PercentOf, WorkedExamples) {
    // 8.25 % of 53.97 = 4.452525 → 4.45
    EXPECT_EQ(percent_of(5397, dec("8.25")), 445);
    // 10 % of 0.05 = 0.005 → 0.01 (tie, away from zero); of −0.05 → −0.01
    EXPECT_EQ(percent_of(5, dec("10")), 1);
    EXPECT_EQ(percent_of(-5, dec("10")), -1);
    // 10 % of 0.25 = 0.025 → 0.03, not banker's 0.02
    EXPECT_EQ(percent_of(25, dec("10")), 3);
    EXPECT_EQ(percent_of(5397, dec("0")), 0);
    EXPECT_EQ(percent_of(5397, dec("100")), 5397);
    // 19.6 % of 999.99 = 195.99804 → 196.00
    EXPECT_EQ(percent_of(99999, dec("19.6")), 19600);
    // 0.0001 % of 100000000000.00 = 100000.00
    EXPECT_EQ(percent_of(kMaxMinorUnits, dec("0.0001")), 10'000'000);
    // 7.125 % of 14.00 = 0.9975 → 1.00
    EXPECT_EQ(percent_of(1400, dec("7.125")), 100);
}

TEST(PercentOf, ThrowsInsteadOfOverflowing) {
    EXPECT_EQ(percent_of(kInt64Max, dec("100")), kInt64Max);
    EXPECT_EQ(percent_of(kInt64Min, dec("100")), kInt64Min);
    EXPECT_THROW((void)percent_of(kInt64Max, dec("100.0001")), std::overflow_error);
    EXPECT_EQ(try_percent_of(kInt64Max, dec("200")), std::nullopt);
    EXPECT_THROW((void)percent_of(kInt64Min, Decimal::from_units(kInt64Min)), std::overflow_error);
}

// ---------------------------------------------------------------------------------------------
// line_amount / percent_of: property tests against an exact rational oracle

// An exact rational read from a plain decimal string ("-2.5" → −25/10), with its own parsing.
struct Rational {
    cpp_int numerator;
    cpp_int denominator;
};

Rational rational_from_text(const std::string& text) {
    const bool negative = !text.empty() && text[0] == '-';
    const std::string body = negative ? text.substr(1) : text;
    const std::size_t dot = body.find('.');
    const std::string digits = dot == std::string::npos ? body : body.substr(0, dot) + body.substr(dot + 1);
    const std::size_t decimals = dot == std::string::npos ? 0 : body.size() - dot - 1;
    // Digit by digit: cpp_int's string constructor would read "04643" as octal.
    Rational r{cpp_int(0), cpp_int(1)};
    for (char ch : digits) r.numerator = r.numerator * 10 + (ch - '0');
    for (std::size_t i = 0; i < decimals; ++i) r.denominator *= 10;
    if (negative) r.numerator = -r.numerator;
    return r;
}

// round(n / d), ties away from zero, by the schoolbook rule: floor(|n|/d + 1/2) with the sign put back.
std::optional<std::int64_t> oracle_round(const cpp_int& n, const cpp_int& d) {
    const cpp_int magnitude = n < 0 ? cpp_int(-n) : n;
    const cpp_int rounded = (2 * magnitude + d) / (2 * d);
    const cpp_int result = n < 0 ? cpp_int(-rounded) : rounded;
    if (result > kInt64Max || result < kInt64Min) return std::nullopt;
    return result.convert_to<std::int64_t>();
}

bool oracle_is_tie(const cpp_int& n, const cpp_int& d) {
    const cpp_int magnitude = n < 0 ? cpp_int(-n) : n;
    return (2 * magnitude) % (2 * d) == d;
}

TEST(LineAmount, PropertyMatchesExactRationalArithmetic) {
    std::mt19937_64 rng(0xf1a5'b111);
    std::uniform_int_distribution<int> pick(0, 4);
    std::uniform_int_distribution<std::int64_t> quantity(1, 10'000 * Decimal::kOne);
    std::uniform_int_distribution<std::int64_t> half_quantity(1, 2'000);  // × 0.5: ties with odd prices
    std::uniform_int_distribution<std::int64_t> price(-1'000'000'000, 1'000'000'000);
    std::uniform_int_distribution<std::int64_t> small_price(-99, 99);
    std::uniform_int_distribution<std::int64_t> discount(0, 100 * Decimal::kOne);
    std::uniform_int_distribution<std::int64_t> round_discount(0, 100);

    int ties = 0;
    constexpr int kCases = 100'000;
    for (int i = 0; i < kCases; ++i) {
        Decimal q;
        std::int64_t p = 0;
        Decimal d;
        switch (pick(rng)) {
            case 0:  // anything in the validated ranges
                q = Decimal::from_units(quantity(rng));
                p = price(rng);
                d = Decimal::from_units(discount(rng));
                break;
            case 1:  // half quantities, small prices, whole discounts: many exact halves
                q = Decimal::from_units(half_quantity(rng) * (Decimal::kOne / 2));
                p = small_price(rng);
                d = Decimal::from_integer(round_discount(rng));
                break;
            case 2:  // no discount
                q = Decimal::from_units(quantity(rng));
                p = small_price(rng);
                d = Decimal();
                break;
            case 3:  // forced ties: (k + 0.5) × an odd number of minor units
                q = Decimal::from_units((2 * half_quantity(rng) + 1) * (Decimal::kOne / 2));
                p = 2 * small_price(rng) + 1;
                d = Decimal();
                break;
            default:  // extremes of the validated ranges
                q = Decimal::from_units(i % 2 == 0 ? Decimal::kMaxUnits / 1'000'000 : 1);
                p = i % 4 < 2 ? kMaxMinorUnits : -kMaxMinorUnits;
                d = Decimal::from_units(discount(rng));
                break;
        }
        const Rational qr = rational_from_text(q.to_string());
        const Rational dr = rational_from_text(d.to_string());
        // q × p × (1 − d/100) = (qn × p × (100·dd − dn)) / (qd × 100·dd)
        const cpp_int n = qr.numerator * p * (100 * dr.denominator - dr.numerator);
        const cpp_int den = qr.denominator * 100 * dr.denominator;
        const std::optional<std::int64_t> expected = oracle_round(n, den);
        ASSERT_EQ(try_line_amount(q, p, d), expected)
            << q.to_string() << " × " << p << " minor, " << d.to_string() << "% off";
        if (oracle_is_tie(n, den)) ++ties;
    }
    EXPECT_GT(ties, kCases / 10) << "the generators must produce exact halves, or the tie rule goes untested";
}

TEST(PercentOf, PropertyMatchesExactRationalArithmetic) {
    std::mt19937_64 rng(0x7a8);
    std::uniform_int_distribution<int> pick(0, 3);
    std::uniform_int_distribution<std::int64_t> amount(-kMaxMinorUnits, kMaxMinorUnits);
    std::uniform_int_distribution<std::int64_t> small_amount(-999, 999);
    std::uniform_int_distribution<std::int64_t> rate(0, 100 * Decimal::kOne);
    std::uniform_int_distribution<std::int64_t> round_rate(0, 100);
    std::uniform_int_distribution<std::int64_t> any(kInt64Min, kInt64Max);

    int ties = 0;
    constexpr int kCases = 100'000;
    for (int i = 0; i < kCases; ++i) {
        std::int64_t a = 0;
        Decimal r;
        switch (pick(rng)) {
            case 0:
                a = amount(rng);
                r = Decimal::from_units(rate(rng));
                break;
            case 1:  // small amounts and whole rates: many exact halves
                a = small_amount(rng);
                r = Decimal::from_integer(round_rate(rng));
                break;
            case 2:  // forced ties: 10 % of an amount ending in 5
                a = 10 * small_amount(rng) + (i % 2 == 0 ? 5 : -5);
                r = Decimal::from_integer(10);
                break;
            default:  // anything at all, including results that overflow int64
                a = any(rng);
                r = Decimal::from_units(any(rng) % (1'000 * Decimal::kOne));
                break;
        }
        const Rational rr = rational_from_text(r.to_string());
        const cpp_int n = cpp_int(a) * rr.numerator;
        const cpp_int den = 100 * rr.denominator;
        ASSERT_EQ(try_percent_of(a, r), oracle_round(n, den)) << r.to_string() << "% of " << a;
        if (oracle_is_tie(n, den)) ++ties;
    }
    EXPECT_GT(ties, kCases / 10) << "the generators must produce exact halves, or the tie rule goes untested";
}

}  // namespace
}  // namespace flashbill
