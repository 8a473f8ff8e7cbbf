#pragma once
// Money as an integer count of ISO 4217 minor units (DESIGN.md, "Data rules"), its exact parsing
// from JSON number text and formatting back, and the line-amount primitives of API.md §4 that the
// totals engine composes. No floating point anywhere.

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/decimal.hpp"
#include "core/error.hpp"

namespace flashbill {

// An ISO 4217 currency and its number of minor-unit decimals. `code` must outlive the value:
// take currencies from find_currency (static storage), not from a temporary string.
struct Currency {
    std::string_view code;
    int exponent;

    friend bool operator==(const Currency&, const Currency&) = default;
};

inline constexpr Currency kUsd{"USD", 2};  // the default org currency (API.md §1)

// The active ISO 4217 currency with this code (case-sensitive, uppercase), nullopt otherwise.
std::optional<Currency> find_currency(std::string_view code);

// Every currency find_currency knows, sorted by code (for validation messages and the OpenAPI enum).
std::span<const Currency> all_currencies();

// Largest accepted magnitude of an input amount, in minor units (API.md §1).
inline constexpr std::int64_t kMaxMinorUnits = 10'000'000'000'000;

// An amount in one currency. Values of different currencies never mix: doing so is a bug upstream,
// so arithmetic and comparison between them throw std::logic_error rather than answer wrongly.
// int64 overflow in + and - throws std::overflow_error. No range limit: sums may exceed kMaxMinorUnits.
class Money {
public:
    Money(std::int64_t minor, Currency c) : minor_(minor), currency_(c) {}

    static Money zero(Currency c) { return Money(0, c); }

    std::int64_t minor() const { return minor_; }
    Currency currency() const { return currency_; }
    bool is_zero() const { return minor_ == 0; }
    bool is_negative() const { return minor_ < 0; }

    // Exactly `exponent` decimals: "12.50", "-0.05", "1000" (JPY). Plain JSON number text.
    std::string to_string() const;

    Money operator-() const;
    Money& operator+=(const Money& other);
    Money& operator-=(const Money& other);
    friend Money operator+(Money a, const Money& b) { return a += b; }
    friend Money operator-(Money a, const Money& b) { return a -= b; }

    friend bool operator==(const Money& a, const Money& b);
    friend std::strong_ordering operator<=>(const Money& a, const Money& b);

private:
    void require_same_currency(const Money& other, const char* operation) const;

    std::int64_t minor_;
    Currency currency_;
};

// Parses a JSON number's exact source text ("10", "10.000", "1e2", "12.5", "-0.0") into minor
// units of `c`. Validation errors on `field`: not a JSON number; more significant decimals than
// the currency allows ("10.005" USD; "10.000" is fine); |value| > kMaxMinorUnits minor units.
// The sign is allowed: callers decide whether the amount must be positive.
Result<std::int64_t> parse_minor_units(std::string_view number_text, Currency c, std::string_view field);

// Same text as Money::to_string.
std::string format_minor_units(std::int64_t minor, Currency c);

// A line's amount in minor units, API.md §4:
// round(quantity × unit_price_minor × (1 − discount_percent/100)), rounded once, at the end,
// half away from zero. Throws std::overflow_error if the result does not fit int64 (callers
// validate ranges first, so that is a bug guard).
std::int64_t line_amount(Decimal quantity, std::int64_t unit_price_minor, Decimal discount_percent);

// round(amount_minor × rate_percent/100), half away from zero: a line's tax (API.md §4).
// Throws std::overflow_error if the result does not fit int64.
std::int64_t percent_of(std::int64_t amount_minor, Decimal rate_percent);

// The same computations with nullopt instead of an exception when the result does not fit int64.
// Separately valid inputs can still combine beyond range (quantity 10^9 × price 10^13 minor), so
// the totals engine uses these and reports such a line as a validation error, not a 500.
std::optional<std::int64_t> try_line_amount(Decimal quantity, std::int64_t unit_price_minor, Decimal discount_percent);
std::optional<std::int64_t> try_percent_of(std::int64_t amount_minor, Decimal rate_percent);

}  // namespace flashbill
