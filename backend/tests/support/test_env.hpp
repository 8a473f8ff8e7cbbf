#pragma once
// What the CTest harness hands to test binaries (see tests/CMakeLists.txt and test-services).

#include <string>

namespace flashbill::test {

// Admin URL of the harness's PostgreSQL (database "postgres").
std::string pg_admin_url();
// URL of a database on the harness's PostgreSQL.
std::string pg_url(const std::string& database);
// The harness's Redis (redis://127.0.0.1:PORT/0) and SMTP server (port, and the directory where
// it stores received mail: mail/*.eml and mail/index.jsonl).
std::string redis_url();
int smtp_port();
std::string smtp_dir();
// The flashbill binary under test.
std::string flashbill_binary();
// The repository root (scripts/ live there).
std::string repo_root();
// A fresh temporary directory under the build tree, removed by the caller if it wishes.
std::string make_temp_dir(const std::string& prefix);

}  // namespace flashbill::test
