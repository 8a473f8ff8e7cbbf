#include <libpq-fe.h>

#include <charconv>
#include <stdexcept>

#include "db/params.hpp"

namespace flashbill::db {

namespace {
const PGresult* pg(const std::shared_ptr<void>& r) { return static_cast<const PGresult*>(r.get()); }
}  // namespace

Rows::Rows(std::shared_ptr<void> result) : result_(std::move(result)) {}

int Rows::size() const { return result_ ? PQntuples(pg(result_)) : 0; }
int Rows::columns() const { return result_ ? PQnfields(pg(result_)) : 0; }

std::int64_t Rows::affected() const {
    if (!result_) return 0;
    const char* s = PQcmdTuples(const_cast<PGresult*>(pg(result_)));
    std::int64_t n = 0;
    std::from_chars(s, s + std::char_traits<char>::length(s), n);
    return n;
}

int Rows::column(std::string_view name) const {
    int n = columns();
    for (int i = 0; i < n; ++i) {
        if (name == PQfname(pg(result_), i)) return i;
    }
    throw std::out_of_range("no column named " + std::string(name));
}

bool Rows::is_null(int row, int col) const { return PQgetisnull(pg(result_), row, col) != 0; }

std::string_view Rows::text(int row, int col) const {
    return {PQgetvalue(pg(result_), row, col), static_cast<std::size_t>(PQgetlength(pg(result_), row, col))};
}

std::optional<std::string> Rows::opt_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(text(row, col));
}

std::int64_t Rows::int64(int row, int col) const {
    auto t = text(row, col);
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (ec != std::errc() || p != t.data() + t.size()) {
        throw std::runtime_error("column " + std::to_string(col) + " is not an integer: " + std::string(t));
    }
    return n;
}

bool Rows::boolean(int row, int col) const {
    auto t = text(row, col);
    return !t.empty() && t[0] == 't';
}

}  // namespace flashbill::db
