// Migrations against a real PostgreSQL: idempotence, several nodes at once, tamper detection.

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "db/migrator.hpp"
#include "test_db.hpp"

namespace flashbill::db {
namespace {

using test::TestDatabase;

TEST(Migrator, EmbeddedMigrationsAreNumberedAndIncreasing) {
    auto ms = load_migrations();
    ASSERT_TRUE(ms.ok());
    ASSERT_FALSE(ms->empty());
    for (std::size_t i = 1; i < ms->size(); ++i) EXPECT_LT((*ms)[i - 1].version, (*ms)[i].version);
    EXPECT_EQ(latest_migration_version(), ms->back().version);
}

TEST(Migrator, AppliesEverythingOnceAndIsIdempotent) {
    TestDatabase db(false);
    auto first = migrate(db.url());
    ASSERT_TRUE(first.ok()) << first.error().cause;
    EXPECT_EQ(first->current, latest_migration_version());
    EXPECT_EQ(static_cast<int>(first->applied_now.size()), static_cast<int>(load_migrations()->size()));
    auto second = migrate(db.url());
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(second->applied_now.empty());
    EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), std::to_string(load_migrations()->size()));
}

TEST(Migrator, SeveralNodesStartingAtOnceApplyEachMigrationOnce) {
    TestDatabase db(false);
    constexpr int kNodes = 6;
    std::vector<std::thread> nodes;
    std::vector<int> ok(kNodes, 0), applied(kNodes, 0);
    for (int i = 0; i < kNodes; ++i) {
        nodes.emplace_back([&, i] {
            auto r = migrate(db.url());
            ok[i] = r.ok() ? 1 : 0;
            applied[i] = r.ok() ? static_cast<int>(r->applied_now.size()) : -1;
        });
    }
    for (auto& t : nodes) t.join();
    int total_applied = 0;
    for (int i = 0; i < kNodes; ++i) {
        EXPECT_EQ(ok[i], 1) << "node " << i;
        total_applied += applied[i];
    }
    EXPECT_EQ(total_applied, static_cast<int>(load_migrations()->size()));
    EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), std::to_string(load_migrations()->size()));
}

TEST(Migrator, RefusesWhenAnAppliedMigrationWasChanged) {
    TestDatabase db;
    db.exec("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 1");
    auto r = migrate(db.url());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().cause.find("forward-only"), std::string::npos);
}

TEST(Migrator, UnreachableDatabaseIsUnavailable) {
    auto r = migrate("postgresql://flashbill@127.0.0.1:1/nowhere?connect_timeout=2");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace flashbill::db
