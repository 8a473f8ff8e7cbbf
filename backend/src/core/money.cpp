#include "core/money.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace flashbill {

namespace {

// ISO 4217 List One: every active code that has a minor unit, with its exponent. Left out: the
// codes with no minor unit (precious metals XAU XAG XPD XPT, bond units XBA–XBD, XDR, XSU, XUA,
// the testing and "no currency" codes XTS XXX) and withdrawn codes (HRK, replaced by EUR in 2023).
// Kept during their changeover: ANG (→ XCG), SLL (→ SLE), ZWL (→ ZWG), CUC. Exponents are ISO's,
// which sometimes differ from what card processors use (ISK 0, HUF 2, IDR 2).
constexpr std::array kCurrencies = std::to_array<Currency>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2},
    {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2},
    {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2},
    {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
    {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2},
    {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2},
    {"SGD", 2}, {"SHP", 2}, {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
    {"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4},
    {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2}, {"ZWL", 2},
});

constexpr bool code_less(const Currency& a, const Currency& b) { return a.code < b.code; }
static_assert(std::is_sorted(kCurrencies.begin(), kCurrencies.end(), code_less), "find_currency binary-searches");
static_assert(std::adjacent_find(kCurrencies.begin(), kCurrencies.end(),
                                 [](const Currency& a, const Currency& b) { return a.code == b.code; }) ==
                  kCurrencies.end(),
              "duplicate currency code");

// A percentage Decimal's units for 100 %, i.e. 10^6: percent p with units u is the fraction u / 10^6.
constexpr std::int64_t kPercentUnitsPerOne = 100 * Decimal::kOne;

}  // namespace

std::optional<Currency> find_currency(std::string_view code) {
    const auto it = std::lower_bound(kCurrencies.begin(), kCurrencies.end(), Currency{code, 0}, code_less);
    if (it == kCurrencies.end() || it->code != code) return std::nullopt;
    return *it;
}

std::span<const Currency> all_currencies() { return kCurrencies; }

std::string format_minor_units(std::int64_t minor, Currency c) { return format_scaled(minor, c.exponent, false); }

Result<std::int64_t> parse_minor_units(std::string_view number_text, Currency c, std::string_view field) {
    const ScaledParse parsed = parse_scaled(number_text, c.exponent, kMaxMinorUnits);
    switch (parsed.error) {
        case ScaledParseError::kNone: return parsed.units;
        case ScaledParseError::kSyntax: return Error::validation(std::string(field), "must be a number");
        case ScaledParseError::kTooManyDecimals: {
            // Name the currency: the same text is fine in another one, so the reason must be visible.
            std::string msg = c.exponent == 0
                                  ? "must be a whole number in "
                                  : "must have at most " + std::to_string(c.exponent) + " decimal places in ";
            msg.append(c.code);
            return Error::validation(std::string(field), std::move(msg));
        }
        case ScaledParseError::kOutOfRange: {
            std::string msg = "must be at most " + format_minor_units(kMaxMinorUnits, c) + " in absolute value";
            return Error::validation(std::string(field), std::move(msg));
        }
    }
    throw std::logic_error("parse_minor_units: unhandled ScaledParseError");
}

std::string Money::to_string() const { return format_minor_units(minor_, currency_); }

void Money::require_same_currency(const Money& other, const char* operation) const {
    if (currency_ == other.currency_) return;
    std::string msg = "Money: ";
    msg += operation;
    msg += " mixes ";
    msg.append(currency_.code);
    msg += " and ";
    msg.append(other.currency_.code);
    throw std::logic_error(msg);
}

Money Money::operator-() const {
    std::int64_t result = 0;
    if (__builtin_sub_overflow(std::int64_t{0}, minor_, &result)) throw std::overflow_error("Money: negation overflow");
    return Money(result, currency_);
}

Money& Money::operator+=(const Money& other) {
    require_same_currency(other, "addition");
    if (__builtin_add_overflow(minor_, other.minor_, &minor_)) throw std::overflow_error("Money: addition overflow");
    return *this;
}

Money& Money::operator-=(const Money& other) {
    require_same_currency(other, "subtraction");
    if (__builtin_sub_overflow(minor_, other.minor_, &minor_)) throw std::overflow_error("Money: subtraction overflow");
    return *this;
}

bool operator==(const Money& a, const Money& b) {
    a.require_same_currency(b, "comparison");
    return a.minor_ == b.minor_;
}

std::strong_ordering operator<=>(const Money& a, const Money& b) {
    a.require_same_currency(b, "comparison");
    return a.minor_ <=> b.minor_;
}

std::optional<std::int64_t> try_line_amount(Decimal quantity, std::int64_t unit_price_minor,
                                            Decimal discount_percent) {
    // quantity = q / 10^4 and (1 − discount/100) = (10^6 − d) / 10^6 with q, d the units, so the
    // exact amount is q × price × (10^6 − d) / 10^10: one division, hence one rounding.
    const Int128 quantity_times_price = Int128{quantity.units()} * unit_price_minor;  // < 2^126: exact
    const Int128 kept_share = Int128{kPercentUnitsPerOne} - discount_percent.units();
    Int128 numerator = 0;
    // Overflowing 2^127 means |result| > 2^127 / 10^10, far beyond int64 anyway.
    if (__builtin_mul_overflow(quantity_times_price, kept_share, &numerator)) return std::nullopt;
    return try_div_round_half_up(numerator, Int128{Decimal::kOne} * kPercentUnitsPerOne);
}

std::int64_t line_amount(Decimal quantity, std::int64_t unit_price_minor, Decimal discount_percent) {
    const std::optional<std::int64_t> amount = try_line_amount(quantity, unit_price_minor, discount_percent);
    if (!amount) throw std::overflow_error("line_amount: result does not fit in int64");
    return *amount;
}

std::optional<std::int64_t> try_percent_of(std::int64_t amount_minor, Decimal rate_percent) {
    // amount × (r / 10^4) / 100 = amount × r / 10^6; two int64 factors cannot overflow 128 bits.
    return try_div_round_half_up(Int128{amount_minor} * rate_percent.units(), kPercentUnitsPerOne);
}

std::int64_t percent_of(std::int64_t amount_minor, Decimal rate_percent) {
    const std::optional<std::int64_t> amount = try_percent_of(amount_minor, rate_percent);
    if (!amount) throw std::overflow_error("percent_of: result does not fit in int64");
    return *amount;
}

}  // namespace flashbill
