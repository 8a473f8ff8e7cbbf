#pragma once
// Forward-only schema migrations: numbered SQL files embedded in the binary, recorded in
// schema_migrations with a checksum, applied under a PostgreSQL advisory lock so several nodes can
// start at once. Uses a short-lived blocking connection: it runs before the event loops start.

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flashbill::db {

struct Migration {
    int version;
    std::string name;
    std::string sql;
    std::string checksum;  // sha256 hex of sql
};

struct MigrationReport {
    int latest_known = 0;          // highest version in this binary
    int current = 0;               // highest version applied in the database
    std::vector<int> applied_now;  // versions this run applied
};

// The embedded migrations, validated (names NNNN_name.sql, versions unique and increasing).
Result<std::vector<Migration>> load_migrations();

// Applies every pending migration. Fails (and applies nothing further) when an applied
// migration's checksum differs from the embedded one.
Result<MigrationReport> migrate(const std::string& database_url);

// The highest embedded version; the readiness check compares the database against it.
int latest_migration_version();

}  // namespace flashbill::db
