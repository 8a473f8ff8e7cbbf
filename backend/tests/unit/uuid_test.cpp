// Identifiers: the UUID syntax check used for path ids (a malformed id is 404), and the two
// generators (OpenSSL-backed new_uuid, per-thread PRNG new_request_id) producing distinct v4 UUIDs.

#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flashbill {
namespace {

constexpr int kDraws = 10'000;

// Lowercase canonical v4: version nibble 4, variant bits 10xx.
const std::regex kV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(IsUuid, AcceptsCanonicalFormInAnyCase) {
    EXPECT_TRUE(is_uuid("3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6d"));
    EXPECT_TRUE(is_uuid("3F1C9A52-7D4E-4B8A-9C0D-1E2F3A4B5C6D"));
    EXPECT_TRUE(is_uuid("3f1C9a52-7D4e-4b8A-9c0D-1e2F3a4B5c6D"));
    EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
    EXPECT_TRUE(is_uuid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    // Syntax only: other versions are ids too (PostgreSQL may hold any of them).
    EXPECT_TRUE(is_uuid("01890a5d-ac96-774b-bcce-b302099a8057"));
}

TEST(IsUuid, RejectsEverythingElse) {
    for (std::string_view s : {
             "",
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6",     // 35 characters
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6d0",   // 37 characters
             "3f1c9a527d4e4b8a9c0d1e2f3a4b5c6d",        // no hyphens
             "{3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6d}",  // braces
             "urn:uuid:3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6d",
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6g",   // non-hex digit
             "3f1c9a52-7d4e-4b8a-9c0d_1e2f3a4b5c6d",   // wrong separator
             "3f1c9a527-d4e-4b8a-9c0d-1e2f3a4b5c6d",   // hyphen one place late
             "3f1c9a5-27d4e-4b8a-9c0d-1e2f3a4b5c6d",   // hyphen one place early
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6d ",  // trailing space (37)
             " 3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6",   // leading space
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6\n",
             "------------------------------------",
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c-d",
             "3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6\xc3",
         }) {
        EXPECT_FALSE(is_uuid(s)) << s;
    }
    EXPECT_FALSE(is_uuid(std::string_view("3f1c9a52-7d4e-4b8a-9c0d-1e2f3a4b5c6\0", 36)));
}

void expect_v4_and_distinct(const std::function<std::string()>& gen) {
    std::set<std::string> seen;
    for (int i = 0; i < kDraws; ++i) {
        std::string id = gen();
        ASSERT_TRUE(std::regex_match(id, kV4)) << id;
        ASSERT_TRUE(is_uuid(id)) << id;
        ASSERT_TRUE(seen.insert(id).second) << "duplicate after " << i << " draws: " << id;
    }
}

// Every random hex position (all but the version nibble; the variant nibble has 2 random bits)
// takes many values: catches constant, zeroed or truncated bytes.
void expect_random_positions_vary(const std::function<std::string()>& gen) {
    std::array<std::set<char>, 36> values;
    for (int i = 0; i < 2'000; ++i) {
        std::string id = gen();
        for (std::size_t p = 0; p < 36; ++p) values[p].insert(id[p]);
    }
    for (std::size_t p = 0; p < 36; ++p) {
        if (p == 8 || p == 13 || p == 18 || p == 23) {
            EXPECT_EQ(values[p], std::set<char>{'-'});
        } else if (p == 14) {
            EXPECT_EQ(values[p], std::set<char>{'4'});
        } else if (p == 19) {
            EXPECT_EQ(values[p], (std::set<char>{'8', '9', 'a', 'b'}));
        } else {
            EXPECT_EQ(values[p].size(), 16u) << "hex position " << p << " is not uniformly random";
        }
    }
}

TEST(NewUuid, IsV4ShapedAndDistinctOver10000Draws) { expect_v4_and_distinct(new_uuid); }

TEST(NewUuid, EveryRandomNibbleVaries) { expect_random_positions_vary(new_uuid); }

TEST(NewRequestId, IsV4ShapedAndDistinctOver10000Draws) { expect_v4_and_distinct(new_request_id); }

TEST(NewRequestId, EveryRandomNibbleVaries) { expect_random_positions_vary(new_request_id); }

TEST(NewRequestId, ThreadsDrawDistinctSequences) {
    // Each thread seeds its own generator; identical seeds would repeat ids across threads.
    std::mutex mu;
    std::set<std::string> all;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            std::vector<std::string> mine;
            for (int i = 0; i < kDraws / 4; ++i) mine.push_back(new_request_id());
            std::lock_guard lock(mu);
            all.insert(mine.begin(), mine.end());
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kDraws));
}

TEST(NewUuid, DiffersFromRequestIds) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        seen.insert(new_uuid());
        seen.insert(new_request_id());
    }
    EXPECT_EQ(seen.size(), 2000u);
}

}  // namespace
}  // namespace flashbill
