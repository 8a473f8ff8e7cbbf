#include "test_db.hpp"

#include <libpq-fe.h>

#include <memory>
#include <random>
#include <stdexcept>

#include "test_env.hpp"

namespace flashbill::test {

std::string pg_scalar(const std::string& url, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error("connect " + url + ": " + PQerrorMessage(conn.get()));
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
    auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        throw std::runtime_error("SQL failed: " + sql + ": " + PQerrorMessage(conn.get()));
    }
    if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 && PQnfields(r.get()) > 0) {
        return PQgetvalue(r.get(), 0, 0);
    }
    return {};
}

TestDatabase::TestDatabase(bool migrated) {
    std::random_device rd;
    name_ = "t_" + std::to_string(rd()) + "_" + std::to_string(rd() % 100000);
    pg_scalar(pg_admin_url(), "CREATE DATABASE " + name_ + (migrated ? " TEMPLATE flashbill_template" : ""));
}

TestDatabase::~TestDatabase() {
    try {
        pg_scalar(pg_admin_url(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
        // Best effort: the harness drops the whole cluster at the end anyway.
    }
}

std::string TestDatabase::url() const { return pg_url(name_); }
std::string TestDatabase::scalar(const std::string& sql) const { return pg_scalar(url(), sql); }
void TestDatabase::exec(const std::string& sql) const { (void)pg_scalar(url(), sql); }

}  // namespace flashbill::test
