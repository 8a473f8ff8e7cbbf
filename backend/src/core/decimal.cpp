#include "core/decimal.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace flashbill {

namespace {

constexpr int kMaxScale = 18;  // 10^18 is the largest power of ten in int64

// Any exponent beyond this magnitude is already absurd for a text that fits in memory; clamping
// keeps the arithmetic on it in int64 while preserving which side of every limit it falls.
constexpr std::int64_t kExponentClamp = 1'000'000'000'000'000;

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

void check_scale(int scale) {
    if (scale < 0 || scale > kMaxScale) throw std::invalid_argument("decimal scale out of [0, 18]");
}

}  // namespace

ScaledParse parse_scaled(std::string_view text, int scale, std::int64_t max_abs_units) {
    check_scale(scale);
    const auto syntax = [] { return ScaledParse{0, ScaledParseError::kSyntax}; };

    // RFC 8259: number = [ "-" ] int [ frac ] [ exp ]; int = "0" / digit1-9 *DIGIT.
    std::size_t i = 0;
    const std::size_t n = text.size();
    bool negative = false;
    if (i < n && text[i] == '-') {
        negative = true;
        ++i;
    }
    if (i >= n || !is_digit(text[i])) return syntax();
    const std::size_t int_begin = i;
    if (text[i] == '0') {
        ++i;
    } else {
        while (i < n && is_digit(text[i])) ++i;
    }
    const std::size_t int_len = i - int_begin;

    std::size_t frac_begin = i;
    std::size_t frac_len = 0;
    if (i < n && text[i] == '.') {
        frac_begin = ++i;
        while (i < n && is_digit(text[i])) ++i;
        frac_len = i - frac_begin;
        if (frac_len == 0) return syntax();
    }

    std::int64_t exponent = 0;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool exponent_negative = false;
        if (i < n && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
        if (i >= n || !is_digit(text[i])) return syntax();
        while (i < n && is_digit(text[i])) {
            exponent = std::min(exponent * 10 + (text[i] - '0'), kExponentClamp);
            ++i;
        }
        if (exponent_negative) exponent = -exponent;
    }
    if (i != n) return syntax();

    // The mantissa's digits, integer part then fraction, as one sequence; only the run from the
    // first to the last non-zero digit is significant.
    const std::size_t total = int_len + frac_len;
    const auto digit_at = [&](std::size_t j) {
        return j < int_len ? text[int_begin + j] : text[frac_begin + (j - int_len)];
    };
    std::size_t first = 0;
    while (first < total && digit_at(first) == '0') ++first;
    if (first == total) return ScaledParse{};  // zero in any spelling, "-0.0e999" included
    std::size_t last = total - 1;
    while (digit_at(last) == '0') --last;

    // units = significand × 10^shift, where the significand is digits[first..last].
    const auto significant = static_cast<std::int64_t>(last - first + 1);
    const auto trailing_zeros = static_cast<std::int64_t>(total - 1 - last);
    const std::int64_t shift = trailing_zeros + exponent - static_cast<std::int64_t>(frac_len) + scale;
    if (shift < 0) return ScaledParse{0, ScaledParseError::kTooManyDecimals};
    // A result of 20+ digits exceeds every int64, so every limit; this also bounds the loops below.
    if (significant + shift > std::numeric_limits<std::int64_t>::digits10 + 1) {
        return ScaledParse{0, ScaledParseError::kOutOfRange};
    }

    // At most 19 digits: fits in uint64 (max ≈ 1.8·10^19).
    std::uint64_t magnitude = 0;
    for (std::size_t j = first; j <= last; ++j) magnitude = magnitude * 10 + static_cast<unsigned>(digit_at(j) - '0');
    for (std::int64_t k = 0; k < shift; ++k) magnitude *= 10;
    if (max_abs_units < 0 || magnitude > static_cast<std::uint64_t>(max_abs_units)) {
        return ScaledParse{0, ScaledParseError::kOutOfRange};
    }
    const auto units = static_cast<std::int64_t>(magnitude);
    return ScaledParse{negative ? -units : units, ScaledParseError::kNone};
}

std::string format_scaled(std::int64_t units, int scale, bool trim_trailing_zeros) {
    check_scale(scale);
    // Unsigned magnitude so that INT64_MIN formats instead of overflowing on negation.
    const std::uint64_t magnitude =
        units < 0 ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, magnitude);
    (void)ec;  // 24 chars always suffice for a uint64
    std::string digits(buf, end);
    const auto min_len = static_cast<std::size_t>(scale) + 1;
    if (digits.size() < min_len) digits.insert(0, min_len - digits.size(), '0');

    const std::size_t point = digits.size() - static_cast<std::size_t>(scale);
    std::string out;
    out.reserve(digits.size() + 2);
    if (units < 0) out.push_back('-');
    out.append(digits, 0, point);
    std::string_view fraction(digits.data() + point, static_cast<std::size_t>(scale));
    if (trim_trailing_zeros) {
        const std::size_t keep = fraction.find_last_not_of('0');
        fraction = keep == std::string_view::npos ? std::string_view() : fraction.substr(0, keep + 1);
    }
    if (!fraction.empty()) {
        out.push_back('.');
        out.append(fraction);
    }
    return out;
}

std::optional<std::int64_t> try_div_round_half_up(Int128 numerator, Int128 denominator) {
    if (denominator <= 0) throw std::invalid_argument("div_round_half_up: denominator must be positive");
    Int128 quotient = numerator / denominator;         // truncates toward zero
    const Int128 remainder = numerator % denominator;  // same sign as the numerator, |r| < d
    const Int128 abs_remainder = remainder < 0 ? -remainder : remainder;
    // |r| >= d - |r| is 2|r| >= d without the doubling that could overflow near 2^127.
    if (abs_remainder != 0 && abs_remainder >= denominator - abs_remainder) quotient += numerator < 0 ? -1 : 1;
    if (quotient > std::numeric_limits<std::int64_t>::max() || quotient < std::numeric_limits<std::int64_t>::min()) {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(quotient);
}

std::int64_t div_round_half_up(Int128 numerator, Int128 denominator) {
    const std::optional<std::int64_t> rounded = try_div_round_half_up(numerator, denominator);
    if (!rounded) throw std::overflow_error("div_round_half_up: result does not fit in int64");
    return *rounded;
}

Result<Decimal> Decimal::parse(std::string_view text, std::string_view field) {
    const ScaledParse parsed = parse_scaled(text, kScale, kMaxUnits);
    switch (parsed.error) {
        case ScaledParseError::kNone: return Decimal(parsed.units);
        case ScaledParseError::kSyntax: return Error::validation(std::string(field), "must be a decimal number");
        case ScaledParseError::kTooManyDecimals:
            return Error::validation(std::string(field), "must have at most 4 decimal places");
        case ScaledParseError::kOutOfRange:
            return Error::validation(std::string(field), "must be between -1000000000 and 1000000000");
    }
    throw std::logic_error("Decimal::parse: unhandled ScaledParseError");
}

std::string Decimal::to_string() const { return format_scaled(units_, kScale, true); }

}  // namespace flashbill
