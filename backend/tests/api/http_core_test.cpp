// The HTTP core through the real binary: routing, error shapes, limits, hostile clients,
// operations endpoints.

#include <gtest/gtest.h>

#include <thread>

#include "core/json.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"
#include "server_process.hpp"
#include "test_db.hpp"

namespace flashbill::test {
namespace {

// Asserts the API.md error shape and returns the parsed body.
json::Value expect_error(const HttpResponse& r, int status, std::string_view code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/json") << r.body;
    auto doc = json::parse(r.body);
    EXPECT_TRUE(doc.ok()) << "not JSON: " << r.body;
    if (!doc) return {};
    const json::Value* err = doc->find("error");
    EXPECT_TRUE(err && err->is_object()) << r.body;
    if (!err) return {};
    EXPECT_EQ(err->find("code") ? err->find("code")->as_string() : "", code) << r.body;
    EXPECT_TRUE(err->find("message") && err->find("message")->is_string());
    EXPECT_TRUE(err->find("timestamp") && err->find("timestamp")->is_string());
    EXPECT_TRUE(err->find("details") && err->find("details")->is_array());
    const json::Value* rid = err->find("request_id");
    EXPECT_TRUE(rid && rid->is_string() && rid->as_string() == r.header("X-Request-Id")) << r.body;
    return std::move(*doc);
}

class HttpCore : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        db_ = new TestDatabase();
        server_ = new ServerProcess({{"DATABASE_URL", db_->url()},
                                     {"READ_TIMEOUT_MS", "700"},
                                     {"IDLE_TIMEOUT_MS", "1500"},
                                     {"MAX_HEADER_BYTES", "4096"},
                                     {"MAX_BODY_BYTES", "65536"},
                                     {"MAX_UPLOAD_BYTES", "262144"},
                                     {"CORS_ORIGINS", "https://app.flashbill.test"},
                                     {"METRICS_TOKEN", "metrics-secret-token"}});
    }
    static void TearDownTestSuite() {
        delete server_;
        delete db_;
    }
    std::uint16_t port() const { return server_->port(); }
    static TestDatabase* db_;
    static ServerProcess* server_;
};
TestDatabase* HttpCore::db_ = nullptr;
ServerProcess* HttpCore::server_ = nullptr;

TEST_F(HttpCore, HealthAnswersJsonWithRequestIdAndSecurityHeaders) {
    auto r = http_get(port(), "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"status":"ok"})");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.header("X-Request-Id").size(), 36u);
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(r.header_count("X-Content-Type-Options"), 1);
    EXPECT_CONFORMS("GET", "/health", r);
}

TEST_F(HttpCore, ResponsesCarryAnRfc9110Date) {
    auto r = http_get(port(), "/health");
    auto date = r.header("Date");
    ASSERT_EQ(date.size(), 29u) << date;  // e.g. "Tue, 24 Nov 2026 23:30:00 GMT"
    EXPECT_EQ(date.substr(26), "GMT");
    EXPECT_EQ(r.header_count("Date"), 1);
}

TEST_F(HttpCore, ExpectContinueGetsAGoAheadBeforeTheBody) {
    Connection c(port(), std::chrono::seconds(5));
    std::string body = R"({"ok":true})";
    c.send("POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
    auto cont = c.read_response(true);
    ASSERT_TRUE(cont.has_value());
    EXPECT_EQ(cont->status, 100);
    c.send(body);
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body);
    // Too big: refused at once, without asking for the body.
    Connection big(port(), std::chrono::seconds(5));
    big.send("POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
             "Content-Length: 999999999\r\n\r\n");
    auto refused = big.read_response();
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->status, 413);
}

TEST_F(HttpCore, EchoesAValidCallerRequestIdAndReplacesAnInvalidOne) {
    auto r = http_get(port(), "/health", {{"X-Request-Id", "caller-id-123"}});
    EXPECT_EQ(r.header("X-Request-Id"), "caller-id-123");
    auto bad = http_get(port(), "/health", {{"X-Request-Id", "has spaces and \"quotes\""}});
    EXPECT_NE(bad.header("X-Request-Id"), "has spaces and \"quotes\"");
    EXPECT_EQ(bad.header("X-Request-Id").size(), 36u);
}

TEST_F(HttpCore, HeadIsAnsweredLikeGetWithoutABody) {
    auto r = http(port(), Request{"HEAD", "/health", {}, {}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), "15");
    EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpCore, ReadyReportsPostgresAndMigrations) {
    auto r = http_get(port(), "/ready");
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = json::parse(r.body);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->find("status")->as_string(), "ok");
    auto* checks = doc->find("checks");
    ASSERT_TRUE(checks);
    EXPECT_EQ(checks->find("postgres")->find("status")->as_string(), "ok");
    EXPECT_EQ(checks->find("migrations")->find("status")->as_string(), "ok");
    EXPECT_TRUE(checks->find("migrations")->find("version")->as_exact_int64().has_value());
    EXPECT_EQ(checks->find("redis")->find("status")->as_string(), "not_configured");
    EXPECT_CONFORMS("GET", "/ready", r);
}

TEST_F(HttpCore, UnknownRouteIs404Json) { expect_error(http_get(port(), "/no/such/route"), 404, "NOT_FOUND"); }

TEST_F(HttpCore, WrongMethodIs405WithAllow) {
    auto r = http(port(), Request{"DELETE", "/health", {}, {}});
    expect_error(r, 405, "METHOD_NOT_ALLOWED");
    EXPECT_EQ(r.header("Allow"), "GET, HEAD");
}

TEST_F(HttpCore, JsonBodyKeepsNumbersExactly) {
    auto r = http_post_json(port(), "/__test/echo", R"({"amount": 10.000, "big": 1e2, "n": -0.0, "s": "é\n"})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"amount":10.000,"big":1e2,"n":-0.0,"s":"é\n"})");
}

TEST_F(HttpCore, MalformedJsonIs400BadRequest) {
    for (std::string body : {"{", "{\"a\":}", "[1,2", "{\"a\":1}}", "NaN", "{\"a\":NaN}", "{\"a\":Infinity}",
                             "{'a':1}", "{\"a\":1,}"}) {
        SCOPED_TRACE(body);
        expect_error(http_post_json(port(), "/__test/echo", body), 400, "BAD_REQUEST");
    }
}

TEST_F(HttpCore, InvalidUtf8Is400BadRequest) {
    expect_error(http_post_json(port(), "/__test/echo", "{\"a\":\"\xff\xfe\"}"), 400, "BAD_REQUEST");
    expect_error(http_post_json(port(), "/__test/echo", "{\"a\":\"\xc3\"}"), 400, "BAD_REQUEST");
}

TEST_F(HttpCore, NestingDeeperThan32Is400) {
    std::string ok = std::string(32, '[') + std::string(32, ']');
    EXPECT_EQ(http_post_json(port(), "/__test/echo", ok).status, 200);
    std::string deep = std::string(33, '[') + std::string(33, ']');
    expect_error(http_post_json(port(), "/__test/echo", deep), 400, "BAD_REQUEST");
    std::string very_deep = std::string(60000, '[');
    expect_error(http_post_json(port(), "/__test/echo", very_deep), 400, "BAD_REQUEST");
}

TEST_F(HttpCore, WrongContentTypeIs415) {
    auto r = http(port(), Request{"POST", "/__test/echo", {{"Content-Type", "text/plain"}}, "{}"});
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE");
    auto none = http(port(), Request{"POST", "/__test/echo", {}, "{}"});
    expect_error(none, 415, "UNSUPPORTED_MEDIA_TYPE");
    auto with_charset =
        http(port(), Request{"POST", "/__test/echo", {{"Content-Type", "application/json; charset=utf-8"}}, "{}"});
    EXPECT_EQ(with_charset.status, 200);
}

TEST_F(HttpCore, OversizeBodyIs413ByContentLength) {
    std::string body = "\"" + std::string(70000, 'x') + "\"";
    auto r = http_post_json(port(), "/__test/echo", body);
    expect_error(r, 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(HttpCore, OversizeChunkedBodyIs413) {
    Connection c(port());
    std::string req =
        "POST /__test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk(8192, 'a');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 10; ++i) req += size + chunk + "\r\n";
    req += "0\r\n\r\n";
    c.send(req);
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    expect_error(*r, 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(HttpCore, UploadRoutesHaveTheirOwnLargerLimit) {
    std::string body(200000, 'x');
    auto ok = http(port(), Request{"POST", "/__test/upload", {{"Content-Type", "application/octet-stream"}}, body});
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, R"({"bytes":200000})");
    std::string too_big(300000, 'x');
    auto r = http(port(), Request{"POST", "/__test/upload", {{"Content-Type", "application/octet-stream"}}, too_big});
    expect_error(r, 413, "PAYLOAD_TOO_LARGE");
}

TEST_F(HttpCore, OversizeHeaderGetsJsonErrorAndClose) {
    Connection c(port());
    c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    expect_error(*r, 431, "BAD_REQUEST");
    EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(2)));
}

TEST_F(HttpCore, GarbageRequestLineGets400JsonAndClose) {
    Connection c(port());
    c.send("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r.has_value());
    expect_error(*r, 400, "BAD_REQUEST");
    EXPECT_TRUE(c.closed_by_peer(std::chrono::seconds(2)));
}

TEST_F(HttpCore, SlowLorisClientIsDisconnectedAndOthersAreServed) {
    Connection slow(port());
    slow.send("GET /health HTTP/1.1\r\nHost: x\r\n");
    // Keep dribbling header bytes, each well within any per-read timeout: the whole header still
    // has to arrive within READ_TIMEOUT_MS (700 ms here).
    bool closed = false;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 30 && !closed; ++i) {
        if (!slow.send("X-A" + std::to_string(i) + ": b\r\n")) closed = true;
        if (slow.closed_by_peer(std::chrono::milliseconds(100))) closed = true;
    }
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
    EXPECT_EQ(http_get(port(), "/health").status, 200);
}

TEST_F(HttpCore, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
    Connection c(port());
    c.send(format_request(Request{"GET", "/health", {}, {}}));
    auto first = c.read_response();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status, 200);
    EXPECT_FALSE(c.closed_by_peer(std::chrono::milliseconds(800)));  // still open within IDLE_TIMEOUT_MS
    EXPECT_TRUE(c.closed_by_peer(std::chrono::milliseconds(2000)));
}

TEST_F(HttpCore, KeepAliveServesManyRequestsOnOneConnection) {
    Connection c(port());
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(c.send(format_request(Request{"GET", "/health", {}, {}})));
        auto r = c.read_response();
        ASSERT_TRUE(r.has_value()) << "request " << i;
        EXPECT_EQ(r->status, 200);
    }
    // Pipelined requests in one write are answered in order.
    std::string two = format_request(Request{"GET", "/health", {}, {}}) + format_request(Request{"GET", "/nope", {}, {}});
    c.send(two);
    EXPECT_EQ(c.read_response()->status, 200);
    EXPECT_EQ(c.read_response()->status, 404);
}

TEST_F(HttpCore, HandlerExceptionIs500JsonWithoutInternals) {
    auto r = http_get(port(), "/__test/throw");
    auto doc = expect_error(r, 500, "INTERNAL_ERROR");
    EXPECT_EQ(r.body.find("deliberate"), std::string::npos);
    EXPECT_EQ(http_get(port(), "/health").status, 200);
}

TEST_F(HttpCore, MalformedIdsAndQueryStringsDoNotConfuseRouting) {
    expect_error(http_get(port(), "/health/../../etc/passwd"), 404, "NOT_FOUND");
    EXPECT_EQ(http_get(port(), "/health?x=%zz&y").status, 200);
}

TEST_F(HttpCore, CorsAllowsConfiguredOriginsOnly) {
    auto ok = http_get(port(), "/health", {{"Origin", "https://app.flashbill.test"}});
    EXPECT_EQ(ok.header("Access-Control-Allow-Origin"), "https://app.flashbill.test");
    EXPECT_EQ(ok.header("Vary"), "Origin");
    auto other = http_get(port(), "/health", {{"Origin", "https://evil.test"}});
    EXPECT_EQ(other.header("Access-Control-Allow-Origin"), "");
    auto preflight = http(port(), Request{"OPTIONS",
                                          "/__test/echo",
                                          {{"Origin", "https://app.flashbill.test"},
                                           {"Access-Control-Request-Method", "POST"},
                                           {"Access-Control-Request-Headers", "content-type"}},
                                          {}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.header("Access-Control-Allow-Methods"), "POST");
    EXPECT_NE(preflight.header("Access-Control-Allow-Headers").find("Idempotency-Key"), std::string::npos);
}

TEST_F(HttpCore, MetricsServedToLoopbackOrWithTokenOnly) {
    http_get(port(), "/health");
    auto r = http_get(port(), "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.header("Content-Type").find("text/plain"), std::string::npos);
    for (const char* family :
         {"http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}", "http_request_duration_seconds_bucket",
          "http_requests_in_flight", "db_queries_total", "process_resident_memory_bytes", "process_cpu_seconds_total",
          "process_open_fds", "flashbill_build_info", "db_pool_connections"}) {
        EXPECT_NE(r.body.find(family), std::string::npos) << family;
    }
    // Through a proxy (nginx adds X-Forwarded-For) loopback is not enough.
    EXPECT_CONFORMS("GET", "/metrics", r);
    auto proxied = http_get(port(), "/metrics", {{"X-Forwarded-For", "203.0.113.9"}});
    expect_error(proxied, 403, "FORBIDDEN");
    EXPECT_CONFORMS("GET", "/metrics", proxied);
    auto wrong = http_get(port(), "/metrics", {{"X-Forwarded-For", "203.0.113.9"}, {"Authorization", "Bearer nope"}});
    expect_error(wrong, 403, "FORBIDDEN");
    auto token =
        http_get(port(), "/metrics", {{"X-Forwarded-For", "203.0.113.9"}, {"Authorization", "Bearer metrics-secret-token"}});
    EXPECT_EQ(token.status, 200);
}

TEST_F(HttpCore, OpenApiDocumentIsServedAsJson) {
    auto r = http_get(port(), "/api/v1/openapi.json");
    ASSERT_EQ(r.status, 200);
    auto doc = json::parse(r.body);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->find("openapi")->as_string(), "3.1.0");
    EXPECT_TRUE(doc->find("paths")->find("/health"));
    EXPECT_TRUE(doc->find("paths")->find("/ready"));
    EXPECT_CONFORMS("GET", "/api/v1/openapi.json", r);
}

TEST(OpenApiCheck, CatchesResponsesThatBreakTheContract) {
    // The checker itself must be able to fail, or the conformance assertions prove nothing.
    HttpResponse wrong_shape;
    wrong_shape.status = 200;
    wrong_shape.headers = {{"Content-Type", "application/json"}};
    wrong_shape.body = R"({"status":"fine"})";
    EXPECT_FALSE(openapi_violations("GET", "/health", wrong_shape).empty());
    HttpResponse missing = wrong_shape;
    missing.body = R"({"checks":{}})";
    EXPECT_FALSE(openapi_violations("GET", "/ready", missing).empty());
    HttpResponse undocumented_status = wrong_shape;
    undocumented_status.status = 418;
    EXPECT_FALSE(openapi_violations("GET", "/health", undocumented_status).empty());
    EXPECT_FALSE(openapi_violations("GET", "/no/such/path", wrong_shape).empty());
    HttpResponse ok = wrong_shape;
    ok.body = R"({"status":"ok"})";
    EXPECT_TRUE(openapi_violations("GET", "/health", ok).empty());
}

TEST_F(HttpCore, DatabaseBackedRouteWorks) {
    auto r = http_get(port(), "/__test/db");
    EXPECT_EQ(r.status, 200) << r.body;
}

TEST(HttpLimits, ConnectionsAboveTheLimitGet503Json) {
    TestDatabase db;
    ServerProcess server({{"DATABASE_URL", db.url()}, {"MAX_CONNECTIONS", "4"}, {"THREADS", "1"}});
    std::vector<std::unique_ptr<Connection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<Connection>(server.port()));
        held.back()->send(format_request(Request{"GET", "/health", {}, {}}));
        ASSERT_TRUE(held.back()->read_response().has_value());
    }
    auto r = http_get(server.port(), "/health");
    expect_error(r, 503, "UNAVAILABLE");
    EXPECT_EQ(r.header("Retry-After"), "1");
    held.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(http_get(server.port(), "/health").status, 200);
}

}  // namespace
}  // namespace flashbill::test
