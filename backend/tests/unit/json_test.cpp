// JSON: the parser that keeps each number's exact text and refuses what API.md §1 calls an
// unparseable body (BAD_REQUEST), member lookup, the streaming Writer and the serialize round trip.

#include "core/json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashbill {
namespace {

json::Value parse_ok(std::string_view text) {
    auto r = json::parse(text);
    if (!r.ok()) {
        ADD_FAILURE() << "expected to parse: " << text << " — " << r.error().message;
        return json::Value();
    }
    return std::move(r).value();
}

// Asserts text is refused as BAD_REQUEST (HTTP 400, never VALIDATION_ERROR or a crash).
void expect_bad_request(std::string_view text, json::ParseLimits limits = {}) {
    auto r = json::parse(text, limits);
    ASSERT_FALSE(r.ok()) << "expected a parse failure for: " << text;
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << text;
    EXPECT_FALSE(r.error().message.empty()) << text;
    EXPECT_TRUE(r.error().details.empty()) << text;
}

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nested_objects(int depth) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "{\"a\":";
    s += "1";
    for (int i = 0; i < depth; ++i) s += "}";
    return s;
}

// --- parse -------------------------------------------------------------------------------------

TEST(JsonParse, ParsesScalars) {
    EXPECT_TRUE(parse_ok("null").is_null());
    ASSERT_TRUE(parse_ok("true").is_bool());
    EXPECT_TRUE(parse_ok("true").as_bool());
    EXPECT_FALSE(parse_ok("false").as_bool());
    ASSERT_TRUE(parse_ok("\"hi\"").is_string());
    EXPECT_EQ(parse_ok("\"hi\"").as_string(), "hi");
    ASSERT_TRUE(parse_ok("42").is_number());
    EXPECT_EQ(parse_ok("42").number_text(), "42");
}

TEST(JsonParse, AcceptsSurroundingWhitespace) {
    auto v = parse_ok(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ");
    ASSERT_TRUE(v.is_object());
    ASSERT_NE(v.find("a"), nullptr);
    EXPECT_EQ(v.find("a")->as_array().size(), 2u);
}

TEST(JsonParse, KeepsExactNumberText) {
    for (std::string_view text :
         {"10.000", "1e2", "1E+2", "12.50", "-0", "0.10", "-1.5e-3", "0", "123456789012345678901234567890",
          "9223372036854775808", "1e400", "0.000000000000000000000000000001"}) {
        auto v = parse_ok(text);
        ASSERT_TRUE(v.is_number()) << text;
        EXPECT_EQ(v.number_text(), text);
    }
}

TEST(JsonParse, KeepsExactNumberTextInsideContainers) {
    auto v = parse_ok(R"({"amount":12.50,"rates":[8.250,1e-2,100],"nested":{"q":0.0001}})");
    EXPECT_EQ(v.find("amount")->number_text(), "12.50");
    const auto& rates = v.find("rates")->as_array();
    ASSERT_EQ(rates.size(), 3u);
    EXPECT_EQ(rates[0].number_text(), "8.250");
    EXPECT_EQ(rates[1].number_text(), "1e-2");
    EXPECT_EQ(rates[2].number_text(), "100");
    EXPECT_EQ(v.find("nested")->find("q")->number_text(), "0.0001");
}

TEST(JsonParse, BuildsNestedStructureInDocumentOrder) {
    auto v = parse_ok(R"({"b":[true,null,{"c":"x"}],"a":{}})");
    const auto& o = v.as_object();
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o[0].first, "b");
    EXPECT_EQ(o[1].first, "a");
    const auto& arr = o[0].second.as_array();
    ASSERT_EQ(arr.size(), 3u);
    EXPECT_TRUE(arr[0].as_bool());
    EXPECT_TRUE(arr[1].is_null());
    EXPECT_EQ(arr[2].find("c")->as_string(), "x");
    EXPECT_TRUE(o[1].second.is_object());
    EXPECT_TRUE(o[1].second.as_object().empty());
}

TEST(JsonParse, DecodesStringEscapes) {
    auto v = parse_ok(R"(["a\"b", "c\\d", "\/", "\b\f\n\r\t", "\u0041\u00e9\u20ac", "\ud83d\ude00", "\u0000"])");
    const auto& a = v.as_array();
    ASSERT_EQ(a.size(), 7u);
    EXPECT_EQ(a[0].as_string(), "a\"b");
    EXPECT_EQ(a[1].as_string(), "c\\d");
    EXPECT_EQ(a[2].as_string(), "/");
    EXPECT_EQ(a[3].as_string(), "\b\f\n\r\t");
    EXPECT_EQ(a[4].as_string(), "A\xc3\xa9\xe2\x82\xac");
    EXPECT_EQ(a[5].as_string(), "\xf0\x9f\x98\x80");
    EXPECT_EQ(a[6].as_string(), std::string(1, '\0'));
}

TEST(JsonParse, AcceptsValidMultibyteUtf8) {
    auto v = parse_ok("{\"caf\xc3\xa9\":\"\xe2\x82\xac 5 \xf0\x9f\x98\x80\"}");
    ASSERT_NE(v.find("caf\xc3\xa9"), nullptr);
    EXPECT_EQ(v.find("caf\xc3\xa9")->as_string(), "\xe2\x82\xac 5 \xf0\x9f\x98\x80");
}

TEST(JsonParse, RejectsMalformedJson) {
    for (std::string_view text :
         {"",          "   ",         "{",         "}",       "[",        "[1,]",      "{\"a\":1,}", "{'a':1}",
          "{a:1}",     "{\"a\" 1}",   "{\"a\":}",  "[1 2]",   "01",       "1.",        ".5",         "+1",
          "-",         "1e",          "0x10",      "tru",     "nul",      "True",      "\"abc",      "\"a\\x\"",
          "\"\\u12\"", "\"\\u12g4\"", "/* c */ 1", "// c\n1", "[1] // c", "undefined", "{\"a\":1]",  "[1}"}) {
        SCOPED_TRACE(text);
        expect_bad_request(text);
    }
}

TEST(JsonParse, RejectsRawControlCharactersInStrings) {
    expect_bad_request("\"a\tb\"");
    expect_bad_request("\"a\nb\"");
    expect_bad_request(std::string_view("\"a\0b\"", 5));
    expect_bad_request("{\"k\x01\":1}");
}

TEST(JsonParse, RejectsInvalidUtf8) {
    for (std::string_view text : {
             "\"\xff\"",              // never valid in UTF-8
             "\"\x80\"",              // lone continuation byte
             "\"\xc0\xaf\"",          // overlong '/'
             "\"\xe2\x82\"",          // truncated 3-byte sequence
             "\"\xed\xa0\x80\"",      // UTF-16 surrogate encoded as UTF-8
             "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
             "{\"\xff\":1}",          // in a key
             "[\"ok\",\"\xfe\"]",     // later in the document
         }) {
        SCOPED_TRACE(::testing::PrintToString(std::string(text)));
        expect_bad_request(text);
    }
}

TEST(JsonParse, RejectsLoneUtf16SurrogateEscapes) {
    // Decoding these would put invalid UTF-8 into a string.
    expect_bad_request(R"("\ud800")");
    expect_bad_request(R"("\ud800x")");
    expect_bad_request(R"("\udc00")");
    expect_bad_request(R"("\ud800\u0041")");
}

TEST(JsonParse, RejectsNaNAndInfinity) {
    for (std::string_view text :
         {"NaN", "nan", "Infinity", "-Infinity", "inf", "[NaN]", "{\"a\":Infinity}", "{\"a\":-Infinity}", "[1,NaN]"}) {
        SCOPED_TRACE(text);
        expect_bad_request(text);
    }
}

TEST(JsonParse, RejectsTrailingData) {
    for (std::string_view text :
         {"{} {}", "{}{}", "1 2", "{}x", "[]]", "nullx", "\"a\"\"b\"", "{\"a\":1}}", "true false", "{} ,"}) {
        SCOPED_TRACE(text);
        expect_bad_request(text);
    }
    // A NUL after the document is data too (the body length, not a terminator, ends the text).
    expect_bad_request(std::string_view("{}\0", 3));
}

TEST(JsonParse, AcceptsNestingOf32ArraysAndObjects) {
    auto arrays = json::parse(nested_arrays(32));
    ASSERT_TRUE(arrays.ok()) << arrays.error().message;
    auto objects = json::parse(nested_objects(32));
    ASSERT_TRUE(objects.ok()) << objects.error().message;
    // The innermost value of the 32-deep object survives.
    const json::Value* v = &objects.value();
    for (int i = 0; i < 32; ++i) {
        ASSERT_TRUE(v->is_object());
        v = v->find("a");
        ASSERT_NE(v, nullptr);
    }
    EXPECT_EQ(v->number_text(), "1");
}

TEST(JsonParse, RejectsNestingDeeperThan32) {
    expect_bad_request(nested_arrays(33));
    expect_bad_request(nested_objects(33));
    // Mixed containers count the same way: 16 objects + 17 arrays = 33 levels.
    std::string mixed;
    for (int i = 0; i < 16; ++i) mixed += "{\"k\":[";
    mixed += "[]";
    for (int i = 0; i < 16; ++i) mixed += "]}";
    expect_bad_request(mixed);
    // Far deeper input is refused without exhausting the stack.
    expect_bad_request(nested_arrays(100'000));
}

TEST(JsonParse, DepthCountsNestingNotContainerCount) {
    // 40 sibling containers at depth 2 are fine: only depth is limited.
    std::string wide = "[";
    for (int i = 0; i < 40; ++i) wide += (i ? ",[]" : "[]");
    wide += "]";
    EXPECT_TRUE(json::parse(wide).ok());
}

TEST(JsonParse, HonoursCustomDepthLimit) {
    json::ParseLimits limits;
    limits.max_depth = 2;
    EXPECT_TRUE(json::parse("[[1]]", limits).ok());
    expect_bad_request("[[[1]]]", limits);
    EXPECT_TRUE(json::parse("{\"a\":{\"b\":1}}", limits).ok());
    expect_bad_request("{\"a\":{\"b\":{}}}", limits);
}

TEST(JsonParse, ParsesLongStringsAndManyMembers) {
    std::string big(200'000, 'x');
    auto v = parse_ok("\"" + big + "\"");
    EXPECT_EQ(v.as_string(), big);

    std::string doc = "{";
    for (int i = 0; i < 1000; ++i) doc += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    doc += "}";
    auto o = parse_ok(doc);
    ASSERT_EQ(o.as_object().size(), 1000u);
    EXPECT_EQ(o.find("k999")->number_text(), "999");
}

// --- as_exact_int64 ----------------------------------------------------------------------------

std::optional<std::int64_t> exact(std::string_view text) { return parse_ok(text).as_exact_int64(); }

TEST(JsonExactInt64, AcceptsIntegerValuesWhateverTheSpelling) {
    EXPECT_EQ(exact("3"), 3);
    EXPECT_EQ(exact("3.0"), 3);
    EXPECT_EQ(exact("3e0"), 3);
    EXPECT_EQ(exact("30e-1"), 3);
    EXPECT_EQ(exact("0.3e1"), 3);
    EXPECT_EQ(exact("1E+2"), 100);
    EXPECT_EQ(exact("-42"), -42);
    EXPECT_EQ(exact("-42.000"), -42);
    EXPECT_EQ(exact("0"), 0);
    EXPECT_EQ(exact("-0"), 0);
    EXPECT_EQ(exact("0.0e5"), 0);
}

TEST(JsonExactInt64, AcceptsValuesUpToInt64MaxInMagnitude) {
    EXPECT_EQ(exact("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(exact("-9223372036854775807"), -std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(exact("9.223372036854775807e18"), std::numeric_limits<std::int64_t>::max());
}

TEST(JsonExactInt64, RangeIsSymmetricSoInt64MinIsRefused) {
    // Documented: |value| <= INT64_MAX. No API field comes near this bound.
    EXPECT_EQ(exact("-9223372036854775808"), std::nullopt);
}

TEST(JsonExactInt64, RefusesFractionsAndOutOfRange) {
    EXPECT_EQ(exact("3.5"), std::nullopt);
    EXPECT_EQ(exact("1e-1"), std::nullopt);
    EXPECT_EQ(exact("0.0000000000000000001"), std::nullopt);
    EXPECT_EQ(exact("9223372036854775808"), std::nullopt);
    EXPECT_EQ(exact("-9223372036854775809"), std::nullopt);
    EXPECT_EQ(exact("1e19"), std::nullopt);
    EXPECT_EQ(exact("1e999999999"), std::nullopt);  // refused from the text, not computed
    EXPECT_EQ(exact("123456789012345678901234567890"), std::nullopt);
}

TEST(JsonExactInt64, RefusesNonNumbers) {
    EXPECT_EQ(parse_ok("\"3\"").as_exact_int64(), std::nullopt);
    EXPECT_EQ(parse_ok("true").as_exact_int64(), std::nullopt);
    EXPECT_EQ(parse_ok("null").as_exact_int64(), std::nullopt);
    EXPECT_EQ(parse_ok("[3]").as_exact_int64(), std::nullopt);
    EXPECT_EQ(json::Value().as_exact_int64(), std::nullopt);
}

// --- find --------------------------------------------------------------------------------------

TEST(JsonFind, LastDuplicateKeyWins) {
    auto v = parse_ok(R"({"a":1,"b":2,"a":3})");
    ASSERT_NE(v.find("a"), nullptr);
    EXPECT_EQ(v.find("a")->number_text(), "3");
    EXPECT_EQ(v.find("b")->number_text(), "2");
    // Both members are kept in document order; only lookup prefers the last.
    EXPECT_EQ(v.as_object().size(), 3u);
}

TEST(JsonFind, ReturnsNullWhenAbsentOrNotAnObject) {
    auto v = parse_ok(R"({"a":null})");
    EXPECT_EQ(v.find("b"), nullptr);
    EXPECT_EQ(v.find("A"), nullptr);  // keys are case-sensitive
    EXPECT_EQ(v.find(""), nullptr);
    ASSERT_NE(v.find("a"), nullptr);  // present-but-null is not absent
    EXPECT_TRUE(v.find("a")->is_null());
    EXPECT_EQ(parse_ok(R"([{"a":1}])").find("a"), nullptr);
    EXPECT_EQ(parse_ok("\"a\"").find("a"), nullptr);
    EXPECT_EQ(parse_ok("1").find("a"), nullptr);
}

TEST(JsonFind, MatchesDecodedKeys) {
    auto v = parse_ok(R"({"a\"b":1,"\u00e9":2,"":3})");
    ASSERT_NE(v.find("a\"b"), nullptr);
    EXPECT_EQ(v.find("a\"b")->number_text(), "1");
    ASSERT_NE(v.find("\xc3\xa9"), nullptr);
    EXPECT_EQ(v.find("\xc3\xa9")->number_text(), "2");
    ASSERT_NE(v.find(""), nullptr);
    EXPECT_EQ(v.find("")->number_text(), "3");
}

TEST(JsonValue, KindNamesReadAsValidationPhrases) {
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kNull), "null");
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kBool), "a boolean");
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kNumber), "a number");
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kString), "a string");
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kArray), "an array");
    EXPECT_EQ(json::Value::kind_name(json::Value::Kind::kObject), "an object");
    EXPECT_EQ(parse_ok("[]").kind(), json::Value::Kind::kArray);
    EXPECT_EQ(json::Value().kind(), json::Value::Kind::kNull);
}

// --- Writer ------------------------------------------------------------------------------------

TEST(JsonWriter, PlacesCommasBetweenMembersAndElements) {
    json::Writer w;
    w.begin_object();
    w.field("a", 1);
    w.key("b").begin_array().number(1).number(2).begin_object().end_object().begin_array().end_array().end_array();
    w.key("c").begin_object().key("d").null().field("e", true).end_object();
    w.field("f", "x");
    w.end_object();
    EXPECT_EQ(w.str(), R"({"a":1,"b":[1,2,{},[]],"c":{"d":null,"e":true},"f":"x"})");
}

TEST(JsonWriter, WritesEmptyAndSiblingContainers) {
    EXPECT_EQ(json::Writer().begin_object().end_object().str(), "{}");
    EXPECT_EQ(json::Writer().begin_array().end_array().str(), "[]");
    EXPECT_EQ(json::Writer().begin_array().begin_array().end_array().begin_array().end_array().end_array().str(),
              "[[],[]]");
    EXPECT_EQ(json::Writer().begin_array().begin_object().end_object().begin_object().end_object().end_array().str(),
              "[{},{}]");
    EXPECT_EQ(json::Writer()
                  .begin_object()
                  .key("a")
                  .begin_object()
                  .end_object()
                  .key("b")
                  .begin_array()
                  .end_array()
                  .end_object()
                  .str(),
              R"({"a":{},"b":[]})");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
    json::Writer w;
    w.string(std::string("q\" b\\ n\n r\r t\t b\b f\f 01\x01 1f\x1f 00") + '\0');
    EXPECT_EQ(w.str(), R"("q\" b\\ n\n r\r t\t b\b f\f 01\u0001 1f\u001f 00\u0000")");
}

TEST(JsonWriter, PassesThroughPrintableAsciiAndUtf8) {
    std::string s = "plain / slash \x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    EXPECT_EQ(json::Writer().string(s).str(), "\"" + s + "\"");
}

TEST(JsonWriter, EscapesKeysToo) {
    json::Writer w;
    w.begin_object().field("a\"b\n", 1).end_object();
    EXPECT_EQ(w.str(), R"({"a\"b\n":1})");
}

TEST(JsonWriter, WritesNumberTextVerbatim) {
    json::Writer w;
    w.begin_array().number_text("12.50").number_text("1e2").number_text("-0.00").number_text("100").end_array();
    EXPECT_EQ(w.str(), "[12.50,1e2,-0.00,100]");
}

TEST(JsonWriter, WritesInt64Extremes) {
    json::Writer w;
    w.begin_array()
        .number(std::numeric_limits<std::int64_t>::min())
        .number(std::numeric_limits<std::int64_t>::max())
        .number(0)
        .number(-7)
        .end_array();
    EXPECT_EQ(w.str(), "[-9223372036854775808,9223372036854775807,0,-7]");
}

TEST(JsonWriter, FieldOverloadsPickTheRightType) {
    json::Writer w;
    std::string owned = "s";
    w.begin_object()
        .field("literal", "text")  // must stay a string, not decay to bool
        .field("owned", owned)
        .field("view", std::string_view("v"))
        .field("int", 5)
        .field("i64", std::int64_t{-6})
        .field("bool", false)
        .opt_field("none", std::nullopt)
        .opt_field("some", std::optional<std::string>("x"))
        .end_object();
    EXPECT_EQ(w.str(),
              R"({"literal":"text","owned":"s","view":"v","int":5,"i64":-6,"bool":false,"none":null,"some":"x"})");
}

TEST(JsonWriter, RawValuesAreSeparatedLikeAnyOther) {
    json::Writer w;
    w.begin_object().key("a").raw(R"({"x":[1]})").key("b").raw("2").end_object();
    w.raw("3");
    EXPECT_EQ(w.str(), R"({"a":{"x":[1]},"b":2},3)");
}

TEST(JsonWriter, OutputParsesBack) {
    json::Writer w;
    w.begin_object()
        .field("msg", std::string("line1\nline2 \"quoted\" \\ \x02"))
        .key("n")
        .number_text("0.10")
        .end_object();
    auto v = parse_ok(w.str());
    EXPECT_EQ(v.find("msg")->as_string(), "line1\nline2 \"quoted\" \\ \x02");
    EXPECT_EQ(v.find("n")->number_text(), "0.10");
}

TEST(JsonWriter, MovingOutLeavesTheText) {
    json::Writer w;
    w.begin_array().number(1).end_array();
    std::string s = std::move(w).str();
    EXPECT_EQ(s, "[1]");
}

// --- serialize ---------------------------------------------------------------------------------

TEST(JsonSerialize, RoundTripsCompactDocumentsExactly) {
    for (std::string_view text : {
             R"({"a":12.50,"b":[1E+2,-0,1e-7],"c":{"d":null,"e":true,"f":false},"g":"x\"y\\z\n"})",
             R"([])",
             R"({})",
             R"([[[]],{"":{}}])",
             R"("\u0001\u001f")",
             R"(123456789012345678901234567890.000)",
             R"({"a":1,"a":2})",
         }) {
        EXPECT_EQ(json::serialize(parse_ok(text)), text);
    }
}

TEST(JsonSerialize, DropsInsignificantWhitespaceAndNormalisesEscapes) {
    auto v = parse_ok(" { \"a\" : [ 1 , \"\\/\\u0041\" ] ,\n \"b\":\t{} } ");
    EXPECT_EQ(json::serialize(v), R"({"a":[1,"/A"],"b":{}})");
}

TEST(JsonSerialize, IsStableUnderReparse) {
    std::string text = "{\"s\":\"\\u0000\\b\\f\\t \xe2\x82\xac\",\"n\":[0.0,1.10,-2e+3],\"o\":{\"k\":[{}]}}";
    std::string once = json::serialize(parse_ok(text));
    std::string twice = json::serialize(parse_ok(once));
    EXPECT_EQ(once, twice);
    EXPECT_EQ(parse_ok(once).find("s")->as_string(), std::string("\0\b\f\t \xe2\x82\xac", 8));
}

}  // namespace
}  // namespace flashbill
