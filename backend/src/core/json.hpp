#pragma once
// JSON for the API: a read-only document that keeps every number's exact source text (so money
// and decimals are parsed from the text, never through a double), and a streaming writer that
// emits numbers verbatim (so 12.50 stays 12.50 on the wire).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace flashbill::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;

struct Number {
    std::string text;  // exactly as written in the document, e.g. "1e2" or "10.000"
};

class Value {
public:
    enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

    Value() = default;
    explicit Value(bool b) : v_(b) {}
    explicit Value(Number n) : v_(std::move(n)) {}
    explicit Value(std::string s) : v_(std::move(s)) {}
    explicit Value(Array a) : v_(std::move(a)) {}
    explicit Value(Object o) : v_(std::move(o)) {}

    Kind kind() const { return static_cast<Kind>(v_.index()); }
    bool is_null() const { return kind() == Kind::kNull; }
    bool is_bool() const { return kind() == Kind::kBool; }
    bool is_number() const { return kind() == Kind::kNumber; }
    bool is_string() const { return kind() == Kind::kString; }
    bool is_array() const { return kind() == Kind::kArray; }
    bool is_object() const { return kind() == Kind::kObject; }

    bool as_bool() const { return std::get<bool>(v_); }
    std::string_view number_text() const { return std::get<Number>(v_).text; }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const Array& as_array() const { return std::get<Array>(v_); }
    const Object& as_object() const { return std::get<Object>(v_); }

    // The integer value when this is a number whose value is an exact integer with |value| <=
    // INT64_MAX ("3", "3.0" and "3e0" all qualify; INT64_MIN does not); nullopt otherwise.
    std::optional<std::int64_t> as_exact_int64() const;

    // Member lookup on an object (last duplicate wins, as most parsers do); nullptr when absent
    // or when this is not an object.
    const Value* find(std::string_view key) const;

    // Human name of the kind, for validation messages ("a string", "an object", ...).
    static std::string_view kind_name(Kind kind);

private:
    std::variant<std::monostate, bool, Number, std::string, Array, Object> v_;
};

struct ParseLimits {
    std::size_t max_depth = 32;
};

// Parses a complete UTF-8 document. Malformed JSON, invalid UTF-8, NaN/Infinity, trailing data or
// nesting deeper than max_depth yield BAD_REQUEST.
Result<Value> parse(std::string_view text, ParseLimits limits = {});

// Appends s as a JSON string literal (with quotes) to out.
void append_escaped(std::string& out, std::string_view s);

// Streaming writer producing compact JSON. Commas are placed automatically.
class Writer {
public:
    Writer() { out_.reserve(256); }

    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    Writer& key(std::string_view k);

    Writer& string(std::string_view s);
    Writer& number(std::int64_t n);
    Writer& number_text(std::string_view text);  // already-formatted decimal text, written verbatim
    Writer& boolean(bool b);
    Writer& null();
    Writer& raw(std::string_view json);  // a complete, already-serialised JSON value

    // Convenience: key + value.
    Writer& field(std::string_view k, std::string_view s) { return key(k).string(s); }
    Writer& field(std::string_view k, const char* s) { return key(k).string(s); }
    Writer& field(std::string_view k, std::int64_t n) { return key(k).number(n); }
    Writer& field(std::string_view k, int n) { return key(k).number(n); }
    Writer& field(std::string_view k, bool b) { return key(k).boolean(b); }
    Writer& field(std::string_view k, const std::string& s) { return key(k).string(s); }
    Writer& opt_field(std::string_view k, const std::optional<std::string>& s) {
        key(k);
        return s ? string(*s) : null();
    }

    const std::string& str() const& { return out_; }
    std::string str() && { return std::move(out_); }
    // Empties the writer, keeping its buffer (for writers reused on hot paths).
    void clear() {
        out_.clear();
        need_comma_ = false;
    }

private:
    void separate();
    std::string out_;
    bool need_comma_ = false;
};

// Serialises a parsed document (numbers verbatim) — round-trips parse().
void write(Writer& w, const Value& v);
std::string serialize(const Value& v);

}  // namespace flashbill::json
