#pragma once
// The SQL migrations compiled into the binary (generated from backend/migrations/*.sql).

#include <string_view>
#include <vector>

namespace flashbill::db {

struct EmbeddedMigration {
    std::string_view file_name;  // NNNN_description.sql
    std::string_view sql;
};

const std::vector<EmbeddedMigration>& embedded_migrations();

}  // namespace flashbill::db
