// Errors: every ErrorCode's wire name and HTTP status (API.md §1), the Error factories, Result,
// and http::error_body — the one JSON error shape every non-2xx answer carries.

#include "core/error.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <ctime>
#include <regex>
#include <set>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "http/context.hpp"

namespace flashbill {
namespace {

struct CodeCase {
    ErrorCode code;
    std::string_view name;
    int status;
};

// API.md §1, "Errors".
constexpr CodeCase kApiCodes[] = {
    {ErrorCode::kValidation, "VALIDATION_ERROR", 400},
    {ErrorCode::kBadRequest, "BAD_REQUEST", 400},
    {ErrorCode::kUnauthorized, "UNAUTHORIZED", 401},
    {ErrorCode::kInvalidCredentials, "INVALID_CREDENTIALS", 401},
    {ErrorCode::kForbidden, "FORBIDDEN", 403},
    {ErrorCode::kNotFound, "NOT_FOUND", 404},
    {ErrorCode::kMethodNotAllowed, "METHOD_NOT_ALLOWED", 405},
    {ErrorCode::kConflict, "CONFLICT", 409},
    {ErrorCode::kPayloadTooLarge, "PAYLOAD_TOO_LARGE", 413},
    {ErrorCode::kUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", 415},
    {ErrorCode::kRateLimited, "RATE_LIMITED", 429},
    {ErrorCode::kInternal, "INTERNAL_ERROR", 500},
    {ErrorCode::kUnavailable, "UNAVAILABLE", 503},
};

TEST(ErrorCode, EachCodeMapsToItsApiNameAndStatus) {
    for (const auto& c : kApiCodes) {
        EXPECT_EQ(error_code_name(c.code), c.name);
        EXPECT_EQ(error_http_status(c.code), c.status) << c.name;
    }
}

TEST(ErrorCode, TableCoversEveryEnumeratorWithDistinctNames) {
    // The enumerators are contiguous from kValidation to kUnavailable; a code added without a
    // mapping would fall through to the INTERNAL_ERROR/500 default and collide here.
    constexpr int kCount = static_cast<int>(ErrorCode::kUnavailable) + 1;
    ASSERT_EQ(std::size(kApiCodes), static_cast<std::size_t>(kCount));
    std::set<std::string_view> names;
    for (int i = 0; i < kCount; ++i) names.insert(error_code_name(static_cast<ErrorCode>(i)));
    EXPECT_EQ(names.size(), static_cast<std::size_t>(kCount));
}

TEST(ErrorFactories, SetCodeMessageAndDetails) {
    Error v = Error::validation("items[0].quantity", "must be greater than 0");
    EXPECT_EQ(v.code, ErrorCode::kValidation);
    ASSERT_EQ(v.details.size(), 1u);
    EXPECT_EQ(v.details[0].field, "items[0].quantity");
    EXPECT_EQ(v.details[0].message, "must be greater than 0");
    EXPECT_FALSE(v.message.empty());

    EXPECT_EQ(Error::bad_request("bad").code, ErrorCode::kBadRequest);
    EXPECT_EQ(Error::bad_request("bad").message, "bad");
    EXPECT_EQ(Error::not_found().code, ErrorCode::kNotFound);
    EXPECT_EQ(Error::conflict("state").code, ErrorCode::kConflict);
    EXPECT_EQ(Error::unavailable().code, ErrorCode::kUnavailable);
    EXPECT_EQ(Error::internal().code, ErrorCode::kInternal);
    EXPECT_TRUE(Error::conflict("state").details.empty());
    EXPECT_EQ(Error{}.code, ErrorCode::kInternal);  // an uninitialised error is never a success code
}

TEST(Result, HoldsAValueOrAnError) {
    Result<int> ok = 7;
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(static_cast<bool>(ok));
    EXPECT_EQ(*ok, 7);
    Result<int> bad = Error::not_found();
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);

    Result<void> done;
    EXPECT_TRUE(done.ok());
    Result<void> failed = Error::conflict("no");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().message, "no");
}

// --- http::error_body --------------------------------------------------------------------------

const std::regex kRfc3339Utc("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$");

json::Value parse_body(const std::string& body) {
    auto r = json::parse(body);
    if (!r.ok()) {
        ADD_FAILURE() << "error_body is not JSON: " << body;
        return json::Value();
    }
    return std::move(r).value();
}

const json::Value& member(const json::Value& o, std::string_view key) {
    static const json::Value kMissing;
    const json::Value* v = o.find(key);
    if (!v) {
        ADD_FAILURE() << "missing member " << key;
        return kMissing;
    }
    return *v;
}

TEST(ErrorBody, HasTheApiShape) {
    Error e = Error::validation("email", "must be an email address");
    e.details.push_back(FieldError{"items[0].quantity", "must be greater than 0"});
    json::Value doc = parse_body(http::error_body(e, "req-123"));

    ASSERT_TRUE(doc.is_object());
    ASSERT_EQ(doc.as_object().size(), 1u);
    const json::Value& err = member(doc, "error");
    ASSERT_TRUE(err.is_object());
    EXPECT_EQ(err.as_object().size(), 5u);
    EXPECT_EQ(member(err, "code").as_string(), "VALIDATION_ERROR");
    EXPECT_EQ(member(err, "message").as_string(), e.message);
    EXPECT_TRUE(member(err, "timestamp").is_string());
    EXPECT_EQ(member(err, "request_id").as_string(), "req-123");

    const json::Value& details = member(err, "details");
    ASSERT_TRUE(details.is_array());
    ASSERT_EQ(details.as_array().size(), 2u);
    const json::Value& d0 = details.as_array()[0];
    ASSERT_EQ(d0.as_object().size(), 2u);
    EXPECT_EQ(member(d0, "field").as_string(), "email");
    EXPECT_EQ(member(d0, "message").as_string(), "must be an email address");
    EXPECT_EQ(member(details.as_array()[1], "field").as_string(), "items[0].quantity");
}

TEST(ErrorBody, DetailsArePresentAndEmptyWhenThereAreNone) {
    json::Value doc = parse_body(http::error_body(Error::not_found(), "r"));
    const json::Value& err = member(doc, "error");
    EXPECT_EQ(member(err, "code").as_string(), "NOT_FOUND");
    const json::Value& details = member(err, "details");
    ASSERT_TRUE(details.is_array());
    EXPECT_TRUE(details.as_array().empty());
}

TEST(ErrorBody, EveryCodeUsesItsWireName) {
    for (const auto& c : kApiCodes) {
        Error e{c.code, "m", {}};
        json::Value doc = parse_body(http::error_body(e, "r"));
        EXPECT_EQ(member(member(doc, "error"), "code").as_string(), c.name);
    }
}

TEST(ErrorBody, EscapesMessagesAndRequestIds) {
    Error e = Error::bad_request("malformed JSON body: \"quote\" \\ back\nslash \x01 caf\xc3\xa9");
    e.details.push_back(FieldError{"a\"b", "line\nbreak"});
    std::string body = http::error_body(e, "id-\"x\"");
    json::Value doc = parse_body(body);
    const json::Value& err = member(doc, "error");
    EXPECT_EQ(member(err, "message").as_string(), e.message);
    EXPECT_EQ(member(err, "request_id").as_string(), "id-\"x\"");
    EXPECT_EQ(member(member(err, "details").as_array()[0], "field").as_string(), "a\"b");
    EXPECT_EQ(body.find('\n'), std::string::npos) << "raw newline in JSON output";
}

TEST(ErrorBody, NeverIncludesTheInternalCause) {
    Error e = Error::internal();
    e.cause = "23505:clients_email_key secret-internal-detail";
    std::string body = http::error_body(e, "r");
    EXPECT_EQ(body.find("secret-internal-detail"), std::string::npos) << body;
    EXPECT_EQ(body.find("23505"), std::string::npos) << body;
}

// Runs the test body in a local time zone far from UTC (POSIX TZ string: no tzdata needed), so a
// timestamp written in local time cannot pass for UTC; restores the previous zone afterwards.
class ScopedTimeZone {
public:
    explicit ScopedTimeZone(const char* tz) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        had_ = std::getenv("TZ") != nullptr;
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~ScopedTimeZone() {
        if (had_) {
            ::setenv("TZ", old_.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    ScopedTimeZone(const ScopedTimeZone&) = delete;
    ScopedTimeZone& operator=(const ScopedTimeZone&) = delete;

private:
    std::string old_;
    bool had_ = false;
};

TEST(ErrorBody, TimestampIsRfc3339UtcNow) {
    ScopedTimeZone zone("FBT-05:30");  // UTC+05:30
    std::time_t before = std::time(nullptr);
    json::Value doc = parse_body(http::error_body(Error::internal(), "r"));
    std::time_t after = std::time(nullptr);
    std::string ts = member(member(doc, "error"), "timestamp").as_string();
    ASSERT_TRUE(std::regex_match(ts, kRfc3339Utc)) << ts;

    std::tm tm{};
    ASSERT_NE(strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << ts;
    std::time_t parsed = timegm(&tm);  // read as UTC: a local-time stamp would be off by the zone offset
    EXPECT_GE(parsed, before) << ts;
    EXPECT_LE(parsed, after) << ts;
}

TEST(UtcTimestampNow, IsRfc3339UtcWithSecondPrecision) {
    std::string ts = http::utc_timestamp_now();
    EXPECT_TRUE(std::regex_match(ts, kRfc3339Utc)) << ts;
}

}  // namespace
}  // namespace flashbill
