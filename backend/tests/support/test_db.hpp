#pragma once
// A fresh database per test, cloned from the migrated template `flashbill_template` that the
// harness prepared, and dropped afterwards.

#include <string>

namespace flashbill::test {

class TestDatabase {
public:
    // A clone of the migrated template, or (migrated = false) an empty database.
    explicit TestDatabase(bool migrated = true);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& name() const { return name_; }
    std::string url() const;

    // Runs SQL with a short-lived blocking connection and returns the first column of the first
    // row ("" when there is none). Throws on error.
    std::string scalar(const std::string& sql) const;
    void exec(const std::string& sql) const;

private:
    std::string name_;
};

// Runs SQL on any URL (blocking); throws std::runtime_error with the server's message on error.
std::string pg_scalar(const std::string& url, const std::string& sql);

}  // namespace flashbill::test
