#pragma once
// Reading a request body field by field with every problem collected (API.md §1: a well-formed
// body with wrong types, missing or out-of-range fields is VALIDATION_ERROR with every offending
// field in `details`, nested as `items[0].quantity`). Unknown fields are ignored.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/decimal.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/money.hpp"

namespace flashbill::domain {

// A calendar date as days since 1970-01-01 plus its canonical YYYY-MM-DD text.
struct Date {
    std::int32_t days = 0;
    std::string text() const;
    friend auto operator<=>(const Date&, const Date&) = default;
};
// Parses YYYY-MM-DD (a real calendar date, years 1900–9999).
std::optional<Date> parse_date(std::string_view s);
Date date_from_days(std::int32_t days);

// Three-state field for PUT merge semantics: absent (keep), null (clear), or a value.
template <typename T>
struct Patch {
    bool present = false;
    std::optional<T> value;  // nullopt with present = explicit null
    bool is_set() const { return present && value.has_value(); }
};

class Input {
public:
    // `prefix` names nested objects in field paths ("items[2]").
    explicit Input(const json::Value& object, std::string prefix = {});

    bool has(std::string_view key) const;  // present, null or not
    const json::Value* raw(std::string_view key) const;

    // Each reader: nullopt when absent/null (an error when `required`) or invalid (error recorded).
    std::optional<std::string> text(std::string_view key, bool required, std::size_t max_len,
                                     std::size_t min_len = 0);
    std::optional<std::string> email(std::string_view key, bool required);
    std::optional<bool> boolean(std::string_view key, bool required);
    std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min, std::int64_t max);
    // Money in minor units of `c` (exact text; API.md §1); positive = must be > 0, else ≥ 0.
    std::optional<std::int64_t> money(std::string_view key, Currency c, bool required, bool positive);
    // A decimal within [min, max] (inclusive), > min when `exclusive_min`.
    std::optional<Decimal> decimal(std::string_view key, bool required, Decimal min, Decimal max,
                                   bool exclusive_min = false);
    std::optional<Date> date(std::string_view key, bool required);
    std::optional<std::string> uuid(std::string_view key, bool required);
    std::optional<std::string> one_of(std::string_view key, bool required, const std::vector<std::string_view>& allowed);
    std::optional<Currency> currency(std::string_view key, bool required);
    // An object value (for nested readers); records an error when present with another type.
    const json::Value* object(std::string_view key, bool required);
    const json::Array* array(std::string_view key, bool required, std::size_t min_items, std::size_t max_items);

    // Patch variants: absent → {present=false}; null → {present, nullopt}; value → read as above.
    Patch<std::string> text_patch(std::string_view key, std::size_t max_len, std::size_t min_len = 0);

    void add_error(std::string_view key, std::string message);
    std::string path(std::string_view key) const;
    bool ok() const { return errors_->empty(); }
    // The collected VALIDATION_ERROR (call when !ok()).
    Error error() const;
    // Shares the error list with a nested reader for `key` (an object inside this one).
    Input nested(const json::Value& object, std::string path) const;

private:
    Input(const json::Value& object, std::string prefix, std::shared_ptr<std::vector<FieldError>> errors);
    const json::Value* present(std::string_view key, bool required);

    const json::Value& object_;
    std::string prefix_;
    std::shared_ptr<std::vector<FieldError>> errors_;
};

// An ILIKE pattern matching `s` anywhere, with LIKE's wildcards in `s` escaped (search filters).
std::string contains_pattern(std::string_view s);

// A VALIDATION_ERROR from a list of field errors.
Error validation_error(std::vector<FieldError> errors);

}  // namespace flashbill::domain
