#pragma once
// Exact decimal arithmetic without floating point: a fixed-scale Decimal for quantities and
// percentage rates, the exact JSON-number-text parser that money and decimals share, and the one
// rounding rule of the totals engine (API.md §4). Every amount is an integer; nothing here ever
// passes through a double, so 0.1 + 0.2 is 0.3 and 10.005 is refused rather than misread.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flashbill {

// 128-bit intermediates: quantity (10^13 units) × price (10^13 minor) alone needs 87 bits.
// __extension__ keeps -Wpedantic quiet about the GCC/Clang built-in type.
__extension__ using Int128 = __int128;

// Why parse_scaled refused a text; callers turn it into a message naming their field.
enum class ScaledParseError {
    kNone,
    kSyntax,           // not a JSON number (RFC 8259 grammar: no '+', no leading zeros, no NaN)
    kTooManyDecimals,  // non-zero digits below 10^-scale
    kOutOfRange,       // |value| > max_abs_units / 10^scale
};

struct ScaledParse {
    std::int64_t units = 0;
    ScaledParseError error = ScaledParseError::kNone;

    bool ok() const { return error == ScaledParseError::kNone; }
};

// Converts the exact text of a JSON number into an integer count of 10^-scale units, judging the
// value and not the spelling: with scale 2, "10.000", "1e1" and "1000e-2" are all 1000 units,
// "10.005" is kTooManyDecimals. Runs in time linear in the text whatever its exponent, so
// "1e999999999" is refused at once. -0 is 0. scale must be in [0, 18].
ScaledParse parse_scaled(std::string_view text, int scale, std::int64_t max_abs_units);

// Writes units / 10^scale in plain positional notation ("-0.05", "1000"). With
// trim_trailing_zeros the fraction is cut to its shortest exact form ("8.25", "1"); without it
// exactly `scale` decimals are written, as money on the wire needs. scale must be in [0, 18].
std::string format_scaled(std::int64_t units, int scale, bool trim_trailing_zeros);

// round(numerator / denominator) with ties away from zero — what API.md calls "half-up"
// (commercial rounding): 2.5 -> 3, -2.5 -> -3. denominator must be > 0 (std::invalid_argument
// otherwise); a result outside int64 throws std::overflow_error, as it can only come from a bug
// upstream that let an unvalidated value through.
std::int64_t div_round_half_up(Int128 numerator, Int128 denominator);
// As div_round_half_up, but a result outside int64 is nullopt instead of an exception, for callers
// that can report it as a validation error.
std::optional<std::int64_t> try_div_round_half_up(Int128 numerator, Int128 denominator);

// An exact decimal with 4 fixed places (quantities and percentage rates): value = units / 10^4.
class Decimal {
public:
    static constexpr int kScale = 4;
    static constexpr std::int64_t kOne = 10'000;
    // Largest accepted magnitude of a parsed value, 10^9, in units (API values are far smaller;
    // the bound keeps every product in the totals engine within 128 bits).
    static constexpr std::int64_t kMaxUnits = 1'000'000'000 * kOne;

    constexpr Decimal() = default;

    // No range check: for constants and values already validated (e.g. read from the database).
    static constexpr Decimal from_units(std::int64_t units) { return Decimal(units); }
    static constexpr Decimal from_integer(std::int64_t value) { return Decimal(value * kOne); }

    constexpr std::int64_t units() const { return units_; }

    // Parses a JSON number's text or a plain decimal string in the same grammar ("8.25", "1e-2",
    // "0.0001"). A fifth significant decimal ("1.00001") or a magnitude above 10^9 is a
    // validation error on `field`; trailing zeros are fine ("1.00000").
    static Result<Decimal> parse(std::string_view text, std::string_view field);

    // Shortest exact form: "8.25", "1", "0.0001", "-2.5".
    std::string to_string() const;

    friend constexpr auto operator<=>(Decimal, Decimal) = default;

private:
    constexpr explicit Decimal(std::int64_t units) : units_(units) {}

    std::int64_t units_ = 0;
};

}  // namespace flashbill
