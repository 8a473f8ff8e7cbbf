#include "config/config.hpp"

#include <charconv>
#include <fstream>
#include <thread>

extern char** environ;

namespace flashbill::config {

namespace {

std::string trim(std::string_view s) {
    auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

// The text inside a quoted value: `"v"`, `'v'`, or either followed by an inline comment
// (`"v" # note` — without this the quotes would become part of the value).
std::optional<std::string> unquote(const std::string& value) {
    if (value.size() < 2 || (value.front() != '"' && value.front() != '\'')) return std::nullopt;
    auto close = value.find(value.front(), 1);
    if (close != std::string::npos) {
        std::string rest = trim(std::string_view(value).substr(close + 1));
        if (rest.empty() || rest.front() == '#') return value.substr(1, close - 1);
    }
    if (value.back() == value.front()) return value.substr(1, value.size() - 2);
    return std::nullopt;
}

class Reader {
public:
    explicit Reader(const Env& env) : env_(env) {}

    const std::string* raw(const std::string& key) {
        seen_.push_back(key);
        auto it = env_.find(key);
        if (it == env_.end() || it->second.empty()) return nullptr;
        return &it->second;
    }

    void fail(const std::string& key, std::string message) { errors_.push_back(FieldError{key, std::move(message)}); }

    void str(const std::string& key, std::string& out) {
        if (auto v = raw(key)) out = *v;
    }
    void opt_str(const std::string& key, std::optional<std::string>& out) {
        if (auto v = raw(key)) out = *v;
    }

    template <class Int>
    void integer(const std::string& key, Int& out, long long min, long long max) {
        auto v = raw(key);
        if (!v) return;
        long long n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || p != v->data() + v->size()) {
            fail(key, "must be an integer, got \"" + *v + "\"");
            return;
        }
        if (n < min || n > max) {
            fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + *v);
            return;
        }
        out = static_cast<Int>(n);
    }

    void millis(const std::string& key, std::chrono::milliseconds& out, long long min, long long max) {
        long long n = out.count();
        integer(key, n, min, max);
        out = std::chrono::milliseconds(n);
    }

    void boolean(const std::string& key, bool& out) {
        auto v = raw(key);
        if (!v) return;
        std::string s = *v;
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (s == "1" || s == "true" || s == "yes" || s == "on") {
            out = true;
        } else if (s == "0" || s == "false" || s == "no" || s == "off") {
            out = false;
        } else {
            fail(key, "must be true or false, got \"" + *v + "\"");
        }
    }

    std::vector<FieldError>& errors() { return errors_; }

private:
    const Env& env_;
    std::vector<std::string> seen_;
    std::vector<FieldError> errors_;
};

bool is_http_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }

}  // namespace

std::string_view environment_name(Environment e) {
    switch (e) {
        case Environment::kDevelopment: return "development";
        case Environment::kTest: return "test";
        case Environment::kProduction: return "production";
    }
    return "development";
}

const std::vector<std::string>& known_keys() {
    static const std::vector<std::string> keys = {
        "FLASHBILL_ENV",     "HOST",
        "PORT",              "THREADS",
        "MAX_HEADER_BYTES",  "MAX_BODY_BYTES",
        "MAX_UPLOAD_BYTES",  "READ_TIMEOUT_MS",
        "IDLE_TIMEOUT_MS",   "WRITE_TIMEOUT_MS",
        "SHUTDOWN_TIMEOUT_MS",
        "MAX_CONNECTIONS",   "CORS_ORIGINS",
        "TRUST_PROXY",       "DATABASE_URL",
        "DB_POOL_SIZE",      "DB_STATEMENT_TIMEOUT_MS",
        "DB_CONNECT_TIMEOUT_MS", "MIGRATE_ON_START",
        "REDIS_URL",         "RATE_LIMIT_AUTH",
        "RATE_LIMIT_PUBLIC", "RATE_LIMIT_API",
        "RATE_LIMIT_LOGIN_FAILURES", "RATE_LIMIT_AUTH_ACCOUNT",
        "WORKER_CONCURRENCY", "JOB_LEASE_SECONDS",
        "JOB_POLL_INTERVAL_MS", "JOB_BACKOFF_BASE_MS",
        "JOB_BACKOFF_MAX_MS", "SMTP_URL",
        "SMTP_USERNAME",     "SMTP_PASSWORD",
        "SMTP_STARTTLS",     "SMTP_CA_FILE",
        "MAIL_FROM",         "MAIL_FROM_NAME",
        "MAIL_OUTBOX_DIR",   "MAIL_TEMPLATES_DIR",
        "JWT_SECRET",        "ARGON2_MEMORY_KIB",
        "ARGON2_ITERATIONS", "ARGON2_PARALLELISM",
        "PASSWORD_HASH_THREADS", "REFRESH_TOKEN_TTL_DAYS",
        "METRICS_TOKEN",     "APP_URL",
        "PUBLIC_URL",        "UPLOAD_DIR",
        "LOG_LEVEL",         "LOG_FORMAT",
        "ACCESS_LOG",        "TEST_ROUTES",
    };
    return keys;
}

Result<Env> read_env_file(const std::string& path) {
    Env env;
    std::ifstream in(path);
    if (!in) return env;
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
        auto eq = t.find('=');
        if (eq == std::string::npos || eq == 0) {
            return Error{ErrorCode::kValidation, path + ":" + std::to_string(lineno) + ": expected KEY=VALUE", {}};
        }
        std::string key = trim(t.substr(0, eq));
        std::string value = trim(t.substr(eq + 1));
        if (auto quoted = unquote(value)) {
            value = std::move(*quoted);
        } else if (auto hash = value.find(" #"); hash != std::string::npos) {
            value = trim(value.substr(0, hash));
        }
        env[key] = value;
    }
    return env;
}

Env merge_with_process_env(Env env) {
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    return env;
}

Result<Config> load(const Env& env) {
    Config c;
    Reader r(env);

    if (auto v = r.raw("FLASHBILL_ENV")) {
        if (*v == "development") c.env = Environment::kDevelopment;
        else if (*v == "test") c.env = Environment::kTest;
        else if (*v == "production") c.env = Environment::kProduction;
        else r.fail("FLASHBILL_ENV", "must be development, test or production, got \"" + *v + "\"");
    }
    r.str("HOST", c.host);
    r.integer("PORT", c.port, 0, 65535);
    r.integer("THREADS", c.threads, 0, 256);
    r.integer("MAX_HEADER_BYTES", c.max_header_bytes, 1024, 1 << 20);
    r.integer("MAX_BODY_BYTES", c.max_body_bytes, 1024, 64LL << 20);
    r.integer("MAX_UPLOAD_BYTES", c.max_upload_bytes, 1024, 1LL << 30);
    r.millis("READ_TIMEOUT_MS", c.read_timeout, 100, 600'000);
    r.millis("IDLE_TIMEOUT_MS", c.idle_timeout, 100, 3'600'000);
    r.millis("WRITE_TIMEOUT_MS", c.write_timeout, 100, 600'000);
    r.millis("SHUTDOWN_TIMEOUT_MS", c.shutdown_timeout, 0, 600'000);
    r.integer("MAX_CONNECTIONS", c.max_connections, 1, 1'000'000);
    if (auto v = r.raw("CORS_ORIGINS")) {
        std::string_view s = *v;
        while (!s.empty()) {
            auto comma = s.find(',');
            std::string origin = trim(s.substr(0, comma));
            if (!origin.empty()) {
                if (origin != "*" && !is_http_url(origin)) {
                    r.fail("CORS_ORIGINS", "each origin must start with http:// or https://, got \"" + origin + "\"");
                }
                c.cors_origins.push_back(origin);
            }
            if (comma == std::string_view::npos) break;
            s.remove_prefix(comma + 1);
        }
    }
    r.boolean("TRUST_PROXY", c.trust_proxy);

    r.str("DATABASE_URL", c.database_url);
    if (c.database_url.rfind("postgres://", 0) != 0 && c.database_url.rfind("postgresql://", 0) != 0) {
        r.fail("DATABASE_URL", "must be a postgresql:// URL");
    }
    r.integer("DB_POOL_SIZE", c.db_pool_size, 1, 64);
    r.millis("DB_STATEMENT_TIMEOUT_MS", c.db_statement_timeout, 100, 600'000);
    r.millis("DB_CONNECT_TIMEOUT_MS", c.db_connect_timeout, 100, 60'000);
    r.boolean("MIGRATE_ON_START", c.migrate_on_start);

    r.opt_str("REDIS_URL", c.redis_url);
    if (c.redis_url && c.redis_url->rfind("redis://", 0) != 0 && c.redis_url->rfind("rediss://", 0) != 0 &&
        c.redis_url->rfind("unix://", 0) != 0) {
        r.fail("REDIS_URL", "must be a redis://, rediss:// or unix:// URL");
    }

    auto rate = [&](const std::string& key, Config::RateRule& out) {
        auto v = r.raw(key);
        if (!v) return;
        // "N/period": 20/min, 5/15min, 1200/60s, 100/hour.
        auto slash = v->find('/');
        int n = 0;
        long long mult = 0, count = 1;
        bool ok = slash != std::string::npos && slash > 0;
        if (ok) {
            auto [p, ec] = std::from_chars(v->data(), v->data() + slash, n);
            ok = ec == std::errc() && p == v->data() + slash && n > 0;
        }
        if (ok) {
            std::string_view per = std::string_view(*v).substr(slash + 1);
            std::size_t digits = 0;
            while (digits < per.size() && per[digits] >= '0' && per[digits] <= '9') ++digits;
            if (digits > 0) {
                auto [p, ec] = std::from_chars(per.data(), per.data() + digits, count);
                ok = ec == std::errc() && count > 0;
            }
            std::string_view unit = per.substr(digits);
            if (unit == "s" || unit == "sec") mult = 1;
            else if (unit == "m" || unit == "min") mult = 60;
            else if (unit == "h" || unit == "hour") mult = 3600;
            else ok = false;
        }
        if (!ok || count * mult > 86'400) {
            r.fail(key, "must look like 20/min, 5/15min, 1200/60s or 100/hour (at most a day), got \"" + *v + "\"");
            return;
        }
        out = Config::RateRule{n, std::chrono::seconds(count * mult)};
    };
    rate("RATE_LIMIT_AUTH", c.rate_limit_auth);
    rate("RATE_LIMIT_PUBLIC", c.rate_limit_public);
    rate("RATE_LIMIT_API", c.rate_limit_api);
    rate("RATE_LIMIT_LOGIN_FAILURES", c.rate_limit_login_failures);
    rate("RATE_LIMIT_AUTH_ACCOUNT", c.rate_limit_auth_account);

    r.integer("WORKER_CONCURRENCY", c.worker_concurrency, 1, 64);
    {
        long long lease = c.job_lease.count();
        r.integer("JOB_LEASE_SECONDS", lease, 1, 86'400);
        c.job_lease = std::chrono::seconds(lease);
    }
    r.millis("JOB_POLL_INTERVAL_MS", c.job_poll_interval, 10, 600'000);
    r.millis("JOB_BACKOFF_BASE_MS", c.job_backoff_base, 1, 3'600'000);
    r.millis("JOB_BACKOFF_MAX_MS", c.job_backoff_max, 1, 86'400'000);
    if (c.job_backoff_max < c.job_backoff_base) r.fail("JOB_BACKOFF_MAX_MS", "must not be below JOB_BACKOFF_BASE_MS");

    r.opt_str("SMTP_URL", c.smtp_url);
    if (c.smtp_url && c.smtp_url->rfind("smtp://", 0) != 0 && c.smtp_url->rfind("smtps://", 0) != 0) {
        r.fail("SMTP_URL", "must be an smtp:// (plain or STARTTLS) or smtps:// (implicit TLS) URL");
    }
    r.str("SMTP_USERNAME", c.smtp_username);
    r.str("SMTP_PASSWORD", c.smtp_password);
    r.str("SMTP_STARTTLS", c.smtp_starttls);
    if (c.smtp_starttls != "none" && c.smtp_starttls != "opportunistic" && c.smtp_starttls != "required") {
        r.fail("SMTP_STARTTLS", "must be none, opportunistic or required");
    }
    r.str("SMTP_CA_FILE", c.smtp_ca_file);
    r.str("MAIL_FROM", c.mail_from);
    if (c.mail_from.find('@') == std::string::npos || c.mail_from.find_first_of(" <>\r\n") != std::string::npos) {
        r.fail("MAIL_FROM", "must be a bare address like billing@example.com");
    }
    r.str("MAIL_FROM_NAME", c.mail_from_name);
    r.str("MAIL_OUTBOX_DIR", c.mail_outbox_dir);
    r.str("MAIL_TEMPLATES_DIR", c.mail_templates_dir);

    r.str("JWT_SECRET", c.jwt_secret);
    // Below 19 MiB or 2 passes argon2id falls short of OWASP's minimum; above 1 GiB a login would
    // exhaust memory long before CPU.
    r.integer("ARGON2_MEMORY_KIB", c.argon2_memory_kib, 19 * 1024, 1024 * 1024);
    r.integer("ARGON2_ITERATIONS", c.argon2_iterations, 2, 64);
    r.integer("ARGON2_PARALLELISM", c.argon2_parallelism, 1, 16);
    r.integer("PASSWORD_HASH_THREADS", c.password_hash_threads, 1, 64);
    {
        long long days = c.refresh_token_ttl.count() / 86'400;
        r.integer("REFRESH_TOKEN_TTL_DAYS", days, 1, 365);
        c.refresh_token_ttl = std::chrono::seconds(days * 86'400);
    }
    r.opt_str("METRICS_TOKEN", c.metrics_token);
    r.str("APP_URL", c.app_url);
    if (!is_http_url(c.app_url)) r.fail("APP_URL", "must start with http:// or https://");
    r.str("PUBLIC_URL", c.public_url);
    if (!is_http_url(c.public_url)) r.fail("PUBLIC_URL", "must start with http:// or https://");
    r.str("UPLOAD_DIR", c.upload_dir);

    r.str("LOG_LEVEL", c.log_level);
    if (c.log_level != "trace" && c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
        c.log_level != "error") {
        r.fail("LOG_LEVEL", "must be one of trace, debug, info, warn, error");
    }
    if (auto v = r.raw("LOG_FORMAT")) {
        if (*v == "json") c.log_json = true;
        else if (*v == "text") c.log_json = false;
        else r.fail("LOG_FORMAT", "must be json or text");
    }
    r.boolean("ACCESS_LOG", c.access_log);
    r.boolean("TEST_ROUTES", c.test_routes);

    if (c.env == Environment::kProduction) {
        if (c.jwt_secret.size() < 32) {
            r.fail("JWT_SECRET", "production requires a secret of at least 32 characters (e.g. openssl rand -hex 32)");
        }
        if (c.database_url.find(":flashbill@") != std::string::npos ||
            c.database_url.find(":postgres@") != std::string::npos ||
            c.database_url.find(":password@") != std::string::npos) {
            r.fail("DATABASE_URL", "production refuses the default database password");
        }
        if (c.test_routes) r.fail("TEST_ROUTES", "diagnostic routes cannot be enabled in production");
    } else if (c.jwt_secret.empty()) {
        // Development and tests get a fixed, clearly non-secret default so `make run` needs nothing.
        c.jwt_secret = "development-only-jwt-secret-change-me-0123456789";
    }
    if (c.threads == 0) {
        unsigned n = std::thread::hardware_concurrency();
        c.threads = n == 0 ? 1 : static_cast<int>(n);
    }

    if (!r.errors().empty()) {
        Error e{ErrorCode::kValidation, "invalid configuration", std::move(r.errors())};
        return e;
    }
    return c;
}

}  // namespace flashbill::config
