#include "db/migrator.hpp"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <memory>
#include <map>
#include <set>

#include "db/migrations_data.hpp"

namespace flashbill::db {

namespace {

constexpr std::int64_t kMigrationLockKey = 0x466c61736842696cLL;  // "FlashBil"

std::string sha256_hex(std::string_view s) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 0xF]);
    }
    return out;
}

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

std::string trimmed_error(PGconn* c) {
    std::string s = PQerrorMessage(c);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

Result<ResultPtr> exec(PGconn* c, const std::string& sql) {
    ResultPtr r(PQexec(c, sql.c_str()));
    auto st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        return Error{ErrorCode::kInternal, "migration failed", {}, trimmed_error(c)};
    }
    return r;
}

}  // namespace

Result<std::vector<Migration>> load_migrations() {
    std::vector<Migration> out;
    std::set<int> seen;
    for (const auto& m : embedded_migrations()) {
        std::string_view name = m.file_name;
        auto us = name.find('_');
        int version = 0;
        auto [p, ec] = std::from_chars(name.data(), name.data() + (us == std::string_view::npos ? 0 : us), version);
        if (us == std::string_view::npos || ec != std::errc() || p != name.data() + us || version <= 0) {
            return Error{ErrorCode::kInternal, "bad migration file name", {}, std::string(name)};
        }
        if (!seen.insert(version).second) {
            return Error{ErrorCode::kInternal, "duplicate migration version", {}, std::string(name)};
        }
        out.push_back(Migration{version, std::string(name), std::string(m.sql), sha256_hex(m.sql)});
    }
    return out;
}

int latest_migration_version() {
    auto ms = load_migrations();
    if (!ms || ms->empty()) return 0;
    return ms->back().version;
}

Result<MigrationReport> migrate(const std::string& database_url) {
    auto migrations = load_migrations();
    if (!migrations) return std::move(migrations).error();
    MigrationReport report;
    report.latest_known = migrations->empty() ? 0 : migrations->back().version;

    ConnPtr conn(PQconnectdb(database_url.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        return Error{ErrorCode::kUnavailable, "database unavailable", {}, conn ? trimmed_error(conn.get()) : "oom"};
    }
    PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
    if (auto r = exec(conn.get(), "SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")"); !r) {
        return std::move(r).error();
    }
    auto unlock = [&] { (void)exec(conn.get(), "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")"); };

    auto created = exec(conn.get(),
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version integer PRIMARY KEY,"
                        " name text NOT NULL,"
                        " checksum text NOT NULL,"
                        " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!created) {
        unlock();
        return std::move(created).error();
    }
    auto applied = exec(conn.get(), "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    if (!applied) {
        unlock();
        return std::move(applied).error();
    }
    std::map<int, std::string> applied_checksums;
    for (int i = 0; i < PQntuples(applied->get()); ++i) {
        int v = std::stoi(PQgetvalue(applied->get(), i, 0));
        applied_checksums[v] = PQgetvalue(applied->get(), i, 2);
        report.current = std::max(report.current, v);
    }
    for (const auto& m : *migrations) {
        auto it = applied_checksums.find(m.version);
        if (it != applied_checksums.end()) {
            if (it->second != m.checksum) {
                unlock();
                return Error{ErrorCode::kInternal, "an applied migration was changed", {},
                             m.name + ": the database recorded another checksum; migrations are forward-only"};
            }
            continue;
        }
        spdlog::info("migrate: applying {}", m.name);
        std::string sql = "BEGIN;\n" + m.sql + "\n;INSERT INTO schema_migrations (version, name, checksum) VALUES (" +
                          std::to_string(m.version) + ", '" + m.name + "', '" + m.checksum + "');\nCOMMIT;";
        if (auto r = exec(conn.get(), sql); !r) {
            (void)exec(conn.get(), "ROLLBACK");
            unlock();
            Error e = std::move(r).error();
            e.cause = m.name + ": " + e.cause;
            return e;
        }
        report.applied_now.push_back(m.version);
        report.current = std::max(report.current, m.version);
    }
    unlock();
    return report;
}

}  // namespace flashbill::db
