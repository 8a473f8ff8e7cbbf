#pragma once
// Configuration: environment variables plus an optional .env file, parsed once into an immutable
// Config. Every key is documented with its default in backend/.env.example; an invalid value is
// an error naming the key.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flashbill::config {

enum class Environment { kDevelopment, kTest, kProduction };

struct Config {
    Environment env = Environment::kDevelopment;

    // HTTP
    std::string host = "127.0.0.1";
    std::uint16_t port = 3000;
    int threads = 0;  // 0 = one per core
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_upload_bytes = 10 * 1024 * 1024;
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds write_timeout{30'000};
    std::chrono::milliseconds shutdown_timeout{25'000};
    std::size_t max_connections = 10'000;
    std::vector<std::string> cors_origins;
    bool trust_proxy = false;  // take the client address from X-Forwarded-For (behind nginx)

    // PostgreSQL
    std::string database_url = "postgresql://flashbill:flashbill@127.0.0.1:5432/flashbill";
    int db_pool_size = 4;  // connections per event-loop thread
    std::chrono::milliseconds db_statement_timeout{5'000};
    std::chrono::milliseconds db_connect_timeout{2'000};
    bool migrate_on_start = true;

    // Redis (optional)
    std::optional<std::string> redis_url;

    // Rate limits: `limit` requests per `period` (API.md §1 defaults).
    struct RateRule {
        int limit;
        std::chrono::seconds period;
    };
    RateRule rate_limit_auth{20, std::chrono::seconds(60)};     // per IP on /auth routes
    RateRule rate_limit_public{60, std::chrono::seconds(60)};   // per IP on /guest routes
    RateRule rate_limit_api{1200, std::chrono::seconds(60)};    // per user (per IP until signed in)
    RateRule rate_limit_login_failures{5, std::chrono::seconds(900)};  // failed logins per account
    RateRule rate_limit_auth_account{10, std::chrono::seconds(3600)};  // register/forgot/reset per account

    // Job worker
    int worker_concurrency = 2;
    std::chrono::seconds job_lease{60};
    std::chrono::milliseconds job_poll_interval{1000};
    std::chrono::milliseconds job_backoff_base{5000};
    std::chrono::milliseconds job_backoff_max{3'600'000};

    // Mail: SMTP when SMTP_URL is set, else .eml files in MAIL_OUTBOX_DIR (development).
    std::optional<std::string> smtp_url;
    std::string smtp_username;
    std::string smtp_password;
    std::string smtp_starttls = "opportunistic";  // none | opportunistic | required
    std::string smtp_ca_file;
    std::string mail_from = "no-reply@flashbill.localhost";
    std::string mail_from_name = "FlashBill";
    std::string mail_outbox_dir = "var/outbox";
    std::string mail_templates_dir;  // optional override of the built-in templates

    // Security
    std::string jwt_secret;
    // argon2id cost (OWASP minimum: 19 MiB, 2 passes, 1 lane) and the threads that hash off the
    // event loops.
    std::uint32_t argon2_memory_kib = 19 * 1024;
    std::uint32_t argon2_iterations = 2;
    std::uint32_t argon2_parallelism = 1;
    int password_hash_threads = 2;
    std::chrono::seconds refresh_token_ttl{30 * 24 * 3600};
    std::optional<std::string> metrics_token;

    // URLs and storage
    std::string app_url = "http://127.0.0.1:3000";
    std::string public_url = "http://127.0.0.1:3000";
    std::string upload_dir = "var/uploads";

    // Logging
    std::string log_level = "info";
    bool log_json = true;
    bool access_log = true;

    // Diagnostics routes under /__test (never in production): used by the test suite.
    bool test_routes = false;
};

using Env = std::map<std::string, std::string>;

// Reads KEY=VALUE lines (comments, blank lines, optional quotes, `export ` prefix). A missing file
// is not an error; a malformed line is, naming file and line.
Result<Env> read_env_file(const std::string& path);

// The process environment merged over `file_values` (the process environment wins).
Env merge_with_process_env(Env file_values);

// Validates and builds the Config. Errors carry one FieldError per offending key.
Result<Config> load(const Env& env);

// The documented keys, in .env.example order (used by check-config and by a test that keeps
// .env.example honest).
const std::vector<std::string>& known_keys();

std::string_view environment_name(Environment e);

}  // namespace flashbill::config
