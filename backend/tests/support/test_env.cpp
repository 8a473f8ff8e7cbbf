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
