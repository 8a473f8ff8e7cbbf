#pragma once
// Helpers shared by the auth_*_test.cpp API tests.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "auth_support.hpp"
#include "core/json.hpp"
#include "http_client.hpp"
#include "test_db.hpp"

namespace flashbill::test::auth_util {

// Server environment for auth tests: the per-IP auth limit is raised because every test request
// comes from 127.0.0.1 (tests of that limit set their own).
inline std::map<std::string, std::string> env(const TestDatabase& db, std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> e{{"DATABASE_URL", db.url()}, {"RATE_LIMIT_AUTH", "1000/min"}};
    for (auto& [k, v] : extra) e[k] = v;
    return e;
}

inline json::Value parse(const HttpResponse& r) {
    auto v = json::parse(r.body);
    EXPECT_TRUE(v.ok()) << "not JSON: " << r.body;
    return v ? std::move(*v) : json::Value();
}

inline std::string str(const json::Value& v, std::string_view key) {
    const json::Value* f = v.find(key);
    return f && f->is_string() ? f->as_string() : std::string();
}

inline std::string error_code(const HttpResponse& r) {
    auto v = parse(r);
    const json::Value* e = v.find("error");
    return e ? str(*e, "code") : std::string();
}

// The fields named in error.details, comma-separated in order.
inline std::string error_fields(const HttpResponse& r) {
    auto v = parse(r);
    std::string out;
    const json::Value* e = v.find("error");
    const json::Value* d = e ? e->find("details") : nullptr;
    if (!d || !d->is_array()) return out;
    for (const auto& item : d->as_array()) {
        if (!out.empty()) out += ",";
        out += str(item, "field");
    }
    return out;
}

inline HttpResponse send(std::uint16_t port, std::string method, std::string target, std::string body = "",
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    if (!body.empty()) {
        r.headers.emplace_back("Content-Type", "application/json");
        r.body = std::move(body);
    }
    return http(port, r);
}

inline std::string jstr(const std::string& s) {
    std::string out;
    json::append_escaped(out, s);
    return out;
}

// Every row of every table auth writes, hashed: equal snapshots mean nothing changed.
inline std::string snapshot(const TestDatabase& db) {
    std::string all;
    for (const char* t : {"organizations", "users", "refresh_tokens", "one_time_tokens", "invitations", "api_keys", "jobs"}) {
        all += db.scalar(std::string("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM ") + t + " t");
        all += ";";
    }
    return all;
}

}  // namespace flashbill::test::auth_util
