// Configuration: defaults, one FieldError per invalid key, production's refusals, the .env reader,
// the process environment's precedence, and backend/.env.example documenting exactly known_keys().

#include "config/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#ifndef FLASHBILL_SOURCE_DIR
#error "FLASHBILL_SOURCE_DIR must name the backend source directory (tests/CMakeLists.txt)"
#endif

namespace flashbill {
namespace {

using config::Config;
using config::Env;
using config::Environment;

const std::string kStrongSecret(32, 'k');
const std::string kProdDb = "postgresql://flashbill:Zr7-not-a-default@db.internal:5432/flashbill";

Config load_ok(const Env& env) {
    auto r = config::load(env);
    if (!r.ok()) {
        std::string all;
        for (const auto& d : r.error().details) all += d.field + ": " + d.message + "; ";
        ADD_FAILURE() << "expected a valid configuration, got: " << all;
        return Config{};
    }
    return std::move(r).value();
}

std::vector<std::string> error_fields(const Env& env) {
    auto r = config::load(env);
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code, ErrorCode::kValidation);
    std::vector<std::string> fields;
    for (const auto& d : r.error().details) {
        EXPECT_FALSE(d.message.empty()) << d.field;
        fields.push_back(d.field);
    }
    return fields;
}

Env production(Env extra = {}) {
    Env env = {{"FLASHBILL_ENV", "production"}, {"JWT_SECRET", kStrongSecret}, {"DATABASE_URL", kProdDb}};
    for (auto& [k, v] : extra) env[k] = v;
    return env;
}

// --- defaults ----------------------------------------------------------------------------------

TEST(ConfigLoad, EmptyEnvironmentGivesDocumentedDefaults) {
    Config c = load_ok({});
    const Config d;
    EXPECT_EQ(c.env, Environment::kDevelopment);
    EXPECT_EQ(c.host, "127.0.0.1");
    EXPECT_EQ(c.port, 3000);
    EXPECT_EQ(c.max_header_bytes, 16u * 1024);
    EXPECT_EQ(c.max_body_bytes, 1024u * 1024);
    EXPECT_EQ(c.max_upload_bytes, 10u * 1024 * 1024);
    EXPECT_EQ(c.read_timeout, d.read_timeout);
    EXPECT_EQ(c.idle_timeout, d.idle_timeout);
    EXPECT_EQ(c.write_timeout, d.write_timeout);
    EXPECT_EQ(c.shutdown_timeout, d.shutdown_timeout);
    EXPECT_EQ(c.max_connections, d.max_connections);
    EXPECT_TRUE(c.cors_origins.empty());
    EXPECT_FALSE(c.trust_proxy);
    EXPECT_EQ(c.database_url, "postgresql://flashbill:flashbill@127.0.0.1:5432/flashbill");
    EXPECT_EQ(c.db_pool_size, 4);
    EXPECT_TRUE(c.migrate_on_start);
    EXPECT_FALSE(c.redis_url.has_value());
    EXPECT_FALSE(c.metrics_token.has_value());
    EXPECT_EQ(c.log_level, "info");
    EXPECT_TRUE(c.log_json);
    EXPECT_TRUE(c.access_log);
    EXPECT_FALSE(c.test_routes);
}

TEST(ConfigLoad, ZeroThreadsMeansOnePerCore) {
    Config c = load_ok({{"THREADS", "0"}});
    unsigned cores = std::thread::hardware_concurrency();
    EXPECT_EQ(c.threads, cores == 0 ? 1 : static_cast<int>(cores));
    EXPECT_EQ(load_ok({{"THREADS", "3"}}).threads, 3);
}

TEST(ConfigLoad, DevelopmentAndTestGetADefaultJwtSecret) {
    Config dev = load_ok({});
    EXPECT_GE(dev.jwt_secret.size(), 32u);
    Config test = load_ok({{"FLASHBILL_ENV", "test"}});
    EXPECT_EQ(test.env, Environment::kTest);
    EXPECT_EQ(test.jwt_secret, dev.jwt_secret);
    // An explicit secret is kept as given.
    EXPECT_EQ(load_ok({{"JWT_SECRET", "mine"}}).jwt_secret, "mine");
}

TEST(ConfigLoad, EmptyValueMeansDefault) {
    Config c = load_ok({{"PORT", ""}, {"LOG_LEVEL", ""}, {"TRUST_PROXY", ""}, {"REDIS_URL", ""}});
    EXPECT_EQ(c.port, 3000);
    EXPECT_EQ(c.log_level, "info");
    EXPECT_FALSE(c.trust_proxy);
    EXPECT_FALSE(c.redis_url.has_value());
}

TEST(ConfigLoad, ParsesValidValues) {
    Config c = load_ok({
        {"FLASHBILL_ENV", "test"},
        {"HOST", "0.0.0.0"},
        {"PORT", "65535"},
        {"MAX_BODY_BYTES", "2048"},
        {"READ_TIMEOUT_MS", "1500"},
        {"SHUTDOWN_TIMEOUT_MS", "0"},
        {"CORS_ORIGINS", " https://app.example.com , http://localhost:5173,,* "},
        {"DATABASE_URL", "postgres://u:p@h/db"},
        {"DB_POOL_SIZE", "64"},
        {"REDIS_URL", "redis://127.0.0.1:6379/0"},
        {"METRICS_TOKEN", "tok"},
        {"APP_URL", "https://app.example.com"},
        {"LOG_LEVEL", "debug"},
        {"LOG_FORMAT", "text"},
    });
    EXPECT_EQ(c.env, Environment::kTest);
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 65535);
    EXPECT_EQ(c.max_body_bytes, 2048u);
    EXPECT_EQ(c.read_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(c.shutdown_timeout, std::chrono::milliseconds(0));
    EXPECT_EQ(c.cors_origins, (std::vector<std::string>{"https://app.example.com", "http://localhost:5173", "*"}));
    EXPECT_EQ(c.database_url, "postgres://u:p@h/db");
    EXPECT_EQ(c.db_pool_size, 64);
    EXPECT_EQ(c.redis_url, std::optional<std::string>("redis://127.0.0.1:6379/0"));
    EXPECT_EQ(c.metrics_token, std::optional<std::string>("tok"));
    EXPECT_EQ(c.app_url, "https://app.example.com");
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_FALSE(c.log_json);
}

TEST(ConfigLoad, AcceptsTheUsualBooleanSpellings) {
    for (const char* yes : {"1", "true", "TRUE", "True", "yes", "on", "ON"}) {
        EXPECT_TRUE(load_ok({{"TRUST_PROXY", yes}}).trust_proxy) << yes;
    }
    for (const char* no : {"0", "false", "FALSE", "no", "No", "off"}) {
        EXPECT_FALSE(load_ok({{"ACCESS_LOG", no}}).access_log) << no;
        EXPECT_FALSE(load_ok({{"MIGRATE_ON_START", no}}).migrate_on_start) << no;
    }
}

// --- invalid values ----------------------------------------------------------------------------

struct InvalidCase {
    const char* key;
    const char* value;
};

class ConfigInvalidValue : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ConfigInvalidValue, YieldsOneFieldErrorNamingTheKey) {
    const auto& p = GetParam();
    auto r = config::load({{p.key, p.value}});
    ASSERT_FALSE(r.ok()) << p.key << "=" << p.value << " was accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kValidation);
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_EQ(r.error().details[0].field, p.key);
    EXPECT_FALSE(r.error().details[0].message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    EachKey, ConfigInvalidValue,
    ::testing::Values(InvalidCase{"PORT", "abc"}, InvalidCase{"PORT", "70000"}, InvalidCase{"PORT", "65536"},
                      InvalidCase{"PORT", "-1"}, InvalidCase{"PORT", "3000x"}, InvalidCase{"PORT", " 3000"},
                      InvalidCase{"PORT", "3e3"}, InvalidCase{"THREADS", "257"}, InvalidCase{"THREADS", "-1"},
                      InvalidCase{"MAX_HEADER_BYTES", "10"}, InvalidCase{"MAX_BODY_BYTES", "1e6"},
                      InvalidCase{"MAX_UPLOAD_BYTES", "99999999999999999999999"}, InvalidCase{"READ_TIMEOUT_MS", "50"},
                      InvalidCase{"IDLE_TIMEOUT_MS", "10s"}, InvalidCase{"SHUTDOWN_TIMEOUT_MS", "-5"},
                      InvalidCase{"MAX_CONNECTIONS", "0"}, InvalidCase{"DB_POOL_SIZE", "0"},
                      InvalidCase{"DB_POOL_SIZE", "65"}, InvalidCase{"DB_STATEMENT_TIMEOUT_MS", "abc"},
                      InvalidCase{"DB_CONNECT_TIMEOUT_MS", "60001"}, InvalidCase{"LOG_LEVEL", "loud"},
                      InvalidCase{"LOG_FORMAT", "xml"}, InvalidCase{"FLASHBILL_ENV", "staging"},
                      InvalidCase{"FLASHBILL_ENV", "Production"},
                      InvalidCase{"DATABASE_URL", "mysql://flashbill:flashbill@127.0.0.1/flashbill"},
                      InvalidCase{"DATABASE_URL", "127.0.0.1:5432"}, InvalidCase{"CORS_ORIGINS", "ftp://x"},
                      InvalidCase{"CORS_ORIGINS", "https://ok.example.com, app.example.com"},
                      InvalidCase{"REDIS_URL", "http://127.0.0.1:6379"}, InvalidCase{"APP_URL", "app.example.com"},
                      InvalidCase{"PUBLIC_URL", "ftp://example.com"}, InvalidCase{"TRUST_PROXY", "maybe"},
                      InvalidCase{"MIGRATE_ON_START", "2"}, InvalidCase{"ACCESS_LOG", "y"},
                      InvalidCase{"TEST_ROUTES", "enabled"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
        return std::string(info.param.key) + "_" + std::to_string(info.index);
    });

TEST(ConfigLoad, ReportsEveryInvalidKeyAtOnce) {
    auto fields = error_fields({{"PORT", "abc"},
                                {"LOG_LEVEL", "loud"},
                                {"FLASHBILL_ENV", "staging"},
                                {"DATABASE_URL", "mysql://x"},
                                {"TRUST_PROXY", "maybe"},
                                {"HOST", "0.0.0.0"}});
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"DATABASE_URL", "FLASHBILL_ENV", "LOG_LEVEL", "PORT", "TRUST_PROXY"}));
}

TEST(ConfigLoad, InvalidValueMessageQuotesTheValue) {
    auto r = config::load({{"PORT", "abc"}});
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.error().details.size(), 1u);
    EXPECT_NE(r.error().details[0].message.find("abc"), std::string::npos) << r.error().details[0].message;
}

// --- production --------------------------------------------------------------------------------

TEST(ConfigProduction, AcceptsASecureConfiguration) {
    Config c = load_ok(production());
    EXPECT_EQ(c.env, Environment::kProduction);
    EXPECT_EQ(c.jwt_secret, kStrongSecret);
    EXPECT_EQ(c.database_url, kProdDb);
}

TEST(ConfigProduction, RefusesMissingJwtSecret) {
    Env env = production();
    env.erase("JWT_SECRET");
    EXPECT_EQ(error_fields(env), std::vector<std::string>{"JWT_SECRET"});
    env["JWT_SECRET"] = "";
    EXPECT_EQ(error_fields(env), std::vector<std::string>{"JWT_SECRET"});
}

TEST(ConfigProduction, RefusesJwtSecretShorterThan32Characters) {
    EXPECT_EQ(error_fields(production({{"JWT_SECRET", std::string(31, 'k')}})), std::vector<std::string>{"JWT_SECRET"});
    EXPECT_TRUE(config::load(production({{"JWT_SECRET", std::string(32, 'k')}})).ok());
}

TEST(ConfigProduction, NeverFallsBackToTheDevelopmentSecret) {
    Env env = production();
    env.erase("JWT_SECRET");
    auto r = config::load(env);
    ASSERT_FALSE(r.ok());
    // And the development default itself is not what production runs with when given a secret.
    EXPECT_NE(load_ok(production()).jwt_secret, load_ok({}).jwt_secret);
}

TEST(ConfigProduction, RefusesDefaultDatabasePasswords) {
    for (const char* url : {"postgresql://flashbill:flashbill@db:5432/flashbill",
                            "postgres://postgres:postgres@db/flashbill", "postgresql://app:password@db/flashbill"}) {
        EXPECT_EQ(error_fields(production({{"DATABASE_URL", url}})), std::vector<std::string>{"DATABASE_URL"}) << url;
    }
    // The built-in default URL (no DATABASE_URL at all) carries a default password too.
    Env env = production();
    env.erase("DATABASE_URL");
    EXPECT_EQ(error_fields(env), std::vector<std::string>{"DATABASE_URL"});
}

TEST(ConfigProduction, RefusesTestRoutes) {
    EXPECT_EQ(error_fields(production({{"TEST_ROUTES", "true"}})), std::vector<std::string>{"TEST_ROUTES"});
    EXPECT_TRUE(config::load(production({{"TEST_ROUTES", "false"}})).ok());
    // Outside production they are allowed.
    EXPECT_TRUE(load_ok({{"FLASHBILL_ENV", "test"}, {"TEST_ROUTES", "true"}}).test_routes);
}

TEST(ConfigProduction, ReportsAllInsecureSettingsTogether) {
    auto fields = error_fields({{"FLASHBILL_ENV", "production"}, {"TEST_ROUTES", "1"}});
    std::sort(fields.begin(), fields.end());
    EXPECT_EQ(fields, (std::vector<std::string>{"DATABASE_URL", "JWT_SECRET", "TEST_ROUTES"}));
}

// --- .env files --------------------------------------------------------------------------------

class EnvFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (std::filesystem::temp_directory_path() / "flashbill-config-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string write(const std::string& content) {
        std::string path = (dir_ / ".env").string();
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
        return path;
    }
    Env read_ok(const std::string& content) {
        auto r = config::read_env_file(write(content));
        if (!r.ok()) {
            ADD_FAILURE() << r.error().message;
            return {};
        }
        return std::move(r).value();
    }

    std::filesystem::path dir_;
};

TEST_F(EnvFileTest, ReadsKeyValueLinesSkippingCommentsAndBlankLines) {
    Env env = read_ok(
        "# a comment\n"
        "\n"
        "   \n"
        "PORT=8080\n"
        "  # indented comment\n"
        "HOST = 0.0.0.0 \n"
        "EMPTY=\n");
    EXPECT_EQ(env, (Env{{"PORT", "8080"}, {"HOST", "0.0.0.0"}, {"EMPTY", ""}}));
}

TEST_F(EnvFileTest, AcceptsExportPrefix) {
    EXPECT_EQ(read_ok("export PORT=1\nexport   HOST=h\n"), (Env{{"PORT", "1"}, {"HOST", "h"}}));
}

TEST_F(EnvFileTest, StripsMatchingQuotes) {
    Env env = read_ok(
        "A=\"double quoted\"\n"
        "B='single quoted'\n"
        "C=\"has # hash\"\n"
        "D=\"\"\n"
        "E=\"mismatched'\n");
    EXPECT_EQ(env["A"], "double quoted");
    EXPECT_EQ(env["B"], "single quoted");
    EXPECT_EQ(env["C"], "has # hash");
    EXPECT_EQ(env["D"], "");
    EXPECT_EQ(env["E"], "\"mismatched'");
}

TEST_F(EnvFileTest, StripsInlineCommentsAfterSpaceHash) {
    Env env = read_ok(
        "PORT=8080 # the port\n"
        "TOKEN=abc#def\n"
        "LOG_LEVEL=warn    #   several spaces\n");
    EXPECT_EQ(env["PORT"], "8080");
    EXPECT_EQ(env["TOKEN"], "abc#def");  // a hash inside a value is data
    EXPECT_EQ(env["LOG_LEVEL"], "warn");
}

TEST_F(EnvFileTest, StripsInlineCommentAfterQuotedValue) {
    Env env = read_ok(
        "JWT_SECRET=\"s3cret with spaces\" # rotate yearly\n"
        "APP_URL='https://app.example.com' # public address\n");
    EXPECT_EQ(env["JWT_SECRET"], "s3cret with spaces");
    EXPECT_EQ(env["APP_URL"], "https://app.example.com");
}

TEST_F(EnvFileTest, KeepsEqualsSignsInValues) {
    EXPECT_EQ(read_ok("DATABASE_URL=postgresql://u:p@h/db?sslmode=require&a=b\n")["DATABASE_URL"],
              "postgresql://u:p@h/db?sslmode=require&a=b");
}

TEST_F(EnvFileTest, ToleratesCrlfAndAMissingFinalNewline) {
    EXPECT_EQ(read_ok("PORT=1\r\nHOST=h\r\nLOG_LEVEL=warn"),
              (Env{{"PORT", "1"}, {"HOST", "h"}, {"LOG_LEVEL", "warn"}}));
}

TEST_F(EnvFileTest, LaterLinesOverrideEarlierOnes) { EXPECT_EQ(read_ok("PORT=1\nPORT=2\n")["PORT"], "2"); }

TEST_F(EnvFileTest, ReportsAMalformedLineWithFileAndLine) {
    std::string path = write("# header\nPORT=1\n\nthis line has no equals sign\nHOST=h\n");
    auto r = config::read_env_file(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kValidation);
    EXPECT_NE(r.error().message.find(path + ":4"), std::string::npos) << r.error().message;
}

TEST_F(EnvFileTest, ReportsALineWithAnEmptyKey) {
    std::string path = write("PORT=1\n=value\n");
    auto r = config::read_env_file(path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(path + ":2"), std::string::npos) << r.error().message;
}

TEST_F(EnvFileTest, MissingFileIsEmpty) {
    auto r = config::read_env_file((dir_ / "does-not-exist.env").string());
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.value().empty());
}

TEST_F(EnvFileTest, NamedFileThatIsMissingIsAnError) {
    auto missing = config::read_env_file((dir_ / "does-not-exist.env").string(), true);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("does-not-exist.env"), std::string::npos);
}

// --- process environment -----------------------------------------------------------------------

// Sets a process variable for one test and restores the previous state afterwards.
class ScopedEnvVar {
public:
    ScopedEnvVar(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = std::string(old);
        ::setenv(name, value, 1);
    }
    ~ScopedEnvVar() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }
    ScopedEnvVar(const ScopedEnvVar&) = delete;
    ScopedEnvVar& operator=(const ScopedEnvVar&) = delete;

private:
    std::string name_;
    std::optional<std::string> old_;
};

TEST(ConfigProcessEnv, ProcessEnvironmentOverridesFileValues) {
    ScopedEnvVar var("FLASHBILL_UNIT_TEST_MERGE_KEY", "from-process");
    ::unsetenv("FLASHBILL_UNIT_TEST_FILE_ONLY");
    Env merged = config::merge_with_process_env(
        {{"FLASHBILL_UNIT_TEST_MERGE_KEY", "from-file"}, {"FLASHBILL_UNIT_TEST_FILE_ONLY", "kept"}});
    EXPECT_EQ(merged["FLASHBILL_UNIT_TEST_MERGE_KEY"], "from-process");
    EXPECT_EQ(merged["FLASHBILL_UNIT_TEST_FILE_ONLY"], "kept");
}

TEST(ConfigProcessEnv, ProcessOnlyVariablesAreIncluded) {
    ScopedEnvVar var("FLASHBILL_UNIT_TEST_PROCESS_ONLY", "a=b=c");
    Env merged = config::merge_with_process_env({});
    EXPECT_EQ(merged["FLASHBILL_UNIT_TEST_PROCESS_ONLY"], "a=b=c");
}

TEST(ConfigProcessEnv, UnsetVariablesDoNotOverride) {
    ::setenv("FLASHBILL_UNIT_TEST_TRANSIENT", "x", 1);
    ::unsetenv("FLASHBILL_UNIT_TEST_TRANSIENT");
    ASSERT_EQ(::getenv("FLASHBILL_UNIT_TEST_TRANSIENT"), nullptr);
    Env merged = config::merge_with_process_env({{"FLASHBILL_UNIT_TEST_TRANSIENT", "file"}});
    EXPECT_EQ(merged["FLASHBILL_UNIT_TEST_TRANSIENT"], "file");
}

// --- .env.example ------------------------------------------------------------------------------

const std::string kEnvExample = std::string(FLASHBILL_SOURCE_DIR) + "/.env.example";

// Keys documented as `KEY=` at the start of a line, in file order.
std::vector<std::string> documented_keys() {
    std::ifstream in(kEnvExample);
    EXPECT_TRUE(in) << "cannot open " << kEnvExample;
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(in, line)) {
        std::size_t n = 0;
        while (n < line.size() && (std::isupper(static_cast<unsigned char>(line[n])) ||
                                   std::isdigit(static_cast<unsigned char>(line[n])) || line[n] == '_')) {
            ++n;
        }
        if (n > 0 && n < line.size() && line[n] == '=') keys.push_back(line.substr(0, n));
    }
    return keys;
}

TEST(ConfigEnvExample, DocumentsExactlyTheKnownKeys) {
    std::vector<std::string> documented = documented_keys();
    const auto& known = config::known_keys();
    std::set<std::string> doc_set(documented.begin(), documented.end());
    std::set<std::string> known_set(known.begin(), known.end());
    EXPECT_EQ(doc_set.size(), documented.size()) << ".env.example documents a key twice";
    EXPECT_EQ(known_set.size(), known.size()) << "known_keys() lists a key twice";
    for (const auto& k : known_set) EXPECT_TRUE(doc_set.count(k)) << k << " is not documented in .env.example";
    for (const auto& k : doc_set) EXPECT_TRUE(known_set.count(k)) << k << " is documented but not in known_keys()";
}

TEST(ConfigEnvExample, ListsKeysInKnownKeysOrder) { EXPECT_EQ(documented_keys(), config::known_keys()); }

TEST(ConfigEnvExample, ParsesAndLoadsToTheBuiltInDefaults) {
    auto file = config::read_env_file(kEnvExample);
    ASSERT_TRUE(file.ok()) << file.error().message;
    ASSERT_FALSE(file.value().empty());
    Config fromfile = load_ok(file.value());
    Config builtin = load_ok({});
    EXPECT_EQ(fromfile.env, builtin.env);
    EXPECT_EQ(fromfile.host, builtin.host);
    EXPECT_EQ(fromfile.port, builtin.port);
    EXPECT_EQ(fromfile.threads, builtin.threads);
    EXPECT_EQ(fromfile.max_header_bytes, builtin.max_header_bytes);
    EXPECT_EQ(fromfile.max_body_bytes, builtin.max_body_bytes);
    EXPECT_EQ(fromfile.max_upload_bytes, builtin.max_upload_bytes);
    EXPECT_EQ(fromfile.read_timeout, builtin.read_timeout);
    EXPECT_EQ(fromfile.idle_timeout, builtin.idle_timeout);
    EXPECT_EQ(fromfile.write_timeout, builtin.write_timeout);
    EXPECT_EQ(fromfile.shutdown_timeout, builtin.shutdown_timeout);
    EXPECT_EQ(fromfile.max_connections, builtin.max_connections);
    EXPECT_EQ(fromfile.cors_origins, builtin.cors_origins);
    EXPECT_EQ(fromfile.trust_proxy, builtin.trust_proxy);
    EXPECT_EQ(fromfile.database_url, builtin.database_url);
    EXPECT_EQ(fromfile.db_pool_size, builtin.db_pool_size);
    EXPECT_EQ(fromfile.db_statement_timeout, builtin.db_statement_timeout);
    EXPECT_EQ(fromfile.db_connect_timeout, builtin.db_connect_timeout);
    EXPECT_EQ(fromfile.migrate_on_start, builtin.migrate_on_start);
    EXPECT_EQ(fromfile.redis_url, builtin.redis_url);
    EXPECT_EQ(fromfile.jwt_secret, builtin.jwt_secret);
    EXPECT_EQ(fromfile.metrics_token, builtin.metrics_token);
    EXPECT_EQ(fromfile.app_url, builtin.app_url);
    EXPECT_EQ(fromfile.public_url, builtin.public_url);
    EXPECT_EQ(fromfile.upload_dir, builtin.upload_dir);
    EXPECT_EQ(fromfile.log_level, builtin.log_level);
    EXPECT_EQ(fromfile.log_json, builtin.log_json);
    EXPECT_EQ(fromfile.access_log, builtin.access_log);
    EXPECT_EQ(fromfile.test_routes, builtin.test_routes);
}

TEST(ConfigEnvironmentName, NamesEachEnvironment) {
    EXPECT_EQ(config::environment_name(Environment::kDevelopment), "development");
    EXPECT_EQ(config::environment_name(Environment::kTest), "test");
    EXPECT_EQ(config::environment_name(Environment::kProduction), "production");
}

}  // namespace
}  // namespace flashbill

namespace flashbill::config {
namespace {

TEST(ConfigRateLimits, ParsesCountPerPeriod) {
    auto c = load({{"RATE_LIMIT_AUTH", "5/15min"}, {"RATE_LIMIT_PUBLIC", "100/hour"}, {"RATE_LIMIT_API", "1200/60s"}});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->rate_limit_auth.limit, 5);
    EXPECT_EQ(c->rate_limit_auth.period, std::chrono::seconds(900));
    EXPECT_EQ(c->rate_limit_public.period, std::chrono::seconds(3600));
    EXPECT_EQ(c->rate_limit_api.limit, 1200);
    EXPECT_EQ(c->rate_limit_api.period, std::chrono::seconds(60));
}

TEST(ConfigRateLimits, RejectsMalformedRulesNamingTheKey) {
    for (const char* bad : {"20", "0/min", "-1/min", "20/fortnight", "/min", "20/0s", "20/2days", "x/min", "20/25h"}) {
        SCOPED_TRACE(bad);
        auto c = load({{"RATE_LIMIT_API", bad}});
        ASSERT_FALSE(c.ok());
        ASSERT_EQ(c.error().details.size(), 1u);
        EXPECT_EQ(c.error().details[0].field, "RATE_LIMIT_API");
    }
}

TEST(ConfigMail, ValidatesSmtpSettings) {
    EXPECT_TRUE(load({{"SMTP_URL", "smtps://mail.example.com:465"}, {"SMTP_STARTTLS", "required"}}).ok());
    auto bad = load({{"SMTP_URL", "http://mail"}, {"SMTP_STARTTLS", "maybe"}, {"MAIL_FROM", "Billing <b@x.com>"}});
    ASSERT_FALSE(bad.ok());
    std::set<std::string> fields;
    for (auto& d : bad.error().details) fields.insert(d.field);
    EXPECT_EQ(fields, (std::set<std::string>{"SMTP_URL", "SMTP_STARTTLS", "MAIL_FROM"}));
}

}  // namespace
}  // namespace flashbill::config
