#include "domain/common/input.hpp"

#include <cstdio>

#include "core/uuid.hpp"

namespace flashbill::domain {

namespace {

// Days from civil (Howard Hinnant's algorithm), proleptic Gregorian.
std::int32_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int32_t>(era * 146097 + static_cast<int>(doe) - 719468);
}

void civil_from_days(std::int32_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(yoe) + era * 400 + (m <= 2);
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::string kind_of(const json::Value& v) { return std::string(json::Value::kind_name(v.kind())); }

}  // namespace

std::string Date::text() const {
    int y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m % 100, d % 100);
    return buf;
}

Date date_from_days(std::int32_t days) { return Date{days}; }

std::optional<Date> parse_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    auto digits = [&](std::size_t from, std::size_t n, int& out) {
        out = 0;
        for (std::size_t i = from; i < from + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            out = out * 10 + (s[i] - '0');
        }
        return true;
    };
    int y, m, d;
    if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d)) return std::nullopt;
    if (y < 1900 || m < 1 || m > 12 || d < 1) return std::nullopt;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max_day = kDays[m - 1] + (m == 2 && leap(y) ? 1 : 0);
    if (d > max_day) return std::nullopt;
    return Date{days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d))};
}

std::string contains_pattern(std::string_view s) {
    std::string out = "%";
    for (char c : s) {
        if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('%');
    return out;
}

Error validation_error(std::vector<FieldError> errors) {
    Error e{ErrorCode::kValidation, "validation failed", {}};
    if (!errors.empty()) e.message = "validation failed: " + errors.front().field + " " + errors.front().message;
    e.details = std::move(errors);
    return e;
}

Input::Input(const json::Value& object, std::string prefix)
    : Input(object, std::move(prefix), std::make_shared<std::vector<FieldError>>()) {}

Input::Input(const json::Value& object, std::string prefix, std::shared_ptr<std::vector<FieldError>> errors)
    : object_(object), prefix_(std::move(prefix)), errors_(std::move(errors)) {}

Input Input::nested(const json::Value& object, std::string path) const { return Input(object, std::move(path), errors_); }

std::string Input::path(std::string_view key) const {
    if (prefix_.empty()) return std::string(key);
    return prefix_ + "." + std::string(key);
}

void Input::add_error(std::string_view key, std::string message) {
    errors_->push_back(FieldError{path(key), std::move(message)});
}

Error Input::error() const { return validation_error(*errors_); }

bool Input::has(std::string_view key) const { return object_.find(key) != nullptr; }

const json::Value* Input::raw(std::string_view key) const { return object_.find(key); }

const json::Value* Input::present(std::string_view key, bool required) {
    const json::Value* v = object_.find(key);
    if (!v || v->is_null()) {
        if (required) add_error(key, "is required");
        return nullptr;
    }
    return v;
}

std::optional<std::string> Input::text(std::string_view key, bool required, std::size_t max_len,
                                       std::size_t min_len) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
        add_error(key, "must be a string, not " + kind_of(*v));
        return std::nullopt;
    }
    // Trimmed: leading and trailing whitespace is never meaningful in these fields.
    std::string_view s = v->as_string();
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    // Length in code points (the JSON parser has validated UTF-8).
    std::size_t chars = 0;
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
    if (chars < std::max<std::size_t>(min_len, required ? 1 : 0)) {
        add_error(key, min_len > 1 ? "must be at least " + std::to_string(min_len) + " characters" : "must not be empty");
        return std::nullopt;
    }
    if (chars > max_len) {
        add_error(key, "must be at most " + std::to_string(max_len) + " characters");
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<std::string> Input::email(std::string_view key, bool required) {
    auto s = text(key, required, 254);
    if (!s) return std::nullopt;
    if (s->empty() && !required) return std::nullopt;
    auto at = s->find('@');
    bool ok = at != std::string::npos && at > 0 && at == s->rfind('@') && at + 1 < s->size() &&
              s->find('.', at + 2) != std::string::npos && s->back() != '.' &&
              s->find_first_of(" \t\r\n,;<>()[]\\\"") == std::string::npos;
    if (!ok) {
        add_error(key, "must be an email address");
        return std::nullopt;
    }
    return s;
}

std::optional<bool> Input::boolean(std::string_view key, bool required) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (!v->is_bool()) {
        add_error(key, "must be true or false, not " + kind_of(*v));
        return std::nullopt;
    }
    return v->as_bool();
}

std::optional<std::int64_t> Input::integer(std::string_view key, bool required, std::int64_t min, std::int64_t max) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    auto n = v->is_number() ? v->as_exact_int64() : std::nullopt;
    if (!n) {
        add_error(key, "must be an integer");
        return std::nullopt;
    }
    if (*n < min || *n > max) {
        add_error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return std::nullopt;
    }
    return n;
}

std::optional<std::int64_t> Input::money(std::string_view key, Currency c, bool required, bool positive) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
        add_error(key, "must be a number, not " + kind_of(*v));
        return std::nullopt;
    }
    auto r = parse_minor_units(v->number_text(), c, path(key));
    if (!r) {
        for (auto& d : r.error().details) errors_->push_back(d);
        if (r.error().details.empty()) add_error(key, r.error().message);
        return std::nullopt;
    }
    if (positive ? *r <= 0 : *r < 0) {
        add_error(key, positive ? "must be greater than 0" : "must not be negative");
        return std::nullopt;
    }
    return *r;
}

std::optional<Decimal> Input::decimal(std::string_view key, bool required, Decimal min, Decimal max,
                                      bool exclusive_min) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
        add_error(key, "must be a number, not " + kind_of(*v));
        return std::nullopt;
    }
    auto r = Decimal::parse(v->number_text(), path(key));
    if (!r) {
        for (auto& d : r.error().details) errors_->push_back(d);
        if (r.error().details.empty()) add_error(key, r.error().message);
        return std::nullopt;
    }
    if ((exclusive_min ? *r <= min : *r < min) || *r > max) {
        add_error(key, std::string("must be ") + (exclusive_min ? "greater than " : "at least ") + min.to_string() +
                           " and at most " + max.to_string());
        return std::nullopt;
    }
    return *r;
}

std::optional<Date> Input::date(std::string_view key, bool required) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    std::optional<Date> d = v->is_string() ? parse_date(v->as_string()) : std::nullopt;
    if (!d) add_error(key, "must be a date (YYYY-MM-DD)");
    return d;
}

std::optional<std::string> Input::uuid(std::string_view key, bool required) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (!v->is_string() || !is_uuid(v->as_string())) {
        add_error(key, "must be an id (UUID)");
        return std::nullopt;
    }
    std::string s = v->as_string();
    for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    return s;
}

std::optional<std::string> Input::one_of(std::string_view key, bool required,
                                         const std::vector<std::string_view>& allowed) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    if (v->is_string()) {
        for (auto a : allowed) {
            if (a == v->as_string()) return std::string(a);
        }
    }
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    add_error(key, "must be one of: " + list);
    return std::nullopt;
}

std::optional<Currency> Input::currency(std::string_view key, bool required) {
    const json::Value* v = present(key, required);
    if (!v) return std::nullopt;
    auto c = v->is_string() ? find_currency(v->as_string()) : std::nullopt;
    if (!c) add_error(key, "must be an ISO 4217 currency code such as USD");
    return c;
}

const json::Value* Input::object(std::string_view key, bool required) {
    const json::Value* v = present(key, required);
    if (!v) return nullptr;
    if (!v->is_object()) {
        add_error(key, "must be an object, not " + kind_of(*v));
        return nullptr;
    }
    return v;
}

const json::Array* Input::array(std::string_view key, bool required, std::size_t min_items, std::size_t max_items) {
    const json::Value* v = present(key, required);
    if (!v) return nullptr;
    if (!v->is_array()) {
        add_error(key, "must be an array, not " + kind_of(*v));
        return nullptr;
    }
    const auto& a = v->as_array();
    if (a.size() < min_items) {
        add_error(key, "must have at least " + std::to_string(min_items) + " item(s)");
        return nullptr;
    }
    if (a.size() > max_items) {
        add_error(key, "must have at most " + std::to_string(max_items) + " items");
        return nullptr;
    }
    return &a;
}

Patch<std::string> Input::text_patch(std::string_view key, std::size_t max_len, std::size_t min_len) {
    Patch<std::string> p;
    const json::Value* v = object_.find(key);
    if (!v) return p;
    p.present = true;
    if (v->is_null()) return p;
    p.value = text(key, false, max_len, min_len);
    if (!p.value) p.present = false;  // invalid: the error is recorded; nothing changes
    return p;
}

}  // namespace flashbill::domain
