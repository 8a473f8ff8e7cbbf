// Password policy, argon2id PHC hashing and verification, and the hashing pool that keeps the
// event loop free.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <thread>

#include "auth/password.hpp"

namespace flashbill::auth {
namespace {

namespace asio = boost::asio;

const PasswordParams kParams{19 * 1024, 2, 1};

TEST(PasswordHash, IsAnArgon2idPhcStringWithTheConfiguredCost) {
    auto h = hash_password("a perfectly fine passphrase", kParams);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *h;
}

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
    auto h = hash_password("correct horse battery", kParams);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(verify_password("correct horse battery", *h));
    EXPECT_FALSE(verify_password("correct horse batterY", *h));
    EXPECT_FALSE(verify_password("", *h));
}

TEST(PasswordHash, SaltsEveryHash) {
    auto a = hash_password("same password twice", kParams);
    auto b = hash_password("same password twice", kParams);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b);
}

TEST(PasswordHash, AMalformedHashNeverMatches) {
    EXPECT_FALSE(verify_password("whatever-password", ""));
    EXPECT_FALSE(verify_password("whatever-password", "$argon2id$v=19$m=19456,t=2,p=1$garbage"));
    EXPECT_FALSE(verify_password("whatever-password", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"));
}

TEST(PasswordPolicy, RequiresTenCharactersAndRejectsCommonOnes) {
    EXPECT_TRUE(password_problem("short").has_value());
    EXPECT_TRUE(password_problem("123456789").has_value());
    EXPECT_TRUE(password_problem("password123").has_value());
    EXPECT_TRUE(password_problem("PassWord123").has_value()) << "the list is case-insensitive";
    EXPECT_TRUE(password_problem("qwertyuiop").has_value());
    EXPECT_TRUE(password_problem(std::string(300, 'x')).has_value()) << "an upper bound limits hashing work";
    EXPECT_FALSE(password_problem("tangerine-lighthouse-42").has_value());
}

TEST(PasswordPolicy, TheBuiltInListIsSortedLowerCaseAndLongEnough) {
    auto list = common_password_list();
    EXPECT_GE(list.size(), 300u);
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end(), [](const char* a, const char* b) { return std::strcmp(a, b) < 0; }));
    for (const char* p : list) {
        std::string s(p);
        EXPECT_GE(s.size(), kMinPasswordLength) << s;
        EXPECT_TRUE(std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); })) << s;
        EXPECT_TRUE(is_common_password(s)) << s;
    }
}

TEST(PasswordPool, HashesOffTheLoopAndResumesOnIt) {
    asio::io_context ioc;
    const auto loop_thread = std::this_thread::get_id();
    std::thread::id resumed_on;
    int ticks_while_hashing = 0;
    bool done = false;
    std::string hash;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto h = co_await hash_password_async("pool-hashed password", kParams);
            resumed_on = std::this_thread::get_id();
            if (h) hash = std::move(*h);
            bool ok = co_await verify_password_async("pool-hashed password", hash);
            EXPECT_TRUE(ok);
            done = true;
        },
        asio::detached);
    // A handler that keeps re-posting itself: it can only run while the loop is free.
    std::function<void()> tick = [&] {
        if (done) return;
        ++ticks_while_hashing;
        asio::post(ioc, tick);
    };
    asio::post(ioc, tick);
    ioc.run();
    EXPECT_TRUE(done);
    EXPECT_EQ(resumed_on, loop_thread);
    EXPECT_TRUE(hash.starts_with("$argon2id$"));
    EXPECT_GT(ticks_while_hashing, 100) << "the event loop was blocked while hashing";
}

}  // namespace
}  // namespace flashbill::auth
