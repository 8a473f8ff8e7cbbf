#include "test_env.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace flashbill::test {

namespace {
std::string setting(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}
}  // namespace

std::string pg_admin_url() { return pg_url("postgres"); }

std::string pg_url(const std::string& database) {
    return "postgresql://flashbill@127.0.0.1:" + setting("FLASHBILL_TEST_PG_PORT", FB_DEFAULT_TEST_PG_PORT) + "/" + database;
}

namespace {
int pg_port() { return std::stoi(setting("FLASHBILL_TEST_PG_PORT", FB_DEFAULT_TEST_PG_PORT)); }
}  // namespace

std::string redis_url() { return "redis://127.0.0.1:" + std::to_string(pg_port() + 1000) + "/0"; }
int smtp_port() { return pg_port() + 2000; }
std::string smtp_dir() { return std::string(FB_DEFAULT_BUILD_DIR) + "/test-services/smtp"; }

std::string flashbill_binary() { return setting("FLASHBILL_BIN", FB_DEFAULT_BIN); }

std::string repo_root() { return setting("FLASHBILL_REPO_ROOT", FB_DEFAULT_REPO_ROOT); }

std::string make_temp_dir(const std::string& prefix) {
    std::string base = setting("FLASHBILL_TEST_TMP", FB_DEFAULT_TEST_TMP);
    std::filesystem::create_directories(base);
    std::string tmpl = base + "/" + prefix + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

}  // namespace flashbill::test
