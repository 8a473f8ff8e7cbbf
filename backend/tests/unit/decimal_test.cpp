// Decimal, the shared exact number-text parser and formatter, and the half-away-from-zero rounding
// rule. Every check is integer arithmetic; no floating point anywhere.

#include "core/decimal.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace flashbill {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

std::int64_t parse_units(std::string_view text) {
    Result<Decimal> parsed = Decimal::parse(text, "quantity");
    EXPECT_TRUE(parsed.ok()) << "expected '" << text << "' to parse";
    return parsed.ok() ? parsed->units() : 0;
}

// The message a rejected text produced, after checking it is a validation error on the field.
std::string int128_text(Int128 v) {
    if (v == 0) return "0";
    const bool negative = v < 0;
    std::string digits;
    while (v != 0) {
        const auto digit = static_cast<int>(v % 10);
        digits.insert(digits.begin(), static_cast<char>('0' + (digit < 0 ? -digit : digit)));
        v /= 10;
    }
    return negative ? "-" + digits : digits;
}

std::string rejection(std::string_view text) {
    Result<Decimal> parsed = Decimal::parse(text, "items[0].quantity");
    EXPECT_FALSE(parsed.ok()) << "expected '" << text << "' to be rejected";
    if (parsed.ok()) return {};
    EXPECT_EQ(parsed.error().code, ErrorCode::kValidation);
    EXPECT_EQ(parsed.error().details.size(), 1U);
    if (parsed.error().details.size() != 1) return {};
    EXPECT_EQ(parsed.error().details[0].field, "items[0].quantity");
    return parsed.error().details[0].message;
}

// ---------------------------------------------------------------------------------------------
// Decimal::parse

TEST(DecimalParse, AcceptsPlainDecimals) {
    EXPECT_EQ(parse_units("8.25"), 82'500);
    EXPECT_EQ(parse_units("0.0001"), 1);
    EXPECT_EQ(parse_units("1"), 10'000);
    EXPECT_EQ(parse_units("0"), 0);
    EXPECT_EQ(parse_units("100"), 1'000'000);
    EXPECT_EQ(parse_units("-2.5"), -25'000);
    EXPECT_EQ(parse_units("0.3333"), 3'333);
}

TEST(DecimalParse, JudgesTheValueNotTheSpelling) {
    EXPECT_EQ(parse_units("1e-2"), 100);
    EXPECT_EQ(parse_units("1E-2"), 100);
    EXPECT_EQ(parse_units("825e-2"), 82'500);
    EXPECT_EQ(parse_units("0.825E+1"), 82'500);
    EXPECT_EQ(parse_units("1.5e3"), 15'000'000);
    EXPECT_EQ(parse_units("1e-4"), 1);
    EXPECT_EQ(parse_units("100000e-9"), 1);  // trailing zeros in the mantissa cancel the exponent
    EXPECT_EQ(parse_units("0.00000000000000000001e20"), 10'000);
}

TEST(DecimalParse, AcceptsTrailingZerosBeyondFourPlaces) {
    EXPECT_EQ(parse_units("1.00000"), 10'000);
    EXPECT_EQ(parse_units("8.250000000000000000000000"), 82'500);
    EXPECT_EQ(parse_units("0.00010"), 1);
}

TEST(DecimalParse, RejectsAFifthSignificantDecimal) {
    EXPECT_EQ(rejection("1.00001"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("0.00005"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("1e-5"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("-8.25001"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("0.333333333333333333333333"), "must have at most 4 decimal places");
}

TEST(DecimalParse, TreatsNegativeZeroAsZero) {
    EXPECT_EQ(parse_units("-0"), 0);
    EXPECT_EQ(parse_units("-0.0"), 0);
    EXPECT_EQ(parse_units("-0e5"), 0);
    EXPECT_EQ(Decimal::parse("-0.0", "q")->to_string(), "0");
}

TEST(DecimalParse, AcceptsMagnitudesUpToOneBillion) {
    EXPECT_EQ(parse_units("1000000000"), Decimal::kMaxUnits);
    EXPECT_EQ(parse_units("-1000000000"), -Decimal::kMaxUnits);
    EXPECT_EQ(parse_units("1e9"), Decimal::kMaxUnits);
    EXPECT_EQ(parse_units("999999999.9999"), Decimal::kMaxUnits - 1);
}

TEST(DecimalParse, RejectsMagnitudesAboveOneBillion) {
    const std::string kMessage = "must be between -1000000000 and 1000000000";
    EXPECT_EQ(rejection("1000000000.0001"), kMessage);
    EXPECT_EQ(rejection("-1000000000.0001"), kMessage);
    EXPECT_EQ(rejection("1e10"), kMessage);
    EXPECT_EQ(rejection("99999999999999999999999999999"), kMessage);
}

TEST(DecimalParse, RejectsTextThatIsNotAJsonNumber) {
    const std::vector<std::string> kGarbage = {
        "",     "-",    "+1",  "01",   "-01", "00",  ".5",   "5.",    "1.e2", "1e",  "1e+",      "1e-",
        "--1",  "1-",   "NaN", "nan",  "Inf", "Infinity", "-Infinity", "0x10", "1,5", " 1",  "1 ",
        "1 .5", "abc",  "1a",  "1..2", "1.2.3", "e5", "1e5e5", "1E", "\xd9\xa1",  // U+0661 ARABIC-INDIC DIGIT ONE
        std::string("1\0", 2),
    };
    for (const std::string& text : kGarbage) EXPECT_EQ(rejection(text), "must be a decimal number") << text;
}

TEST(DecimalParse, RejectsHugeExponentsWithoutHangingOrOverflowing) {
    EXPECT_EQ(rejection("1e999999999"), "must be between -1000000000 and 1000000000");
    EXPECT_EQ(rejection("1e99999999999999999999999999999999"), "must be between -1000000000 and 1000000000");
    EXPECT_EQ(rejection("1e-999999999"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("1e-99999999999999999999999999999999"), "must have at most 4 decimal places");
    EXPECT_EQ(rejection("-1e+9223372036854775808"), "must be between -1000000000 and 1000000000");
    EXPECT_EQ(parse_units("0e999999999999999999999"), 0);
    EXPECT_EQ(parse_units("1e0000000000000000000000000003"), 10'000'000);  // leading zeros in the exponent
}

TEST(DecimalParse, UsesTheGivenFieldName) {
    Result<Decimal> parsed = Decimal::parse("x", "tax_rate");
    ASSERT_FALSE(parsed.ok());
    ASSERT_EQ(parsed.error().details.size(), 1U);
    EXPECT_EQ(parsed.error().details[0].field, "tax_rate");
}

// ---------------------------------------------------------------------------------------------
// Decimal::to_string and value semantics

TEST(DecimalFormat, WritesTheShortestExactForm) {
    EXPECT_EQ(Decimal::from_units(82'500).to_string(), "8.25");
    EXPECT_EQ(Decimal::from_units(10'000).to_string(), "1");
    EXPECT_EQ(Decimal::from_units(1).to_string(), "0.0001");
    EXPECT_EQ(Decimal::from_units(-25'000).to_string(), "-2.5");
    EXPECT_EQ(Decimal::from_units(-1).to_string(), "-0.0001");
    EXPECT_EQ(Decimal::from_units(0).to_string(), "0");
    EXPECT_EQ(Decimal().to_string(), "0");
    EXPECT_EQ(Decimal::from_units(1'000'000).to_string(), "100");
    EXPECT_EQ(Decimal::from_units(1'000'500).to_string(), "100.05");
    EXPECT_EQ(Decimal::from_integer(7).to_string(), "7");
}

TEST(DecimalFormat, HandlesTheInt64Extremes) {
    EXPECT_EQ(Decimal::from_units(kInt64Max).to_string(), "922337203685477.5807");
    EXPECT_EQ(Decimal::from_units(kInt64Min).to_string(), "-922337203685477.5808");
}

TEST(DecimalFormat, RoundTripsEveryValueInRange) {
    std::mt19937_64 rng(20261124);
    std::uniform_int_distribution<std::int64_t> any_units(-Decimal::kMaxUnits, Decimal::kMaxUnits);
    std::uniform_int_distribution<std::int64_t> small_units(-100'000, 100'000);
    for (int i = 0; i < 20'000; ++i) {
        const std::int64_t units = i % 2 == 0 ? any_units(rng) : small_units(rng);
        const std::string text = Decimal::from_units(units).to_string();
        Result<Decimal> back = Decimal::parse(text, "q");
        ASSERT_TRUE(back.ok()) << text;
        ASSERT_EQ(back->units(), units) << text;
        // Shortest form: never a trailing zero after the point, never a bare point.
        if (text.find('.') != std::string::npos) {
            ASSERT_NE(text.back(), '0') << text;
        }
        ASSERT_NE(text.back(), '.') << text;
    }
}

TEST(DecimalValue, ComparesByValue) {
    EXPECT_EQ(Decimal::parse("8.25", "q").value(), Decimal::parse("825e-2", "q").value());
    EXPECT_LT(Decimal::from_units(-1), Decimal());
    EXPECT_GT(Decimal::from_integer(100), Decimal::from_units(999'999));
    EXPECT_LE(Decimal::from_integer(1), Decimal::from_units(Decimal::kOne));
    EXPECT_NE(Decimal::from_units(1), Decimal::from_units(2));
    static_assert(Decimal::from_integer(3) == Decimal::from_units(30'000));
    static_assert(Decimal().units() == 0);
}

// ---------------------------------------------------------------------------------------------
// parse_scaled / format_scaled at scales other than Decimal's

TEST(ScaledNumber, ParsesAtScaleZeroAndEighteen) {
    EXPECT_EQ(parse_scaled("12", 0, kInt64Max).units, 12);
    EXPECT_EQ(parse_scaled("12.0", 0, kInt64Max).units, 12);
    EXPECT_EQ(parse_scaled("1.2", 0, kInt64Max).error, ScaledParseError::kTooManyDecimals);
    EXPECT_EQ(parse_scaled("9.223372036854775807", 18, kInt64Max).units, kInt64Max);
    EXPECT_EQ(parse_scaled("9.223372036854775808", 18, kInt64Max).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("-9.223372036854775807", 18, kInt64Max).units, -kInt64Max);
    EXPECT_EQ(parse_scaled("0.000000000000000001", 18, kInt64Max).units, 1);
}

TEST(ScaledNumber, ParsesTheWholeInt64Range) {
    EXPECT_EQ(parse_scaled("9223372036854775807", 0, kInt64Max).units, kInt64Max);
    EXPECT_EQ(parse_scaled("9223372036854775808", 0, kInt64Max).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("18446744073709551615", 0, kInt64Max).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("99999999999999999999", 0, kInt64Max).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("1e19", 0, kInt64Max).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("1e18", 0, kInt64Max).units, 1'000'000'000'000'000'000);
}

TEST(ScaledNumber, EnforcesTheGivenLimitInclusively) {
    EXPECT_TRUE(parse_scaled("5", 0, 5).ok());
    EXPECT_TRUE(parse_scaled("-5", 0, 5).ok());
    EXPECT_EQ(parse_scaled("6", 0, 5).error, ScaledParseError::kOutOfRange);
    EXPECT_EQ(parse_scaled("-6", 0, 5).error, ScaledParseError::kOutOfRange);
    EXPECT_TRUE(parse_scaled("0", 0, 0).ok());
}

TEST(ScaledNumber, RejectsScalesOutsideInt64) {
    EXPECT_THROW((void)parse_scaled("1", 19, kInt64Max), std::invalid_argument);
    EXPECT_THROW((void)parse_scaled("1", -1, kInt64Max), std::invalid_argument);
    EXPECT_THROW((void)format_scaled(1, 19, false), std::invalid_argument);
}

TEST(ScaledNumber, FormatsWithOrWithoutTrailingZeros) {
    EXPECT_EQ(format_scaled(1250, 2, false), "12.50");
    EXPECT_EQ(format_scaled(1250, 2, true), "12.5");
    EXPECT_EQ(format_scaled(-5, 2, false), "-0.05");
    EXPECT_EQ(format_scaled(0, 3, false), "0.000");
    EXPECT_EQ(format_scaled(0, 3, true), "0");
    EXPECT_EQ(format_scaled(1000, 0, false), "1000");
    EXPECT_EQ(format_scaled(-1000, 0, true), "-1000");
    EXPECT_EQ(format_scaled(kInt64Min, 18, false), "-9.223372036854775808");
    EXPECT_EQ(format_scaled(1, 18, false), "0.000000000000000001");
}

// ---------------------------------------------------------------------------------------------
// div_round_half_up

TEST(Rounding, RoundsExactHalvesAwayFromZero) {
    EXPECT_EQ(div_round_half_up(5, 2), 3);    // 2.5
    EXPECT_EQ(div_round_half_up(-5, 2), -3);  // -2.5
    EXPECT_EQ(div_round_half_up(3, 2), 2);    // 1.5
    EXPECT_EQ(div_round_half_up(-3, 2), -2);  // -1.5
    EXPECT_EQ(div_round_half_up(1, 2), 1);    // 0.5
    EXPECT_EQ(div_round_half_up(-1, 2), -1);  // -0.5
    EXPECT_EQ(div_round_half_up(4'452'525, 10'000), 445);  // 445.2525
    EXPECT_EQ(div_round_half_up(125, 10), 13);  // 12.5: not banker's 12
    EXPECT_EQ(div_round_half_up(-125, 10), -13);
}

TEST(Rounding, RoundsToNearestOffTheHalf) {
    EXPECT_EQ(div_round_half_up(0, 7), 0);
    EXPECT_EQ(div_round_half_up(1, 3), 0);
    EXPECT_EQ(div_round_half_up(2, 3), 1);
    EXPECT_EQ(div_round_half_up(-1, 3), 0);
    EXPECT_EQ(div_round_half_up(-2, 3), -1);
    EXPECT_EQ(div_round_half_up(49, 100), 0);
    EXPECT_EQ(div_round_half_up(51, 100), 1);
    EXPECT_EQ(div_round_half_up(-49, 100), 0);
    EXPECT_EQ(div_round_half_up(-51, 100), -1);
    EXPECT_EQ(div_round_half_up(42, 1), 42);
    EXPECT_EQ(div_round_half_up(-42, 1), -42);
}

TEST(Rounding, HandlesTheInt128Extremes) {
    const Int128 max128 = ((Int128{1} << 126) - 1) + (Int128{1} << 126);  // 2^127 − 1 without overflow
    const Int128 min128 = -max128 - 1;
    EXPECT_EQ(div_round_half_up(max128, max128), 1);
    EXPECT_EQ(div_round_half_up(min128, max128), -1);
    EXPECT_EQ(div_round_half_up(max128 - 1, max128), 1);   // just under 1
    EXPECT_EQ(div_round_half_up(max128 / 2, max128), 0);   // just under one half
    EXPECT_EQ(div_round_half_up(max128 / 2 + 1, max128), 1);  // exactly one half plus 1/(2·max)
    EXPECT_EQ(div_round_half_up(min128, Int128{1} << 65), -(std::int64_t{1} << 62));
}

TEST(Rounding, RejectsNonPositiveDenominators) {
    EXPECT_THROW((void)div_round_half_up(1, 0), std::invalid_argument);
    EXPECT_THROW((void)div_round_half_up(1, -2), std::invalid_argument);
    EXPECT_THROW((void)try_div_round_half_up(1, 0), std::invalid_argument);
}

TEST(Rounding, ThrowsWhenTheResultLeavesInt64) {
    EXPECT_EQ(div_round_half_up(Int128{kInt64Max}, 1), kInt64Max);
    EXPECT_EQ(div_round_half_up(Int128{kInt64Min}, 1), kInt64Min);
    EXPECT_THROW((void)div_round_half_up(Int128{kInt64Max} + 1, 1), std::overflow_error);
    EXPECT_THROW((void)div_round_half_up(Int128{kInt64Min} - 1, 1), std::overflow_error);
    // Rounding itself can carry the result out of range: (2·max + 1) / 2 = max + 0.5 → max + 1.
    EXPECT_THROW((void)div_round_half_up(Int128{kInt64Max} * 2 + 1, 2), std::overflow_error);
    EXPECT_EQ(try_div_round_half_up(Int128{kInt64Max} * 2 + 1, 2), std::nullopt);
    EXPECT_EQ(try_div_round_half_up(Int128{kInt64Max} * 2 - 1, 2), kInt64Max);  // max − 0.5 → max
}

// Property: r = div_round_half_up(n, d) is a nearest integer to n/d, i.e. 2·|n − r·d| ≤ d, and on
// an exact tie (2·|n − r·d| = d) r·d lies further from zero than n. All exact in 128 bits: the
// generators keep |n| and |r·d| below 2^126.
TEST(Rounding, PropertyNearestWithTiesAwayFromZero) {
    std::mt19937_64 rng(0x5eed'f1a5'b111);
    std::uniform_int_distribution<int> pick(0, 3);
    std::uniform_int_distribution<std::int64_t> small(-1'000, 1'000);
    std::uniform_int_distribution<std::int64_t> big(-(std::int64_t{1} << 61), std::int64_t{1} << 61);
    std::uniform_int_distribution<std::int64_t> denominator_small(1, 20);
    std::uniform_int_distribution<std::int64_t> denominator_big(1, std::int64_t{1} << 61);

    int ties = 0;
    int negative_ties = 0;
    constexpr int kCases = 100'000;
    for (int i = 0; i < kCases; ++i) {
        Int128 n = 0;
        Int128 d = 0;
        switch (pick(rng)) {
            case 0:  // small values: dense in exact halves
                d = denominator_small(rng);
                n = small(rng);
                break;
            case 1:  // forced ties: n = k·d ± d/2 with d even
                d = Int128{2} * denominator_small(rng);
                n = Int128{small(rng)} * d + (small(rng) < 0 ? -d / 2 : d / 2);
                break;
            case 2:  // large numerator and denominator, quotient anywhere in ±2^61
                d = denominator_big(rng);
                n = Int128{big(rng)} * d + big(rng) % d;
                break;
            default:  // large forced ties
                d = Int128{2} * denominator_big(rng);
                n = Int128{big(rng)} * d + (big(rng) < 0 ? -d / 2 : d / 2);
                break;
        }
        const std::int64_t r = div_round_half_up(n, d);
        const Int128 error = n - Int128{r} * d;
        const Int128 twice_abs_error = 2 * (error < 0 ? -error : error);
        ASSERT_LE(twice_abs_error, d) << "not nearest: n=" << int128_text(n) << " d=" << int128_text(d) << " r=" << r;
        if (twice_abs_error == d) {
            ++ties;
            const Int128 rd = Int128{r} * d;
            if (n > 0) {
                ASSERT_GT(rd, n) << "positive tie toward zero: n=" << int128_text(n) << " d=" << int128_text(d);
            } else {
                ++negative_ties;
                ASSERT_LT(rd, n) << "negative tie toward zero: n=" << int128_text(n) << " d=" << int128_text(d);
            }
        }
    }
    // The generators must actually exercise ties of both signs, or the tie rule goes untested.
    EXPECT_GT(ties, kCases / 10);
    EXPECT_GT(negative_ties, kCases / 40);
}

}  // namespace
}  // namespace flashbill
