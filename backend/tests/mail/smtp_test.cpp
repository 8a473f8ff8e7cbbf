// send_smtp against real SMTP servers: the harness's sink, and private sinks (scripts/smtp) for faults,
// AUTH and TLS. What the server stored (.eml and index.jsonl) is the evidence.

#include "mail/smtp.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "mail/message.hpp"
#include "mail_test_support.hpp"

namespace flashbill::mail {
namespace {

using namespace flashbill::mail::testing;
using Clock = std::chrono::steady_clock;

std::string harness_url() { return "smtp://127.0.0.1:" + std::to_string(test::smtp_port()); }

Message message() {
    Message m;
    m.from = "billing@acme.example";
    m.from_name = "Acme Billing";
    m.to = {"client@example.org"};
    m.subject = "Invoice INV-0001";
    m.text = "Hello,\nyour invoice.\n";
    m.message_id = unique_message_id();
    return m;
}

SmtpSettings settings(const std::string& url) {
    SmtpSettings s;
    s.url = url;
    s.timeout = std::chrono::seconds(10);
    s.connect_timeout = std::chrono::seconds(5);
    return s;
}

std::string describe(const SendResult& r) { return std::string(outcome_name(r.outcome)) + ": " + r.detail; }

// ---- delivery ------------------------------------------------------------------------------------------

TEST(SmtpSend, DeliversOnceWithOurMessageIdHeadersAndIntactAttachment) {
    Message m = message();
    m.from_name = "Société Générale";
    m.subject = "Facture n° 42 — payée ✓";
    m.html = "<p>Bonjour</p>";
    std::string data;
    for (int k = 0; k < 3; ++k) {
        for (int b = 0; b < 256; ++b) data += static_cast<char>(b);
    }
    m.attachments = {{"INV-0001.pdf", "application/pdf", data}};

    SendResult r = send_smtp(settings(harness_url()), m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    EXPECT_EQ(r.detail.rfind("250", 0), 0u) << "detail is the server's final reply: " << r.detail;

    auto records = records_for(test::smtp_dir(), m.message_id);
    ASSERT_EQ(records.size(), 1u) << "exactly one delivery with our Message-ID";
    const auto& rec = records[0];
    EXPECT_EQ(rec.at("mail_from").as_string(), m.from);
    ASSERT_EQ(rec.at("rcpt_tos").as_array().size(), 1u);
    EXPECT_EQ(rec.at("rcpt_tos").as_array()[0].as_string(), "client@example.org");
    EXPECT_EQ(rec.at("subject").as_string(), m.subject) << "decoded by Python's email package";
    EXPECT_FALSE(rec.at("tls").as_bool()) << "the harness sink offers no STARTTLS";

    Entity e = parse_entity(read_file(std::string(rec.at("file").as_string())));
    EXPECT_EQ(e.header("Message-ID"), "<" + m.message_id + ">");
    EXPECT_EQ(e.header("To"), "client@example.org");
    EXPECT_EQ(decode_words(e.header("Subject")), m.subject);
    std::string from = e.header("From");
    EXPECT_EQ(decode_words(from.substr(0, from.rfind(" <"))), m.from_name);
    EXPECT_EQ(from.substr(from.rfind(" <")), " <billing@acme.example>");
    ASSERT_EQ(e.mime_type(), "multipart/mixed");
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(e.parts[0].parts.at(1).decoded(), m.html);
    EXPECT_EQ(param(e.parts[1].header("Content-Disposition"), "filename"), "INV-0001.pdf");
    EXPECT_EQ(e.parts[1].decoded(), data);
}

TEST(SmtpSend, MultipleRecipientsGetOneTransaction) {
    Message m = message();
    m.to = {"a@example.org", "b@example.net", "c@example.com"};
    m.reply_to = {"owner@acme.example"};
    SendResult r = send_smtp(settings(harness_url()), m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    auto records = records_for(test::smtp_dir(), m.message_id);
    ASSERT_EQ(records.size(), 1u);
    std::vector<std::string> rcpts;
    for (const auto& v : records[0].at("rcpt_tos").as_array()) rcpts.emplace_back(v.as_string());
    EXPECT_EQ(rcpts, m.to);
    Entity e = parse_entity(read_file(std::string(records[0].at("file").as_string())));
    EXPECT_EQ(e.header("To"), "a@example.org, b@example.net, c@example.com");
    EXPECT_EQ(e.header("Reply-To"), "owner@acme.example");
}

TEST(SmtpSend, HeloDomainDefaultsToTheSenderDomainAndCanBeSet) {
    Message m = message();
    ASSERT_EQ(send_smtp(settings(harness_url()), m).outcome, Outcome::kSent);
    EXPECT_EQ(records_for(test::smtp_dir(), m.message_id).at(0).at("helo").as_string(), "acme.example");

    SmtpSettings s = settings(harness_url());
    s.helo_domain = "mailer.flashbill.example";
    m = message();
    ASSERT_EQ(send_smtp(s, m).outcome, Outcome::kSent);
    EXPECT_EQ(records_for(test::smtp_dir(), m.message_id).at(0).at("helo").as_string(), "mailer.flashbill.example");

    s.helo_domain = "bad domain";
    SendResult r = send_smtp(s, message());
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("HELO"), std::string::npos) << r.detail;
}

// ---- classification --------------------------------------------------------------------------------------

TEST(SmtpSend, RcptRejected550IsPermanentWithTheServersReply) {
    Sink sink;
    sink.reject("550 5.1.1 no such user");
    Message m = message();
    SendResult r = send_smtp(settings(sink.url()), m);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("550"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("no such user"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("RCPT TO:<client@example.org>"), std::string::npos) << r.detail;
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

TEST(SmtpSend, RcptDeferred451IsTransient) {
    Sink sink;
    sink.reject("451 4.3.0 try later");
    SendResult r = send_smtp(settings(sink.url()), message());
    EXPECT_EQ(r.outcome, Outcome::kTransient) << describe(r);
    EXPECT_NE(r.detail.find("451 4.3.0 try later"), std::string::npos) << r.detail;
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

TEST(SmtpSend, MessageRejected554AtEndOfDataIsPermanentWithTheWholeMultiLineReply) {
    Sink sink;
    sink.reject_data({"554 5.7.1 Message rejected as spam", "554 5.7.1 see https://policy.example/spam"});
    SendResult r = send_smtp(settings(sink.url()), message());
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_EQ(r.detail,
              "554 5.7.1 Message rejected as spam 5.7.1 see https://policy.example/spam (in reply to end of DATA)");
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

TEST(SmtpSend, MessageDeferred452AtEndOfDataIsTransient) {
    Sink sink;
    sink.reject_data({"452 4.3.1 Insufficient system storage"});
    SendResult r = send_smtp(settings(sink.url()), message());
    EXPECT_EQ(r.outcome, Outcome::kTransient) << describe(r);
    EXPECT_NE(r.detail.find("452 4.3.1 Insufficient system storage"), std::string::npos) << r.detail;
}

TEST(SmtpSend, RetryAfterDeferralDeliversOnceWithTheSameMessageId) {
    Sink sink;
    Message m = message();
    sink.reject("451 4.7.1 greylisted");
    EXPECT_EQ(send_smtp(settings(sink.url()), m).outcome, Outcome::kTransient);
    sink.accept();
    SendResult r = send_smtp(settings(sink.url()), m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    auto records = read_index(sink.dir());
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].at("message_id").as_string(), "<" + m.message_id + ">");
}

TEST(SmtpSend, ServerDownIsTransientAndTheRetryDeliversWhenItReturns) {
    Sink sink;
    sink.stop();
    Message m = message();
    SendResult down = send_smtp(settings(sink.url()), m);
    EXPECT_EQ(down.outcome, Outcome::kTransient) << describe(down);
    sink.start();
    SendResult up = send_smtp(settings(sink.url()), m);
    ASSERT_EQ(up.outcome, Outcome::kSent) << describe(up);
    EXPECT_EQ(records_for(sink.dir(), m.message_id).size(), 1u);
}

TEST(SmtpSend, NothingListeningIsTransientQuickly) {
    SmtpSettings s = settings("smtp://127.0.0.1:" + std::to_string(free_port()));
    s.connect_timeout = std::chrono::milliseconds(500);
    auto start = Clock::now();
    SendResult r = send_smtp(s, message());
    auto elapsed = Clock::now() - start;
    EXPECT_EQ(r.outcome, Outcome::kTransient) << describe(r);
    EXPECT_NE(r.detail.find("connect"), std::string::npos) << r.detail;
    EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(SmtpSend, SilentServerTimesOutAsTransient) {
    // Accepts TCP connections (the kernel's backlog) but never says a word: no 220 greeting.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    SmtpSettings s = settings("smtp://127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
    s.timeout = std::chrono::seconds(1);
    auto start = Clock::now();
    SendResult r = send_smtp(s, message());
    auto elapsed = Clock::now() - start;
    ::close(fd);
    EXPECT_EQ(r.outcome, Outcome::kTransient) << describe(r);
    EXPECT_NE(r.detail.find("imeout"), std::string::npos) << r.detail;
    EXPECT_GE(elapsed, std::chrono::milliseconds(900));
    EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(SmtpSend, InvalidMessageIsPermanentAndNothingIsSent) {
    Message m = message();
    m.subject = "Hi\r\nBcc: victim@example.org";
    SendResult r = send_smtp(settings(harness_url()), m);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("invalid message"), std::string::npos) << r.detail;
    EXPECT_TRUE(records_for(test::smtp_dir(), m.message_id).empty());
}

TEST(SmtpSend, BadUrlsArePermanentAndNeverEchoed) {
    for (const char* url : {"http://127.0.0.1:25", "not a url", "", "smtp://", "ftp://user:secret@127.0.0.1",
                            "smtp://user:secret@bad host:25"}) {
        SendResult r = send_smtp(settings(url), message());
        EXPECT_EQ(r.outcome, Outcome::kPermanent) << url << " -> " << describe(r);
        EXPECT_EQ(r.detail.find("secret"), std::string::npos) << r.detail;
    }
}

// ---- AUTH ----------------------------------------------------------------------------------------------

class SmtpAuth : public ::testing::TestWithParam<std::string> {};

TEST_P(SmtpAuth, CredentialsReachTheServerWithTheChosenMechanism) {
    Sink sink({"--auth"});
    SmtpSettings s = settings(sink.url());
    s.username = "mailer@acme.example";
    s.password = "s3cret pass";
    s.auth_mechanism = GetParam();
    s.allow_plaintext_auth = true;  // the sink has no TLS here
    Message m = message();
    SendResult r = send_smtp(s, m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    auto records = records_for(sink.dir(), m.message_id);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].at("auth_login").as_string(), "mailer@acme.example");
    EXPECT_EQ(records[0].at("auth_mechanism").as_string(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, SmtpAuth, ::testing::Values("PLAIN", "LOGIN"));

TEST(SmtpAuthPolicy, CredentialsAreNotSentWithoutTlsByDefault) {
    Sink sink({"--auth"});
    SmtpSettings s = settings(sink.url());
    s.username = "mailer";
    s.password = "secret";
    Message m = message();
    SendResult r = send_smtp(s, m);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("TLS"), std::string::npos) << r.detail;
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

TEST(SmtpAuthPolicy, ServerRequiringAuthWithoutCredentialsIsPermanent) {
    Sink sink({"--require-auth"});
    SendResult r = send_smtp(settings(sink.url()), message());
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("530"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("MAIL FROM"), std::string::npos) << r.detail;
}

TEST(SmtpAuthPolicy, UnknownMechanismIsPermanent) {
    Sink sink({"--auth"});
    SmtpSettings s = settings(sink.url());
    s.username = "mailer";
    s.password = "secret";
    s.auth_mechanism = "CRAM-MD5";  // the sink offers PLAIN and LOGIN only
    s.allow_plaintext_auth = true;
    SendResult r = send_smtp(s, message());
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

// ---- TLS -------------------------------------------------------------------------------------------------

std::vector<std::string> tls_args(bool implicit = false) {
    const auto& c = test_certificate();
    std::vector<std::string> args{"--tls-cert", c.cert, "--tls-key", c.key};
    if (implicit) args.push_back("--implicit-tls");
    return args;
}

TEST(SmtpTls, StartTlsRequiredSucceedsAgainstATlsSink) {
    Sink sink(tls_args());
    SmtpSettings s = settings(sink.url());
    s.starttls = SmtpSettings::Tls::kRequired;
    s.ca_file = test_certificate().cert;
    Message m = message();
    SendResult r = send_smtp(s, m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    auto records = records_for(sink.dir(), m.message_id);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(records[0].at("tls").as_bool());
}

TEST(SmtpTls, StartTlsRequiredAgainstAPlainSinkIsPermanent) {
    Message m = message();
    SmtpSettings s = settings(harness_url());
    s.starttls = SmtpSettings::Tls::kRequired;
    SendResult r = send_smtp(s, m);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("TLS required"), std::string::npos) << r.detail;
    EXPECT_TRUE(records_for(test::smtp_dir(), m.message_id).empty());
}

TEST(SmtpTls, OpportunisticUpgradesWhenOffered) {
    Sink sink(tls_args());
    SmtpSettings s = settings(sink.url());
    s.ca_file = test_certificate().cert;
    ASSERT_EQ(s.starttls, SmtpSettings::Tls::kOpportunistic) << "the default";
    Message m = message();
    ASSERT_EQ(send_smtp(s, m).outcome, Outcome::kSent);
    EXPECT_TRUE(records_for(sink.dir(), m.message_id).at(0).at("tls").as_bool());
}

TEST(SmtpTls, NoneStaysPlainEvenWhenOffered) {
    Sink sink(tls_args());
    SmtpSettings s = settings(sink.url());
    s.starttls = SmtpSettings::Tls::kNone;
    Message m = message();
    ASSERT_EQ(send_smtp(s, m).outcome, Outcome::kSent);
    EXPECT_FALSE(records_for(sink.dir(), m.message_id).at(0).at("tls").as_bool());
}

TEST(SmtpTls, UntrustedCertificateIsPermanentEvenWhenOpportunistic) {
    Sink sink(tls_args());
    Message m = message();
    SendResult r = send_smtp(settings(sink.url()), m);  // no ca_file: the system store does not know it
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << describe(r);
    EXPECT_NE(r.detail.find("certificate"), std::string::npos) << r.detail;
    EXPECT_TRUE(read_index(sink.dir()).empty());
}

TEST(SmtpTls, ImplicitTlsWorks) {
    Sink sink(tls_args(/*implicit=*/true));
    ASSERT_EQ(sink.url().rfind("smtps://", 0), 0u) << sink.url();
    SmtpSettings s = settings(sink.url());
    s.ca_file = test_certificate().cert;
    Message m = message();
    SendResult r = send_smtp(s, m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    EXPECT_TRUE(records_for(sink.dir(), m.message_id).at(0).at("tls").as_bool());
}

TEST(SmtpTls, AuthOverStartTlsNeedsNoPlaintextPermission) {
    auto args = tls_args();
    args.push_back("--require-auth");
    Sink sink(args);
    SmtpSettings s = settings(sink.url());
    s.ca_file = test_certificate().cert;
    s.username = "mailer";
    s.password = "secret";
    Message m = message();
    SendResult r = send_smtp(s, m);
    ASSERT_EQ(r.outcome, Outcome::kSent) << describe(r);
    auto rec = records_for(sink.dir(), m.message_id).at(0);
    EXPECT_TRUE(rec.at("tls").as_bool());
    EXPECT_EQ(rec.at("auth_login").as_string(), "mailer");
}

}  // namespace
}  // namespace flashbill::mail
