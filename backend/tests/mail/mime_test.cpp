// build_mime and valid_address: the output is parsed back with the strict reader of mail_test_support.hpp
// (and once with Python's email package, an independent implementation).

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <stdexcept>

#include "mail/message.hpp"
#include "mail_test_support.hpp"

namespace flashbill::mail {
namespace {

using namespace flashbill::mail::testing;
using std::chrono::system_clock;

// 2030-01-01T12:34:56Z, a Tuesday.
const system_clock::time_point kDate = system_clock::from_time_t(1893501296);

Message basic() {
    Message m;
    m.from = "billing@acme.example";
    m.from_name = "Acme Billing";
    m.to = {"client@example.org"};
    m.subject = "Invoice INV-0001";
    m.text = "Hello,\nyour invoice is attached.\n";
    m.message_id = "job-0001@flashbill.example";
    return m;
}

std::string all_bytes(int copies) {
    std::string s;
    for (int k = 0; k < copies; ++k) {
        for (int b = 0; b < 256; ++b) s += static_cast<char>(b);
    }
    return s;
}

void expect_wire_safe(const std::string& mime) {
    std::vector<std::string> lines;
    ASSERT_NO_THROW(lines = crlf_lines(mime)) << "every line must end in CRLF";
    ASSERT_GE(mime.size(), 2u);
    EXPECT_EQ(mime.substr(mime.size() - 2), "\r\n");
    for (const auto& l : lines) {
        EXPECT_LE(l.size(), 998u) << l.substr(0, 80);
        EXPECT_LE(l.size(), 78u) << "longer than the RFC 5322 recommendation: " << l.substr(0, 80);
        for (char c : l) {
            auto u = static_cast<unsigned char>(c);
            ASSERT_TRUE((u >= 32 && u < 127) || u == '\t')
                << "not 7-bit: byte " << int(u) << " in: " << l.substr(0, 80);
        }
    }
}

TEST(MimeBuild, TextOnlyMessageIsOneQuotedPrintablePartWithAllHeaders) {
    Message m = basic();
    m.reply_to = {"owner@acme.example"};
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    Entity e = parse_entity(mime);
    EXPECT_EQ(e.header("Date"), "Tue, 01 Jan 2030 12:34:56 +0000");
    EXPECT_EQ(e.header("From"), "\"Acme Billing\" <billing@acme.example>");
    EXPECT_EQ(e.header("To"), "client@example.org");
    EXPECT_EQ(e.header("Reply-To"), "owner@acme.example");
    EXPECT_EQ(e.header("Subject"), "Invoice INV-0001");
    EXPECT_EQ(e.header("Message-ID"), "<job-0001@flashbill.example>");
    EXPECT_EQ(e.header("MIME-Version"), "1.0");
    EXPECT_EQ(e.mime_type(), "text/plain");
    EXPECT_EQ(lower(param(e.header("Content-Type"), "charset")), "utf-8");
    EXPECT_EQ(lower(e.header("Content-Transfer-Encoding")), "quoted-printable");
    EXPECT_TRUE(e.parts.empty());
    EXPECT_EQ(e.decoded(), "Hello,\r\nyour invoice is attached.\r\n");
}

TEST(MimeBuild, NoReplyToHeaderWhenNoneGiven) {
    Entity e = parse_entity(build_mime(basic(), kDate));
    EXPECT_EQ(e.header("Reply-To"), "");
}

TEST(MimeBuild, HtmlMakesMultipartAlternativeTextFirst) {
    Message m = basic();
    m.html = "<p>Hello &amp; welcome</p>";
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    Entity e = parse_entity(mime);
    ASSERT_EQ(e.mime_type(), "multipart/alternative");
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(e.parts[0].mime_type(), "text/plain");
    EXPECT_EQ(e.parts[1].mime_type(), "text/html");
    EXPECT_EQ(e.parts[0].decoded(), "Hello,\r\nyour invoice is attached.\r\n");
    EXPECT_EQ(e.parts[1].decoded(), m.html);
}

TEST(MimeBuild, AttachmentsMakeMultipartMixedAroundTheAlternative) {
    Message m = basic();
    m.html = "<p>Hi</p>";
    m.attachments = {{"INV-0001.pdf", "application/pdf", "%PDF-1.7 fake"}, {"notes.txt", "", "plain notes"}};
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    Entity e = parse_entity(mime);
    ASSERT_EQ(e.mime_type(), "multipart/mixed");
    ASSERT_EQ(e.parts.size(), 3u);
    EXPECT_EQ(e.parts[0].mime_type(), "multipart/alternative");
    ASSERT_EQ(e.parts[0].parts.size(), 2u);
    EXPECT_NE(param(e.header("Content-Type"), "boundary"), param(e.parts[0].header("Content-Type"), "boundary"));

    const Entity& pdf = e.parts[1];
    EXPECT_EQ(pdf.mime_type(), "application/pdf");
    EXPECT_EQ(lower(pdf.header("Content-Transfer-Encoding")), "base64");
    EXPECT_EQ(lower(pdf.header("Content-Disposition").substr(0, 10)), "attachment");
    EXPECT_EQ(param(pdf.header("Content-Disposition"), "filename"), "INV-0001.pdf");
    EXPECT_EQ(param(pdf.header("Content-Type"), "name"), "INV-0001.pdf");
    EXPECT_EQ(pdf.decoded(), "%PDF-1.7 fake");
    EXPECT_EQ(e.parts[2].mime_type(), "application/octet-stream") << "empty content_type defaults";
    EXPECT_EQ(e.parts[2].decoded(), "plain notes");
}

TEST(MimeBuild, TextOnlyWithAttachmentHasTextDirectlyInMixed) {
    Message m = basic();
    m.attachments = {{"a.bin", "application/octet-stream", "x"}};
    Entity e = parse_entity(build_mime(m, kDate));
    ASSERT_EQ(e.mime_type(), "multipart/mixed");
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(e.parts[0].mime_type(), "text/plain");
}

TEST(MimeBuild, BinaryAttachmentWithEveryByteValueRoundTrips) {
    for (std::size_t extra : {0u, 1u, 2u}) {  // all three base64 padding cases
        Message m = basic();
        std::string data = all_bytes(4) + std::string(extra, '\xff');
        m.attachments = {{"bytes.bin", "application/octet-stream", data}};
        std::string mime = build_mime(m, kDate);
        expect_wire_safe(mime);
        Entity e = parse_entity(mime);
        ASSERT_EQ(e.parts.size(), 2u);
        EXPECT_EQ(e.parts[1].decoded(), data) << "extra=" << extra;
        for (const auto& l : crlf_lines(e.parts[1].body)) EXPECT_LE(l.size(), 76u);
    }
}

TEST(MimeBuild, QuotedPrintableKeepsLongLinesShortAndRoundTrips) {
    Message m = basic();
    std::string long_line(2000, 'a');
    std::string text = long_line + "\n" +                               // soft breaks needed
                       "Prix: 12,50 € — naïve café ünïcödé 日本語\n" +  // non-ASCII
                       "a=b, 100% sure\n" +                             // '=' must be escaped
                       "trailing spaces   \n" + "trailing tab\t\n" +    // trailing whitespace is encoded
                       ".\n" + "..leading dots\n" +                     // would end SMTP DATA in naive relays
                       "From the desk of\n" +                           // mbox "From " line
                       "CR LF\r\nCR only\rend";                         // every line-break form
    text += std::string(80, ' ') + "x" + std::string(300, '=') + "\n";
    m.text = text;
    m.html = "<p>" + std::string(1500, 'h') + " é</p>";
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    Entity e = parse_entity(mime);
    ASSERT_EQ(e.parts.size(), 2u);
    for (const auto& part : e.parts) {
        for (const auto& l : crlf_lines(part.body)) {
            EXPECT_LE(l.size(), 76u);
            EXPECT_TRUE(l.empty() || (l.back() != ' ' && l.back() != '\t')) << "trailing whitespace: " << l;
            EXPECT_NE(l, ".");
            EXPECT_NE(l.rfind("From ", 0), 0u) << l;
        }
    }
    std::string expected = text;
    // Line breaks of every form come out as CRLF.
    std::string normalized;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (expected[i] == '\r') {
            normalized += "\r\n";
            if (i + 1 < expected.size() && expected[i + 1] == '\n') ++i;
        } else if (expected[i] == '\n') {
            normalized += "\r\n";
        } else {
            normalized += expected[i];
        }
    }
    EXPECT_EQ(e.parts[0].decoded(), normalized);
    EXPECT_EQ(e.parts[1].decoded(), m.html);
}

TEST(MimeBuild, NonAsciiSubjectAndNameBecomeEncodedWordsThatDecodeBack) {
    Message m = basic();
    m.subject = "Facture n° 42 — « Société Générale » 請求書 " + std::string(120, 'x') + " 😀 end";
    m.from_name = "Société Générale — Facturation";
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    Entity e = parse_entity(mime);
    std::string subject = e.header("Subject");
    EXPECT_NE(subject.find("=?UTF-8?B?"), std::string::npos);
    EXPECT_EQ(decode_words(subject), m.subject);
    // No encoded-word splits a UTF-8 sequence: each decodes to valid UTF-8 on its own.
    std::size_t pos = 0;
    while ((pos = subject.find("=?UTF-8?B?", pos)) != std::string::npos) {
        std::size_t end = subject.find("?=", pos + 10);
        ASSERT_NE(end, std::string::npos);
        std::string bytes = base64_decode(subject.substr(pos + 10, end - pos - 10));
        ASSERT_FALSE(bytes.empty());
        EXPECT_NE(static_cast<unsigned char>(bytes.front()) & 0xC0, 0x80) << "starts with a continuation byte";
        pos = end;
    }
    std::string from = e.header("From");
    ASSERT_NE(from.find(" <billing@acme.example>"), std::string::npos) << from;
    EXPECT_EQ(decode_words(from.substr(0, from.rfind(" <"))), m.from_name);
}

TEST(MimeBuild, LongAsciiSubjectIsFoldedAndUnfoldsToTheSameText) {
    Message m = basic();
    m.subject =
        "Reminder: invoice INV-0001 from a company with a rather long name is due on 2030-01-31, "
        "amount due USD 1,234.50, please pay at your earliest convenience, thank you very much";
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    EXPECT_NE(mime.find("Subject: Reminder: invoice"), std::string::npos) << "plain ASCII stays readable";
    EXPECT_EQ(parse_entity(mime).header("Subject"), m.subject);
}

TEST(MimeBuild, AmbiguousAsciiSubjectsAreEncoded) {
    for (const std::string& s : {std::string("looks like =?UTF-8?B?eA==?= a word"), std::string(" leading space"),
                                 std::string("tab\there"), std::string(200, 'z')}) {
        Message m = basic();
        m.subject = s;
        std::string mime = build_mime(m, kDate);
        expect_wire_safe(mime);
        EXPECT_EQ(decode_words(parse_entity(mime).header("Subject")), s);
    }
}

TEST(MimeBuild, DisplayNamesWithSpecialsAreQuoted) {
    Message m = basic();
    m.from_name = "Acme, \"The\" Billing\\Dept";
    Entity e = parse_entity(build_mime(m, kDate));
    EXPECT_EQ(e.header("From"), "\"Acme, \\\"The\\\" Billing\\\\Dept\" <billing@acme.example>");
    m.from_name.clear();
    EXPECT_EQ(parse_entity(build_mime(m, kDate)).header("From"), "billing@acme.example");
}

TEST(MimeBuild, ManyRecipientsFoldTheToHeader) {
    Message m = basic();
    m.to.clear();
    for (int i = 0; i < 40; ++i) m.to.push_back("recipient" + std::to_string(i) + "@example.org");
    std::string mime = build_mime(m, kDate);
    expect_wire_safe(mime);
    std::string to = parse_entity(mime).header("To");
    for (const auto& a : m.to) EXPECT_NE(to.find(a), std::string::npos) << a;
    EXPECT_EQ(std::count(to.begin(), to.end(), ','), 39);
}

TEST(MimeBuild, NonAsciiAttachmentNameUsesRfc2231WithAsciiFallbackName) {
    for (std::string name :
         {std::string("Facture n°42 \"été\".pdf"), std::string(40, 'x') + "é" + std::string(200, 'y')}) {
        Message m = basic();
        m.attachments = {{name, "application/pdf", "x"}};
        std::string mime = build_mime(m, kDate);
        expect_wire_safe(mime);
        Entity att = parse_entity(mime).parts.at(1);
        std::string cd = att.header("Content-Disposition");
        EXPECT_EQ(param(cd, "filename"), "") << "no plain filename= to compete with filename*";
        EXPECT_EQ(rfc2231_param(cd, "filename"), name) << cd;
        std::string fallback = param(att.header("Content-Type"), "name");
        EXPECT_FALSE(fallback.empty());
        for (char c : fallback) EXPECT_TRUE(c >= 32 && c < 127) << fallback;
    }
    Message m = basic();
    m.attachments = {{"Facture n°42.pdf", "application/pdf", "x"}};
    EXPECT_EQ(param(parse_entity(build_mime(m, kDate)).parts.at(1).header("Content-Type"), "name"),
              "Facture n__42.pdf");
}

TEST(MimeBuild, SameInputGivesSameBytesAndBoundariesDependOnMessageId) {
    Message m = basic();
    m.html = "<p>x</p>";
    EXPECT_EQ(build_mime(m, kDate), build_mime(m, kDate));
    Message other = m;
    other.message_id = "job-0002@flashbill.example";
    EXPECT_NE(param(parse_entity(build_mime(m, kDate)).header("Content-Type"), "boundary"),
              param(parse_entity(build_mime(other, kDate)).header("Content-Type"), "boundary"));
}

TEST(MimeBuild, BoundaryTextInsideTheBodyCannotBreakTheStructure) {
    Message m = basic();
    m.html = "<p>x</p>";
    std::string b = param(parse_entity(build_mime(m, kDate)).header("Content-Type"), "boundary");
    m.text = "--" + b + "\n--" + b + "--\nafter";
    m.html = "\n--" + b + "--\n";
    Entity e = parse_entity(build_mime(m, kDate));
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(e.parts[0].decoded(), "--" + b + "\r\n--" + b + "--\r\nafter");
}

TEST(MimeBuild, RandomMessagesAreAlwaysWireSafeAndRoundTrip) {
    std::mt19937 rng(12345);
    auto random_text = [&](std::size_t n) {
        static const std::string pieces[] = {"a", " ", "\n", "\r\n", "=", ".", "é", "\t", "€", "From ", "x"};
        std::string s;
        while (s.size() < n) s += pieces[rng() % std::size(pieces)];
        return s;
    };
    for (int i = 0; i < 50; ++i) {
        Message m = basic();
        m.subject = random_text(rng() % 200);
        for (auto& c : m.subject) c = (c == '\r' || c == '\n') ? ' ' : c;
        m.text = random_text(rng() % 3000);
        if (i % 2) m.html = random_text(rng() % 3000);
        std::string data;
        for (std::size_t k = rng() % 5000; k > 0; --k) data += static_cast<char>(rng() & 0xFF);
        if (i % 3) m.attachments = {{"r.bin", "application/octet-stream", data}};
        std::string mime = build_mime(m, kDate);
        ASSERT_NO_FATAL_FAILURE(expect_wire_safe(mime));
        Entity e = parse_entity(mime);
        EXPECT_EQ(decode_words(e.header("Subject")), m.subject);
        if (!m.attachments.empty()) {
            EXPECT_EQ(e.parts.back().decoded(), data);
        }
    }
}

TEST(MimeBuild, PythonEmailPackageReadsTheSameMessage) {
    Message m = basic();
    m.from_name = "Société Générale";
    m.subject = "Facture n° 42 — payée ✓";
    m.text = "Bonjour,\nvoici la facture.\n" + std::string(200, 'y') + "\n";
    m.html = "<p>Bonjour é</p>";
    m.attachments = {{"facture-été.pdf", "application/pdf", all_bytes(2)}};
    std::string dir = test::make_temp_dir("mime");
    std::ofstream(dir + "/m.eml", std::ios::binary) << build_mime(m, kDate);
    const char* script = R"(
import email, email.policy, hashlib, json, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
parts = [p for p in msg.walk() if not p.is_multipart()]
def defects(p): return [type(d).__name__ for d in p.defects]
print(json.dumps({
  'subject': str(msg['subject']), 'from_name': msg['from'].addresses[0].display_name,
  'from_addr': msg['from'].addresses[0].addr_spec, 'message_id': msg['message-id'],
  'text': msg.get_body(('plain',)).get_content(), 'html': msg.get_body(('html',)).get_content(),
  'attachments': [[a.get_filename(), a.get_content_type(), hashlib.sha256(a.get_content()).hexdigest()]
                  for a in msg.iter_attachments()],
  'defects': defects(msg) + [d for p in msg.walk() for d in defects(p)],
}))
)";
    std::ofstream(dir + "/check.py") << script;
    std::string out;
    ASSERT_EQ(run("/usr/bin/python3 " + shell_quote(dir + "/check.py") + " " + shell_quote(dir + "/m.eml"), &out), 0)
        << out;
    auto j = boost::json::parse(out).as_object();
    EXPECT_EQ(j.at("subject").as_string(), m.subject);
    EXPECT_EQ(j.at("from_name").as_string(), m.from_name);
    EXPECT_EQ(j.at("from_addr").as_string(), m.from);
    EXPECT_EQ(j.at("message_id").as_string(), "<" + m.message_id + ">");
    EXPECT_EQ(j.at("text").as_string(), "Bonjour,\nvoici la facture.\n" + std::string(200, 'y') + "\n");
    EXPECT_EQ(j.at("html").as_string(), m.html);
    ASSERT_EQ(j.at("attachments").as_array().size(), 1u);
    auto att = j.at("attachments").as_array()[0].as_array();
    EXPECT_EQ(att[0].as_string(), m.attachments[0].filename);
    EXPECT_EQ(att[1].as_string(), "application/pdf");
    std::ofstream(dir + "/bytes", std::ios::binary) << m.attachments[0].data;
    std::string sha;
    ASSERT_EQ(run("sha256sum < " + shell_quote(dir + "/bytes"), &sha), 0);
    EXPECT_EQ(att[2].as_string(), sha.substr(0, 64));
    EXPECT_TRUE(j.at("defects").as_array().empty()) << boost::json::serialize(j.at("defects"));
}

TEST(MimeBuild, HeaderInjectionIsRejected) {
    for (std::string bad : {std::string("x\r\nBcc: victim@example.org"), std::string("x\nBcc: victim@example.org"),
                            std::string("x\rBcc: v@example.org"), std::string("x\0y", 3)}) {
        auto expect_throw = [&](auto mutate, const char* field) {
            Message m = basic();
            mutate(m);
            EXPECT_THROW((void)build_mime(m, kDate), std::invalid_argument) << field;
        };
        expect_throw([&](Message& m) { m.subject = "Hi " + bad; }, "subject");
        expect_throw([&](Message& m) { m.from_name = "Acme " + bad; }, "from_name");
        expect_throw([&](Message& m) { m.from = "a@example.org" + bad; }, "from");
        expect_throw([&](Message& m) { m.to.push_back("b@example.org" + bad); }, "to");
        expect_throw([&](Message& m) { m.reply_to = {"c@example.org" + bad}; }, "reply_to");
        expect_throw([&](Message& m) { m.message_id = "id@example.org" + bad; }, "message_id");
        expect_throw([&](Message& m) { m.attachments = {{"a.pdf" + bad, "application/pdf", "x"}}; }, "filename");
        expect_throw([&](Message& m) { m.attachments = {{"a.pdf", "application/pdf" + bad, "x"}}; }, "content_type");
    }
}

TEST(MimeBuild, InvalidMessagesAreRejected) {
    auto expect_throw = [](auto mutate, const char* what) {
        Message m = basic();
        mutate(m);
        EXPECT_THROW((void)build_mime(m, kDate), std::invalid_argument) << what;
    };
    expect_throw([](Message& m) { m.to.clear(); }, "no recipient");
    expect_throw([](Message& m) { m.from = "not an address"; }, "from");
    expect_throw([](Message& m) { m.to = {"Client <client@example.org>"}; }, "to with a display name");
    expect_throw([](Message& m) { m.message_id.clear(); }, "empty message_id");
    expect_throw([](Message& m) { m.message_id = "<job@x.example>"; }, "message_id with brackets");
    expect_throw([](Message& m) { m.message_id = "no-at-sign"; }, "message_id without @");
    expect_throw([](Message& m) { m.message_id = "a b@x.example"; }, "message_id with a space");
    expect_throw([](Message& m) { m.attachments = {{"", "application/pdf", "x"}}; }, "empty filename");
    expect_throw([](Message& m) { m.attachments = {{"a\tb.pdf", "application/pdf", "x"}}; }, "control char");
    expect_throw([](Message& m) { m.attachments = {{std::string(256, 'a'), "application/pdf", "x"}}; }, "long name");
    expect_throw([](Message& m) { m.attachments = {{"a.pdf", "pdf", "x"}}; }, "content type without /");
}

TEST(ValidAddress, AcceptsPracticalAddresses) {
    for (const char* a : {"a@b.example", "first.last@example.org", "user+tag@sub.example.co.uk", "x@localhost",
                          "o'brien@example.ie", "UPPER@EXAMPLE.COM", "a-b_c@x-y.example", "1@2.example"}) {
        EXPECT_TRUE(valid_address(a)) << a;
    }
    std::string local64(64, 'l');
    EXPECT_TRUE(valid_address(local64 + "@example.org"));
}

TEST(ValidAddress, RejectsMalformedAddresses) {
    for (const char* a : {"",
                          "plain",
                          "@example.org",
                          "a@",
                          "a@@b.example",
                          "a b@example.org",
                          "a@exa mple.org",
                          "<a@b.example>",
                          "a@b.example>",
                          "a.@b.example",
                          ".a@b.example",
                          "a..b@b.example",
                          "a@-b.example",
                          "a@b-.example",
                          "a@b..example",
                          "a@b.example.",
                          "\"quoted\"@b.example",
                          "é@b.example",
                          "a@bücher.example",
                          "a@b.example\r\n",
                          "a@b.example\n",
                          "a@[127.0.0.1]"}) {
        EXPECT_FALSE(valid_address(a)) << a;
    }
    EXPECT_FALSE(valid_address(std::string(65, 'l') + "@example.org"));
    EXPECT_FALSE(valid_address("a@" + std::string(64, 'd') + ".example"));
    std::string long_domain;
    for (int i = 0; i < 26; ++i) long_domain += "abcdefghi.";
    EXPECT_FALSE(valid_address("a@" + long_domain + "example"));
}

TEST(MimeDate, FormatsUtcPerRfc5322) {
    EXPECT_EQ(rfc5322_date(kDate), "Tue, 01 Jan 2030 12:34:56 +0000");
    EXPECT_EQ(rfc5322_date(system_clock::from_time_t(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(rfc5322_date(system_clock::from_time_t(951782400)), "Tue, 29 Feb 2000 00:00:00 +0000");
}

}  // namespace
}  // namespace flashbill::mail
