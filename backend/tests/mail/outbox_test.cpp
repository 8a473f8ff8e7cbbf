// The development outbox: one complete .eml per message_id, written atomically, idempotent.

#include "mail/deliver.hpp"
#include "mail/outbox.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "mail_test_support.hpp"

namespace flashbill::mail {
namespace {

using namespace flashbill::mail::testing;
namespace fs = std::filesystem;

Message message(const std::string& id) {
    Message m;
    m.from = "billing@acme.example";
    m.to = {"client@example.org"};
    m.subject = "Invoice INV-0001";
    m.text = "Hello\n";
    m.html = "<p>Hello</p>";
    m.attachments = {{"INV-0001.pdf", "application/pdf", std::string(100000, '\x01')}};
    m.message_id = id;
    return m;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST(Outbox, WritesOneCompleteEmlNamedByDateAndMessageId) {
    std::string dir = test::make_temp_dir("outbox");
    Message m = message("job-1@flashbill.test");
    SendResult r = write_outbox(dir, m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << r.detail;
    auto names = entries(dir);
    ASSERT_EQ(names.size(), 1u) << "no temporary file left behind";
    EXPECT_TRUE(std::regex_match(names[0], std::regex(R"(\d{8}T\d{6}Z-job-1@flashbill\.test\.eml)"))) << names[0];
    EXPECT_EQ(r.detail, dir + "/" + names[0]);
    Entity e = parse_entity(read_file(dir + "/" + names[0]));
    EXPECT_EQ(e.header("Message-ID"), "<job-1@flashbill.test>");
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(e.parts[1].decoded(), m.attachments[0].data);
}

TEST(Outbox, SecondWriteOfTheSameMessageIdIsANoOp) {
    std::string dir = test::make_temp_dir("outbox");
    Message m = message("job-2@flashbill.test");
    SendResult first = write_outbox(dir, m);
    ASSERT_EQ(first.outcome, Outcome::kSent);
    std::string before = read_file(first.detail);
    m.subject = "changed on retry";
    SendResult again = write_outbox(dir, m);
    EXPECT_EQ(again.outcome, Outcome::kSent) << again.detail;
    EXPECT_NE(again.detail.find(first.detail), std::string::npos) << again.detail;
    EXPECT_EQ(entries(dir).size(), 1u);
    EXPECT_EQ(read_file(first.detail), before);
}

TEST(Outbox, IdempotenceHoldsAcrossDatesButNotAcrossSimilarIds) {
    std::string dir = test::make_temp_dir("outbox");
    // A file written on an earlier day for the same message.
    std::ofstream(dir + "/20200101T000000Z-job-3@flashbill.test.eml") << "earlier";
    EXPECT_EQ(write_outbox(dir, message("job-3@flashbill.test")).outcome, Outcome::kSent);
    EXPECT_EQ(entries(dir).size(), 1u);
    // "x-job-3@..." ends like "-job-3@..." but is another message.
    EXPECT_EQ(write_outbox(dir, message("x-job-3@flashbill.test")).outcome, Outcome::kSent);
    EXPECT_EQ(write_outbox(dir, message("3@flashbill.test")).outcome, Outcome::kSent);
    EXPECT_EQ(entries(dir).size(), 3u);
}

TEST(Outbox, DifferentMessagesGetDifferentFiles) {
    std::string dir = test::make_temp_dir("outbox");
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(write_outbox(dir, message("job-many-" + std::to_string(i) + "@flashbill.test")).outcome,
                  Outcome::kSent);
    }
    EXPECT_EQ(entries(dir).size(), 5u);
}

TEST(Outbox, ConcurrentWritersOfOneMessageLeaveOneFile) {
    std::string dir = test::make_temp_dir("outbox");
    Message m = message("job-race@flashbill.test");
    std::vector<std::thread> threads;
    std::vector<Outcome> outcomes(8);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        threads.emplace_back([&, i] { outcomes[i] = write_outbox(dir, m).outcome; });
    }
    for (auto& t : threads) t.join();
    for (auto o : outcomes) EXPECT_EQ(o, Outcome::kSent);
    auto names = entries(dir);
    // Same second: one file. Across a second boundary two stamps are possible; never a temporary file.
    EXPECT_GE(names.size(), 1u);
    EXPECT_LE(names.size(), 2u);
    for (const auto& n : names) {
        EXPECT_NE(n.front(), '.') << n;
        EXPECT_EQ(parse_entity(read_file((fs::path(dir) / n).string())).header("Message-ID"),
                  "<job-race@flashbill.test>");
    }
}

TEST(Outbox, SlashesInMessageIdsCannotEscapeTheDirectory) {
    std::string dir = test::make_temp_dir("outbox");
    SendResult r = write_outbox(dir + "/out", message("a/b/c%d@flashbill.test"));
    ASSERT_EQ(r.outcome, Outcome::kSent) << r.detail;
    auto names = entries(dir + "/out");
    ASSERT_EQ(names.size(), 1u);
    EXPECT_NE(names[0].find("a%2Fb%2Fc%25d@flashbill.test.eml"), std::string::npos) << names[0];
    EXPECT_EQ(entries(dir), std::vector<std::string>{"out"});
}

TEST(Outbox, CreatesAMissingDirectory) {
    std::string dir = test::make_temp_dir("outbox") + "/nested/deeper";
    EXPECT_EQ(write_outbox(dir, message("job-4@flashbill.test")).outcome, Outcome::kSent);
    EXPECT_EQ(entries(dir).size(), 1u);
}

TEST(Outbox, UnusableDirectoryIsTransientWithThePath) {
    std::string base = test::make_temp_dir("outbox");
    std::ofstream(base + "/file") << "not a directory";  // works even as root, unlike chmod
    SendResult r = write_outbox(base + "/file/sub", message("job-5@flashbill.test"));
    EXPECT_EQ(r.outcome, Outcome::kTransient) << r.detail;
    EXPECT_NE(r.detail.find(base + "/file"), std::string::npos) << r.detail;
}

TEST(Outbox, InvalidMessageIsPermanent) {
    std::string dir = test::make_temp_dir("outbox");
    Message m = message("job-6@flashbill.test");
    m.to = {"bad address"};
    SendResult r = write_outbox(dir, m);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << r.detail;
    EXPECT_TRUE(entries(dir).empty());
}

TEST(Deliver, UsesTheOutboxWithoutAnSmtpUrlAndSmtpWithOne) {
    std::string dir = test::make_temp_dir("outbox");
    Message dev = message(unique_message_id());
    SendResult r = deliver(SmtpSettings{}, dir, dev);
    ASSERT_EQ(r.outcome, Outcome::kSent) << r.detail;
    EXPECT_EQ(entries(dir).size(), 1u);
    EXPECT_TRUE(records_for(test::smtp_dir(), dev.message_id).empty());

    SmtpSettings smtp;
    smtp.url = "smtp://127.0.0.1:" + std::to_string(test::smtp_port());
    Message prod = message(unique_message_id());
    r = deliver(smtp, dir, prod);
    ASSERT_EQ(r.outcome, Outcome::kSent) << r.detail;
    EXPECT_EQ(entries(dir).size(), 1u) << "nothing more in the outbox";
    EXPECT_EQ(records_for(test::smtp_dir(), prod.message_id).size(), 1u);
}

}  // namespace
}  // namespace flashbill::mail
