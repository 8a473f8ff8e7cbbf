#pragma once
// Reports (API.md §9): the period rules, the per-org cache and the answers (JSON and CSV).
// Transport-free; routes map query strings and bodies onto these calls.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "domain/reports/model.hpp"

namespace flashbill::domain::reports {

// The requested period as given; `*_field` name the inputs in validation errors
// ("start_date", or "date_range.start_date" in an export body).
struct PeriodInput {
    std::optional<std::string> start_date;
    std::optional<std::string> end_date;
    std::string start_field = "start_date";
    std::string end_field = "end_date";
};

// The report as JSON, served from the org's cache when an answer for the same report, period
// and day is there (any write in the org invalidates it).
boost::asio::awaitable<Result<std::string>> report_json(std::string org_id, ReportType type, PeriodInput period);

struct CsvFile {
    std::string file_name;  // <type>-<start>-<end>.csv
    std::string body;
};

// The report's main list as CSV (RFC 4180), built from the same JSON answer, so the file and the
// JSON always agree.
boost::asio::awaitable<Result<CsvFile>> export_csv(std::string org_id, ReportType type, PeriodInput period);

// --- pure helpers, exposed for unit tests ---

// Resolves the period: a missing bound is the same bound of the current calendar year of
// `today` (YYYY-MM-DD); malformed dates or start after end are VALIDATION_ERROR.
Result<Period> resolve_period(const PeriodInput& in, std::string_view today);

// One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled). Text that a
// spreadsheet would run as a formula (leading =, +, -, @, tab, CR) is prefixed with a quote.
std::string csv_text(std::string_view s);

// The CSV of a report's main list from the report's JSON answer.
Result<std::string> csv_from_json(ReportType type, std::string_view json);

}  // namespace flashbill::domain::reports
