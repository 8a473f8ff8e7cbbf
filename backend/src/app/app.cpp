#include "app/app.hpp"

#include <pthread.h>

#include <csignal>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "app/job_handlers.hpp"
#include "app/routes.hpp"
#include "auth/guard.hpp"
#include "auth/routes.hpp"
#include "core/log.hpp"
#include "db/migrator.hpp"
#include "domain/domain.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "redis/client.hpp"

#ifndef FLASHBILL_VERSION
#define FLASHBILL_VERSION "dev"
#endif

namespace flashbill::app {

namespace asio = boost::asio;

namespace {

void describe_metrics() {
    using metrics::Type;
    metrics::describe("http_requests_total", Type::kCounter, "HTTP requests by method, route and status.");
    metrics::describe("http_request_duration_seconds", Type::kHistogram, "HTTP request latency by route.");
    metrics::describe("http_requests_in_flight", Type::kGauge, "HTTP requests being handled.");
    metrics::describe("http_connections_open", Type::kGauge, "Open client connections.");
    metrics::describe("http_connections_rejected_total", Type::kCounter, "Connections refused at MAX_CONNECTIONS.");
    metrics::describe("db_pool_connections", Type::kGauge,
                      "PostgreSQL connections by state (ready includes in_transaction).");
    metrics::describe("db_queries_total", Type::kCounter, "Database request segments by outcome.");
    metrics::describe("db_connection_failures_total", Type::kCounter, "Established connections that failed.");
    metrics::describe("db_connect_failures_total", Type::kCounter, "Failed connection attempts.");
    metrics::describe("db_timeouts_total", Type::kCounter, "Connections discarded after missing a deadline.");
}

// Migrations at startup: the database may still be starting (systemd ordering, make run), so an
// unreachable database is retried for a while; any other failure stops startup.
bool migrate_with_retry(const config::Config& config) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        auto r = db::migrate(config.database_url);
        if (r) {
            spdlog::info("migrations: database at version {} (binary knows {}), applied {} now", r->current,
                         r->latest_known, r->applied_now.size());
            return true;
        }
        if (r.error().code != ErrorCode::kUnavailable || std::chrono::steady_clock::now() >= give_up) {
            spdlog::critical("migrations failed: {} ({})", r.error().message, r.error().cause);
            return false;
        }
        spdlog::warn("migrations: database not reachable yet ({}); retrying", r.error().cause);
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

}  // namespace

int worker(const config::Config& config) {
    log::init(config.log_level, config.log_json);
    // Block the stop signals in every thread (the worker's threads inherit the mask) and wait for
    // them here.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    metrics::register_process_collector(FLASHBILL_VERSION);
    if (config.migrate_on_start && !migrate_with_retry(config)) return 1;
    jobs::Registry registry = make_job_registry(config);
    jobs::Worker w(worker_settings(config), registry);
    w.start();
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("received signal {}; finishing running jobs", sig);
    w.stop();
    spdlog::info("worker stopped");
    spdlog::default_logger()->flush();
    return 0;
}

int migrate(const config::Config& config) {
    log::init(config.log_level, config.log_json);
    auto r = db::migrate(config.database_url);
    if (!r) {
        spdlog::critical("migrations failed: {} ({})", r.error().message, r.error().cause);
        return 1;
    }
    spdlog::info("migrations: database at version {}; applied {}", r->current, r->applied_now.size());
    return 0;
}

int serve(const config::Config& config, bool with_worker) {
    log::init(config.log_level, config.log_json);
    std::signal(SIGPIPE, SIG_IGN);
    describe_metrics();
    metrics::register_process_collector(FLASHBILL_VERSION);

    if (config.migrate_on_start && !migrate_with_retry(config)) return 1;

    try {
        auth::configure(config);
    } catch (const std::exception& e) {
        spdlog::critical("auth: {}", e.what());
        return 1;
    }
    http::Router router;
    add_ops_routes(router, config);
    auth::add_routes(router, config);
    domain::add_routes(router, config);
    if (config.test_routes) {
        spdlog::warn("TEST_ROUTES is on: diagnostic routes under /__test are served");
        add_test_routes(router, config);
    }
    (void)openapi_json();  // parse the embedded document now, not on the first request

    http::ServerOptions opt;
    opt.host = config.host;
    opt.port = config.port;
    opt.threads = config.threads;
    opt.max_header_bytes = config.max_header_bytes;
    opt.max_body_bytes = config.max_body_bytes;
    opt.max_connections = config.max_connections;
    opt.read_timeout = config.read_timeout;
    opt.idle_timeout = config.idle_timeout;
    opt.write_timeout = config.write_timeout;
    opt.shutdown_timeout = config.shutdown_timeout;
    opt.cors_origins = config.cors_origins;
    opt.trust_proxy = config.trust_proxy;
    opt.access_log = config.access_log;
    opt.inherited_fd = http::systemd_listen_fd();

    http::Server server(opt, router);
    try {
        server.listen();
    } catch (const std::exception& e) {
        spdlog::critical("cannot listen on {}:{}: {}", config.host, config.port, e.what());
        return 1;
    }
    spdlog::info("flashbill {} listening on {} ({} threads, {}, env {})", FLASHBILL_VERSION,
                 opt.inherited_fd ? std::string("an inherited socket")
                                  : config.host + ":" + std::to_string(server.port()),
                 server.thread_count(), "pipelined PostgreSQL", config::environment_name(config.env));

    db::PoolSettings pool_settings;
    pool_settings.url = config.database_url;
    pool_settings.size = config.db_pool_size;
    pool_settings.statement_timeout = config.db_statement_timeout;
    pool_settings.connect_timeout = config.db_connect_timeout;

    std::vector<std::unique_ptr<db::Pool>> pools(static_cast<std::size_t>(server.thread_count()));
    std::vector<std::unique_ptr<redis::Client>> redis_clients(static_cast<std::size_t>(server.thread_count()));
    std::optional<redis::Settings> redis_settings;
    if (config.redis_url) {
        auto parsed = redis::parse_url(*config.redis_url);
        if (!parsed) {
            spdlog::critical("REDIS_URL: {}", parsed.error().message);
            return 1;
        }
        redis_settings = *parsed;
    }
    asio::signal_set signals(server.context(0), SIGTERM, SIGINT);
    signals.async_wait([&server](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        spdlog::info("received signal {}", sig);
        server.shutdown();
    });

    // The worker runs beside the event loops on its own threads; it stops after the HTTP side has
    // drained, letting the jobs it is running finish.
    jobs::Registry registry = make_job_registry(config);
    std::unique_ptr<jobs::Worker> job_worker;
    if (with_worker) {
        job_worker = std::make_unique<jobs::Worker>(worker_settings(config), registry);
        job_worker->start();
    }

    bool clean = server.run(
        [&](int i) {
            auto& pool = pools[static_cast<std::size_t>(i)];
            pool = std::make_unique<db::Pool>(server.context(i), pool_settings);
            db::Pool::set_current(pool.get());
            pool->start();
            if (redis_settings) {
                auto& client = redis_clients[static_cast<std::size_t>(i)];
                client = std::make_unique<redis::Client>(server.context(i), *redis_settings);
                redis::Client::set_current(client.get());
                client->start();
            }
        },
        [&](int i) -> asio::awaitable<void> {
            co_await pools[static_cast<std::size_t>(i)]->close();
            if (auto& client = redis_clients[static_cast<std::size_t>(i)]) co_await client->close();
            if (i == 0) {
                boost::system::error_code ignored;
                signals.cancel(ignored);
            }
        });
    if (job_worker) job_worker->stop();
    spdlog::info(clean ? "shutdown complete" : "shutdown forced after the bound");
    spdlog::default_logger()->flush();
    log::flush_access_log();
    if (!clean) {
        // Loops were stopped with work pending; tearing down their objects is not safe.
        std::fflush(stdout);
        std::_Exit(1);
    }
    pools.clear();
    redis_clients.clear();
    return 0;
}

}  // namespace flashbill::app
