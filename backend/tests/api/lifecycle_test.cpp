// Process lifecycle through the real binary: database outages, graceful shutdown, restarts on a
// socket held by a supervisor (the systemd socket-activation model).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/json.hpp"
#include "http_client.hpp"
#include "own_service.hpp"
#include "server_process.hpp"
#include "test_db.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int status_of(std::uint16_t port, const std::string& target) {
    try {
        return http_get(port, target).status;
    } catch (...) {
        return -1;
    }
}

TEST(Lifecycle, PostgresOutageIsReportedAndRecoveredWithoutRestart) {
    OwnService pg("pg");
    ServerProcess server({{"DATABASE_URL", pg.url()}, {"DB_CONNECT_TIMEOUT_MS", "1000"}});
    ASSERT_EQ(status_of(server.port(), "/ready"), 200);
    ASSERT_EQ(status_of(server.port(), "/__test/db"), 200);

    pg.stop();
    auto stopped = Clock::now();
    while (status_of(server.port(), "/ready") != 503 && Clock::now() - stopped < 5s) std::this_thread::sleep_for(20ms);
    EXPECT_LT(Clock::now() - stopped, 2s) << "/ready did not report the outage within 2 s";
    auto ready = http_get(server.port(), "/ready");
    EXPECT_EQ(ready.status, 503);
    auto doc = json::parse(ready.body);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->find("status")->as_string(), "unavailable");
    EXPECT_EQ(doc->find("checks")->find("postgres")->find("status")->as_string(), "unavailable");

    EXPECT_EQ(status_of(server.port(), "/health"), 200);
    for (int i = 0; i < 20; ++i) {
        auto r = http_get(server.port(), "/__test/db");
        EXPECT_EQ(r.status, 503);
        auto err = json::parse(r.body);
        ASSERT_TRUE(err.ok()) << r.body;
        EXPECT_EQ(err->find("error")->find("code")->as_string(), "UNAVAILABLE");
        EXPECT_EQ(r.body.find("connect"), std::string::npos) << "internals leaked: " << r.body;
    }

    pg.start();
    auto restarted = Clock::now();
    while (status_of(server.port(), "/ready") != 200 && Clock::now() - restarted < 10s) std::this_thread::sleep_for(20ms);
    EXPECT_LT(Clock::now() - restarted, 5s) << "/ready did not recover within 5 s";
    // Every event-loop thread's pool recovers too (each probes on its own): within a second,
    // database-backed requests succeed whichever thread serves them.
    auto ready_at = Clock::now();
    int consecutive = 0;
    while (consecutive < 20 && Clock::now() - ready_at < 3s) {
        consecutive = status_of(server.port(), "/__test/db") == 200 ? consecutive + 1 : 0;
    }
    EXPECT_EQ(consecutive, 20);
    EXPECT_LT(Clock::now() - ready_at, 1500ms);
    EXPECT_TRUE(server.running());
}

TEST(Lifecycle, SigtermLetsFiftySlowRequestsFinishThenExitsZero) {
    TestDatabase db;
    ServerProcess server({{"DATABASE_URL", db.url()}, {"DB_POOL_SIZE", "25"}, {"SHUTDOWN_TIMEOUT_MS", "20000"}});
    constexpr int kRequests = 50;
    // All 50 database connections up first, so each slow request gets its own (pipelined requests
    // on one connection run one after another).
    bool pool_ready = false;
    for (auto start = Clock::now(); Clock::now() - start < 10s && !pool_ready;) {
        auto m = http_get(server.port(), "/metrics").body;
        auto pos = m.find("db_pool_connections{state=\"ready\"} ");
        if (pos != std::string::npos && std::atoi(m.c_str() + pos + 35) >= kRequests) pool_ready = true;
        else std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(pool_ready);
    std::vector<std::unique_ptr<Connection>> conns;
    for (int i = 0; i < kRequests; ++i) {
        conns.push_back(std::make_unique<Connection>(server.port(), 30s));
        ASSERT_TRUE(conns.back()->send(format_request(Request{"GET", "/__test/sleep?ms=1500", {}, {}})));
    }
    // Wait until all 50 are being handled (the metrics request itself is one more).
    bool all_in_flight = false;
    for (auto start = Clock::now(); Clock::now() - start < 5s && !all_in_flight;) {
        auto m = http_get(server.port(), "/metrics").body;
        auto pos = m.find("\nhttp_requests_in_flight ");
        if (pos != std::string::npos && std::atoi(m.c_str() + pos + 25) >= kRequests + 1) all_in_flight = true;
        else std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(all_in_flight);
    server.signal(SIGTERM);
    int ok = 0;
    for (auto& c : conns) {
        auto r = c->read_response();
        if (r && r->status == 200) ++ok;
        if (r) {
            EXPECT_EQ(r->header("Connection"), "close");
        }
    }
    EXPECT_EQ(ok, kRequests);
    auto code = server.wait_exit(25s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << server.log();
    EXPECT_NE(server.log().find("shutdown complete"), std::string::npos);
}

TEST(Lifecycle, SigtermClosesIdleKeepAliveConnectionsPromptly) {
    TestDatabase db;
    ServerProcess server({{"DATABASE_URL", db.url()}, {"IDLE_TIMEOUT_MS", "60000"}});
    Connection idle(server.port());
    idle.send(format_request(Request{"GET", "/health", {}, {}}));
    ASSERT_TRUE(idle.read_response().has_value());
    auto start = Clock::now();
    server.signal(SIGTERM);
    auto code = server.wait_exit(10s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0);
    EXPECT_LT(Clock::now() - start, 3s);
    EXPECT_TRUE(idle.closed_by_peer(1s));
}

TEST(Lifecycle, RestartsOnAHeldSocketDropNoRequestUnderLoad) {
    TestDatabase db;
    ServerProcess server({{"DATABASE_URL", db.url()}, {"ACCESS_LOG", "false"}});
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            // Bounded: stops when told, and never more than 60 s or 100,000 requests.
            auto deadline = Clock::now() + 60s;
            for (int i = 0; i < 100'000 && !stop && Clock::now() < deadline; ++i) {
                const char* target = (i + t) % 2 ? "/__test/db" : "/health";
                try {
                    auto r = http_get(server.port(), target);
                    if (r.status == 200) ++ok;
                    else ++failed;
                } catch (...) {
                    ++failed;
                }
            }
        });
    }
    std::this_thread::sleep_for(1s);
    for (int restart = 0; restart < 3; ++restart) {
        int before = ok.load();
        server.signal(SIGTERM);
        auto code = server.wait_exit(20s);
        ASSERT_TRUE(code.has_value());
        EXPECT_EQ(*code, 0);
        server.start();  // same listening socket; queued connections wait for the new process
        // Up before the next SIGTERM: a signal that arrives before the process installs its handler
        // kills it (143), which says nothing about draining (slow under the sanitizers).
        server.wait_healthy();
        std::this_thread::sleep_for(500ms);
        EXPECT_GT(ok.load(), before) << "no requests served after restart " << restart;
    }
    stop = true;
    for (auto& c : clients) c.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_GT(ok.load(), 200);
}

// Runs a shell command; returns its exit status and combined output.
std::pair<int, std::string> run_capturing(const std::string& cmd) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return {-1, "popen failed"};
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    int status = ::pclose(p);
    return {WEXITSTATUS(status), out};
}

TEST(Lifecycle, RefusesToStartInProductionWithInsecureDefaults) {
    // check-config is the same validation serve runs first.
    auto [code, out] = run_capturing("env FLASHBILL_ENV=production JWT_SECRET=short " + flashbill_binary() +
                                     " check-config");
    EXPECT_NE(code, 0);
    EXPECT_NE(out.find("JWT_SECRET"), std::string::npos) << out;
    EXPECT_NE(out.find("DATABASE_URL"), std::string::npos) << out;
}

TEST(Lifecycle, InvalidConfigurationStopsStartupNamingTheKey) {
    auto [code, out] = run_capturing("env PORT=notaport " + flashbill_binary() + " serve");
    EXPECT_EQ(code, 2);
    EXPECT_NE(out.find("PORT"), std::string::npos) << out;
}

}  // namespace
}  // namespace flashbill::test
