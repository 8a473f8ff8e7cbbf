// Router: static and {param} routes, trailing-slash tolerance, HEAD via GET, the information a
// 405 needs (path_matched, Allow), and static routes winning over patterns. Handlers never run.

#include "http/router.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashbill {
namespace {

using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteMatch;
using http::Router;

http::Handler noop() {
    return [](RequestContext&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

// The pattern and method of the matched route, or "" when nothing matched.
std::string matched(const RouteMatch& m) {
    if (!m.route) return "";
    return std::string(http::method_name(m.route->method)) + " " + m.route->pattern;
}

std::string param(const RouteMatch& m, std::string_view name) {
    for (const auto& [k, v] : m.params) {
        if (k == name) return std::string(v);
    }
    return "<absent>";
}

class RouterTest : public ::testing::Test {
protected:
    void SetUp() override {
        r_.add(Method::kGet, "/", noop());
        r_.add(Method::kGet, "/health", noop());
        r_.add(Method::kGet, "/api/v1/clients", noop());
        r_.add(Method::kPost, "/api/v1/clients", noop());
        r_.add(Method::kGet, "/api/v1/clients/{id}", noop());
        r_.add(Method::kPut, "/api/v1/clients/{id}", noop());
        r_.add(Method::kDelete, "/api/v1/clients/{id}", noop());
        r_.add(Method::kGet, "/api/v1/invoices/{id}/payments/{payment_id}", noop());
        r_.add(Method::kPost, "/api/v1/invoices/{id}/send", noop());
        r_.add(Method::kPost, "/api/v1/auth/login", noop());
    }
    Router r_;
};

TEST_F(RouterTest, MatchesStaticRoutes) {
    auto m = r_.match(Method::kGet, "/health");
    EXPECT_EQ(matched(m), "GET /health");
    EXPECT_TRUE(m.path_matched);
    EXPECT_TRUE(m.params.empty());
    EXPECT_EQ(matched(r_.match(Method::kPost, "/api/v1/clients")), "POST /api/v1/clients");
    EXPECT_EQ(matched(r_.match(Method::kGet, "/api/v1/clients")), "GET /api/v1/clients");
    EXPECT_EQ(matched(r_.match(Method::kGet, "/")), "GET /");
}

TEST_F(RouterTest, MatchesPatternsAndCapturesParams) {
    auto m = r_.match(Method::kGet, "/api/v1/clients/3f1c9a52-0000-4000-8000-000000000001");
    EXPECT_EQ(matched(m), "GET /api/v1/clients/{id}");
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(param(m, "id"), "3f1c9a52-0000-4000-8000-000000000001");

    auto d = r_.match(Method::kDelete, "/api/v1/clients/abc");
    EXPECT_EQ(matched(d), "DELETE /api/v1/clients/{id}");
    EXPECT_EQ(param(d, "id"), "abc");
}

TEST_F(RouterTest, CapturesSeveralParamsInOrder) {
    auto m = r_.match(Method::kGet, "/api/v1/invoices/inv-1/payments/pay-2");
    EXPECT_EQ(matched(m), "GET /api/v1/invoices/{id}/payments/{payment_id}");
    ASSERT_EQ(m.params.size(), 2u);
    EXPECT_EQ(m.params[0].first, "id");
    EXPECT_EQ(m.params[0].second, "inv-1");
    EXPECT_EQ(m.params[1].first, "payment_id");
    EXPECT_EQ(m.params[1].second, "pay-2");
}

TEST_F(RouterTest, LiteralSegmentsOfAPatternMustMatchExactly) {
    EXPECT_EQ(matched(r_.match(Method::kPost, "/api/v1/invoices/inv-1/send")), "POST /api/v1/invoices/{id}/send");
    EXPECT_EQ(r_.match(Method::kPost, "/api/v1/invoices/inv-1/remind").route, nullptr);
    EXPECT_EQ(r_.match(Method::kGet, "/api/v1/invoices/inv-1/refunds/pay-2").route, nullptr);
    EXPECT_FALSE(r_.match(Method::kGet, "/api/v1/invoices/inv-1/refunds/pay-2").path_matched);
}

TEST_F(RouterTest, ToleratesATrailingSlash) {
    EXPECT_EQ(matched(r_.match(Method::kGet, "/health/")), "GET /health");
    EXPECT_EQ(matched(r_.match(Method::kGet, "/api/v1/clients/")), "GET /api/v1/clients");
    auto m = r_.match(Method::kGet, "/api/v1/clients/abc/");
    EXPECT_EQ(matched(m), "GET /api/v1/clients/{id}");
    EXPECT_EQ(param(m, "id"), "abc");
}

TEST_F(RouterTest, TrailingSlashDoesNotMakeAnEmptyParam) {
    // "/api/v1/clients/" is the collection, never the item route with an empty id.
    auto m = r_.match(Method::kDelete, "/api/v1/clients/");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);  // the collection exists, just not for DELETE
}

TEST_F(RouterTest, UnknownPathMatchesNothing) {
    for (std::string_view path : {"/nope", "/api/v1", "/api/v1/clients/a/b", "/api/v2/clients", "/healthz", "/Health",
                                  "/api/v1/invoices/x/payments"}) {
        auto m = r_.match(Method::kGet, path);
        EXPECT_EQ(m.route, nullptr) << path;
        EXPECT_FALSE(m.path_matched) << path;
        EXPECT_TRUE(m.allow.empty()) << path;
        EXPECT_TRUE(m.params.empty()) << path;
    }
}

TEST_F(RouterTest, WrongMethodOnStaticPathReportsAllowedMethods) {
    auto m = r_.match(Method::kDelete, "/api/v1/clients");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, "GET, HEAD, POST");
}

TEST_F(RouterTest, WrongMethodOnPatternPathReportsAllowedMethods) {
    auto m = r_.match(Method::kPost, "/api/v1/clients/abc");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, "GET, HEAD, PUT, DELETE");
}

TEST_F(RouterTest, AllowOmitsHeadWhenThereIsNoGet) {
    auto m = r_.match(Method::kGet, "/api/v1/auth/login");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, HeadMatchesGetRoutes) {
    EXPECT_EQ(matched(r_.match(Method::kHead, "/health")), "GET /health");
    auto m = r_.match(Method::kHead, "/api/v1/clients/abc");
    EXPECT_EQ(matched(m), "GET /api/v1/clients/{id}");
    EXPECT_EQ(param(m, "id"), "abc");
}

TEST_F(RouterTest, HeadWithoutGetRouteIsMethodNotAllowed) {
    auto m = r_.match(Method::kHead, "/api/v1/auth/login");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, RoutesAreCaseSensitive) {
    EXPECT_EQ(r_.match(Method::kGet, "/API/v1/clients").route, nullptr);
    EXPECT_EQ(r_.match(Method::kGet, "/HEALTH").route, nullptr);
}

TEST(Router, StaticRouteWinsOverPatternWhateverTheRegistrationOrder) {
    Router r;
    r.add(Method::kGet, "/invoices/{id}", noop());
    r.add(Method::kGet, "/invoices/stats", noop());
    auto m = r.match(Method::kGet, "/invoices/stats");
    EXPECT_EQ(matched(m), "GET /invoices/stats");
    EXPECT_TRUE(m.params.empty());
    // Other ids still reach the pattern.
    auto p = r.match(Method::kGet, "/invoices/inv-1");
    EXPECT_EQ(matched(p), "GET /invoices/{id}");
    EXPECT_EQ(param(p, "id"), "inv-1");
}

TEST(Router, AllowListsEachMethodOnceAcrossStaticAndPatternRoutes) {
    Router r;
    r.add(Method::kGet, "/things/special", noop());
    r.add(Method::kGet, "/things/{id}", noop());
    r.add(Method::kPatch, "/things/{id}", noop());
    auto m = r.match(Method::kPut, "/things/special");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_matched);
    EXPECT_EQ(m.allow, "GET, HEAD, PATCH");
}

TEST(Router, FirstRegisteredRouteWinsForTheSameMethodAndPath) {
    Router r;
    r.add(Method::kGet, "/a/{x}", noop());
    r.add(Method::kGet, "/a/{y}", noop());
    auto m = r.match(Method::kGet, "/a/1");
    EXPECT_EQ(matched(m), "GET /a/{x}");
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].first, "x");
}

TEST(Router, KeepsRouteOptionsAndRegistrationOrder) {
    Router r;
    http::RouteOptions upload;
    upload.body_limit = 10 * 1024 * 1024;
    r.add(Method::kPost, "/files", noop(), upload);
    r.add(Method::kGet, "/files/{id}", noop());
    ASSERT_EQ(r.routes().size(), 2u);
    EXPECT_EQ(r.routes()[0].pattern, "/files");
    EXPECT_EQ(r.routes()[1].pattern, "/files/{id}");
    auto m = r.match(Method::kPost, "/files");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->options.body_limit, 10u * 1024 * 1024);
    EXPECT_EQ(r.match(Method::kGet, "/files/1").route->options.body_limit, 0u);
    EXPECT_TRUE(static_cast<bool>(m.route->handler));
}

TEST(Router, EmptyRouterMatchesNothing) {
    Router r;
    auto m = r.match(Method::kGet, "/");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_FALSE(m.path_matched);
    EXPECT_TRUE(m.allow.empty());
}

TEST(Router, MatchesManyRoutesAfterTheRouteTableGrows) {
    // Route storage reallocates as routes are added; matches must still point at live routes.
    Router r;
    for (int i = 0; i < 200; ++i) {
        r.add(Method::kGet, "/s" + std::to_string(i), noop());
        r.add(Method::kGet, "/p" + std::to_string(i) + "/{id}", noop());
    }
    auto s = r.match(Method::kGet, "/s0");
    ASSERT_NE(s.route, nullptr);
    EXPECT_EQ(s.route->pattern, "/s0");
    auto p = r.match(Method::kGet, "/p199/z");
    ASSERT_NE(p.route, nullptr);
    EXPECT_EQ(p.route->pattern, "/p199/{id}");
    EXPECT_EQ(param(p, "id"), "z");
}

TEST(HttpMethodName, NamesEachMethod) {
    EXPECT_EQ(http::method_name(Method::kGet), "GET");
    EXPECT_EQ(http::method_name(Method::kHead), "HEAD");
    EXPECT_EQ(http::method_name(Method::kPost), "POST");
    EXPECT_EQ(http::method_name(Method::kPut), "PUT");
    EXPECT_EQ(http::method_name(Method::kPatch), "PATCH");
    EXPECT_EQ(http::method_name(Method::kDelete), "DELETE");
    EXPECT_EQ(http::method_name(Method::kOptions), "OPTIONS");
}

}  // namespace
}  // namespace flashbill
