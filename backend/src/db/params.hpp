#pragma once
// Query parameters and result rows in PostgreSQL text format. No libpq types leak from here, so
// repositories in domain/ can use them (DESIGN.md: libpq only in db/*.cpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace flashbill::db {

// Positional parameters ($1, $2, ...); nullopt is SQL NULL.
class Params {
public:
    Params() = default;
    template <class... A>
    explicit Params(A&&... args) {
        values_.reserve(sizeof...(A));
        (add(std::forward<A>(args)), ...);
    }

    Params& add(std::nullopt_t) {
        values_.emplace_back(std::nullopt);
        return *this;
    }
    Params& add(std::string_view s) {
        values_.emplace_back(std::string(s));
        return *this;
    }
    Params& add(const std::string& s) { return add(std::string_view(s)); }
    Params& add(std::string&& s) {
        values_.emplace_back(std::move(s));
        return *this;
    }
    Params& add(const char* s) { return add(std::string_view(s)); }
    Params& add(bool b) {
        values_.emplace_back(b ? "t" : "f");
        return *this;
    }
    Params& add(std::int64_t n) {
        values_.emplace_back(std::to_string(n));
        return *this;
    }
    Params& add(int n) { return add(static_cast<std::int64_t>(n)); }
    template <class T>
    Params& add(const std::optional<T>& v) {
        if (v) return add(*v);
        return add(std::nullopt);
    }

    std::size_t size() const { return values_.size(); }
    const std::vector<std::optional<std::string>>& values() const { return values_; }

private:
    std::vector<std::optional<std::string>> values_;
};

// The rows of one statement's result (shared, cheap to copy).
class Rows {
public:
    Rows() = default;
    explicit Rows(std::shared_ptr<void> result);

    int size() const;
    int columns() const;
    bool empty() const { return size() == 0; }
    // Rows affected by INSERT/UPDATE/DELETE.
    std::int64_t affected() const;
    // Index of a named column; throws std::out_of_range for an unknown name (a bug in the caller).
    int column(std::string_view name) const;

    bool is_null(int row, int col) const;
    std::string_view text(int row, int col) const;
    std::optional<std::string> opt_text(int row, int col) const;
    std::int64_t int64(int row, int col) const;
    bool boolean(int row, int col) const;

private:
    std::shared_ptr<void> result_;  // PGresult*
};

struct Statement {
    std::string_view sql;  // must outlive the call; cached per connection as a prepared statement
    Params params;
};

}  // namespace flashbill::db
