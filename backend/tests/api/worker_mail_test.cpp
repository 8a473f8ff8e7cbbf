// Email through the durable queue, end to end: the real worker process, a real SMTP server.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/json.hpp"
#include "own_service.hpp"
#include "server_process.hpp"
#include "test_db.hpp"
#include "test_env.hpp"

namespace flashbill::test {
namespace {

using namespace std::chrono_literals;

// An SMTP server of the test's own (scripts/smtp), so it can be stopped or made to reject.
class OwnSmtp : public OwnService {
public:
    explicit OwnSmtp(bool start_now = true) : OwnService("smtp", start_now) {}
    void reject_with(const std::string& reply) { std::ofstream(dir() + "/reject") << reply << "\n"; }
    // Message-IDs of every received message, in order.
    std::vector<std::string> received_ids() const {
        std::vector<std::string> ids;
        std::ifstream in(dir() + "/mail/index.jsonl");
        std::string line;
        while (std::getline(in, line)) {
            auto v = json::parse(line);
            if (v && v->find("message_id") && v->find("message_id")->is_string()) {
                ids.push_back(v->find("message_id")->as_string());
            }
        }
        return ids;
    }
};

std::map<std::string, std::string> env(const TestDatabase& db, const OwnSmtp& smtp) {
    return {{"DATABASE_URL", db.url()},
            {"SMTP_URL", smtp.url()},
            {"SMTP_STARTTLS", "none"},
            {"MAIL_FROM", "billing@flashbill.test"},
            {"WORKER_CONCURRENCY", "3"},
            {"JOB_POLL_INTERVAL_MS", "200"},
            {"JOB_BACKOFF_BASE_MS", "200"},
            {"JOB_BACKOFF_MAX_MS", "400"}};
}

void enqueue_mails(const TestDatabase& db, int n) {
    db.exec("INSERT INTO jobs (kind, payload, max_attempts) SELECT 'mail.send', jsonb_build_object("
            "'to', jsonb_build_array('client' || g || '@example.test'), 'subject', 'Invoice ' || g, "
            "'text', 'Hello ' || g, 'html', '<p>Hello ' || g || '</p>'), 50 FROM generate_series(1, " +
            std::to_string(n) + ") g");
}

bool wait_for(const TestDatabase& db, const std::string& sql, const std::string& want, std::chrono::seconds within) {
    for (auto start = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - start < within;) {
        if (db.scalar(sql) == want) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

TEST(MailJobs, EveryMessageArrivesOnceWithItsJobMessageId) {
    TestDatabase db;
    OwnSmtp smtp;
    enqueue_mails(db, 30);
    ServerProcess worker(env(db, smtp), false, {"worker"});
    ASSERT_TRUE(wait_for(db, "SELECT count(*) FROM jobs WHERE state = 'done'", "30", 60s)) << worker.log();
    auto ids = smtp.received_ids();
    EXPECT_EQ(ids.size(), 30u);
    std::set<std::string> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size()) << "duplicate deliveries";
    std::set<std::string> expected;
    for (int i = 0; i < 30; ++i) {
        expected.insert("<job-" + db.scalar("SELECT id FROM jobs ORDER BY id OFFSET " + std::to_string(i) + " LIMIT 1") +
                        "@flashbill.test>");
    }
    std::set<std::string> bare;
    for (const auto& id : unique) bare.insert(id.front() == '<' ? id : "<" + id + ">");
    EXPECT_EQ(bare, expected);
}

TEST(MailJobs, MailWaitsWhileTheServerIsDownAndGoesOutWhenItReturns) {
    TestDatabase db;
    OwnSmtp smtp(false);  // not started yet: nothing listens on its port
    enqueue_mails(db, 5);
    ServerProcess worker(env(db, smtp), false, {"worker"});
    ASSERT_TRUE(wait_for(db, "SELECT count(*) FROM jobs WHERE state = 'queued' AND attempts >= 2", "5", 30s))
        << worker.log();
    EXPECT_EQ(db.scalar("SELECT count(*) FROM jobs WHERE last_error IS NULL"), "0");
    smtp.start();
    ASSERT_TRUE(wait_for(db, "SELECT count(*) FROM jobs WHERE state = 'done'", "5", 30s)) << worker.log();
    auto ids = smtp.received_ids();
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 5u);
}

TEST(MailJobs, PermanentRejectionEndsDeadWithTheServersReply) {
    TestDatabase db;
    OwnSmtp smtp;
    smtp.reject_with("550 5.1.1 mailbox unavailable");
    enqueue_mails(db, 1);
    ServerProcess worker(env(db, smtp), false, {"worker"});
    ASSERT_TRUE(wait_for(db, "SELECT state || ' ' || attempts FROM jobs", "dead 1", 30s)) << worker.log();
    std::string err = db.scalar("SELECT last_error FROM jobs");
    EXPECT_NE(err.find("550"), std::string::npos) << err;
    EXPECT_NE(err.find("mailbox unavailable"), std::string::npos) << err;
    EXPECT_TRUE(smtp.received_ids().empty());
}

TEST(MailJobs, WithoutSmtpMessagesGoToTheOutbox) {
    TestDatabase db;
    std::string outbox = make_temp_dir("outbox");
    enqueue_mails(db, 2);
    ServerProcess worker({{"DATABASE_URL", db.url()}, {"MAIL_OUTBOX_DIR", outbox}, {"JOB_POLL_INTERVAL_MS", "200"}},
                         false, {"worker"});
    ASSERT_TRUE(wait_for(db, "SELECT count(*) FROM jobs WHERE state = 'done'", "2", 30s)) << worker.log();
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(outbox)) files += e.path().extension() == ".eml" ? 1 : 0;
    EXPECT_EQ(files, 2);
}

}  // namespace
}  // namespace flashbill::test
