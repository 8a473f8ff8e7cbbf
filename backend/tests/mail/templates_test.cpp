// Mail templates: rendering, escaping, errors, directory overrides, and the shipped set against its
// documented variables (backend/templates/mail/README.md).

#include "mail/templates.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "mail/message.hpp"
#include "mail_test_support.hpp"

namespace flashbill::mail {
namespace {

using namespace flashbill::mail::testing;
namespace fs = std::filesystem;

void write(const std::string& path, const std::string& content) { std::ofstream(path, std::ios::binary) << content; }

// A directory with one template "greet", overriding nothing of the built-in set.
std::string greet_dir(const std::string& html = "<p>Hello {{ name }}, see <a href=\"{{link}}\">{{ link }}</a></p>\n") {
    std::string dir = test::make_temp_dir("tpl");
    write(dir + "/greet.subject", "Hello {{ name }} from {{company}}\n");
    write(dir + "/greet.txt", "Hello {{ name }},\n{{ link }}\n");
    if (!html.empty()) write(dir + "/greet.html", html);
    return dir;
}

Templates load(const std::string& dir) {
    auto t = Templates::from_directory(dir);
    if (!t) throw std::runtime_error(t.error().message);
    return std::move(t).value();
}

TEST(MailTemplates, RendersSubjectTextAndHtml) {
    Templates t = load(greet_dir());
    auto r = t.render("greet", {{"name", "Ada"}, {"company", "Acme"}, {"link", "https://x.example/a"}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->subject, "Hello Ada from Acme");
    EXPECT_EQ(r->text, "Hello Ada,\nhttps://x.example/a\n");
    EXPECT_EQ(r->html, "<p>Hello Ada, see <a href=\"https://x.example/a\">https://x.example/a</a></p>\n");
}

TEST(MailTemplates, HtmlValuesAreEscapedTextValuesAreVerbatim) {
    Templates t = load(greet_dir());
    std::string evil = "<script>alert('x')</script> & \"quoted\"";
    std::string link = "https://x.example/?a=1&b=\"><img src=x onerror=alert(1)>";
    auto r = t.render("greet", {{"name", evil}, {"company", "A&B"}, {"link", link}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->text, "Hello " + evil + ",\n" + link + "\n");
    EXPECT_EQ(r->subject, "Hello " + evil + " from A&B");
    EXPECT_EQ(r->html.find("<script>"), std::string::npos) << r->html;
    EXPECT_EQ(r->html.find("<img"), std::string::npos) << r->html;
    EXPECT_NE(r->html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"),
              std::string::npos)
        << r->html;
    EXPECT_NE(r->html.find("href=\"https://x.example/?a=1&amp;b=&quot;&gt;&lt;img"), std::string::npos) << r->html;
}

TEST(MailTemplates, SubjectLineBreaksBecomeSpaces) {
    Templates t = load(greet_dir());
    auto r = t.render("greet", {{"name", "Ada\r\nBcc: victim@example.org"}, {"company", "Acme\n\nInc"}, {"link", "l"}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->subject, "Hello Ada Bcc: victim@example.org from Acme Inc");
    EXPECT_EQ(r->subject.find_first_of("\r\n"), std::string::npos);
    EXPECT_NE(r->text.find("Ada\r\nBcc"), std::string::npos) << "text bodies keep line breaks";
}

TEST(MailTemplates, MissingVariableIsAnInternalErrorNamingIt) {
    Templates t = load(greet_dir());
    auto r = t.render("greet", {{"name", "Ada"}, {"link", "l"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find("'company'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("greet.subject"), std::string::npos) << r.error().message;
    auto empty_ok = t.render("greet", {{"name", ""}, {"company", ""}, {"link", ""}});
    EXPECT_TRUE(empty_ok.ok()) << "an empty value is a value";
}

TEST(MailTemplates, ExtraVariablesAreIgnored) {
    Templates t = load(greet_dir());
    EXPECT_TRUE(t.render("greet", {{"name", "a"}, {"company", "b"}, {"link", "c"}, {"unused", "d"}}).ok());
}

TEST(MailTemplates, UnknownTemplateIsAnError) {
    auto r = Templates::embedded().render("no_such_template", {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_NE(r.error().message.find("no_such_template"), std::string::npos);
}

TEST(MailTemplates, MalformedPlaceholdersFailAtLoadNamingFileAndLine) {
    for (std::string bad : {"line1\nHello {{ name", "Hello {{ two words }}", "Hello {{}}", "Hello {{ na-me }}",
                            "Hello {{ {{ name }}", "Hello {{ 1st }}"}) {
        std::string dir = greet_dir();
        write(dir + "/greet.txt", bad);
        auto t = Templates::from_directory(dir);
        ASSERT_FALSE(t.ok()) << bad;
        EXPECT_EQ(t.error().code, ErrorCode::kInternal);
        EXPECT_NE(t.error().message.find(dir + "/greet.txt"), std::string::npos) << t.error().message;
        EXPECT_NE(t.error().message.find("line "), std::string::npos) << t.error().message;
    }
}

TEST(MailTemplates, TemplateWithoutTextOrSubjectIsRejected) {
    std::string dir = test::make_temp_dir("tpl");
    write(dir + "/lonely.html", "<p>{{ x }}</p>");
    auto t = Templates::from_directory(dir);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("lonely"), std::string::npos) << t.error().message;
}

TEST(MailTemplates, HtmlIsOptional) {
    Templates t = load(greet_dir(""));
    auto r = t.render("greet", {{"name", "a"}, {"company", "b"}, {"link", "c"}});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->html.empty());
}

TEST(MailTemplates, DirectoryOverridesPerFileAndFallsBackToEmbedded) {
    std::string dir = test::make_temp_dir("tpl");
    write(dir + "/invoice.subject", "Your bill {{ invoice_number }}");
    write(dir + "/README.md", "not a template {{");
    Templates t = load(dir);
    std::map<std::string, std::string> vars{{"invoice_number", "INV-7"},
                                            {"amount_due", "$10.00"},
                                            {"due_date", "May 1, 2030"},
                                            {"public_url", "https://p.example/i"},
                                            {"company_name", "Acme"},
                                            {"client_name", "Bob"},
                                            {"message", ""}};
    auto overridden = t.render("invoice", vars);
    auto builtin = Templates::embedded().render("invoice", vars);
    ASSERT_TRUE(overridden.ok()) << overridden.error().message;
    ASSERT_TRUE(builtin.ok()) << builtin.error().message;
    EXPECT_EQ(overridden->subject, "Your bill INV-7");
    EXPECT_NE(builtin->subject, overridden->subject);
    EXPECT_EQ(overridden->text, builtin->text);
    EXPECT_EQ(overridden->html, builtin->html);
    EXPECT_EQ(t.names(), Templates::embedded().names());
}

TEST(MailTemplates, MissingDirectoryIsAnError) {
    auto t = Templates::from_directory(test::make_temp_dir("tpl") + "/absent");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("absent"), std::string::npos);
}

// README.md's table: | `name` | `var`, `var`, ... |
std::map<std::string, std::set<std::string>> documented_variables() {
    std::map<std::string, std::set<std::string>> out;
    std::ifstream in(test::repo_root() + "/backend/templates/mail/README.md");
    std::string line;
    std::regex row(R"(^\| `([a-z_]+)` \| (.*) \|$)");
    std::regex var("`([a-z_0-9]+)`");
    while (std::getline(in, line)) {
        std::smatch m;
        if (!std::regex_match(line, m, row)) continue;
        std::string vars = m[2];
        auto& set = out[m[1]];
        for (auto it = std::sregex_iterator(vars.begin(), vars.end(), var); it != std::sregex_iterator(); ++it) {
            set.insert((*it)[1]);
        }
    }
    return out;
}

TEST(MailTemplates, ShippedSetIsTheDocumentedOne) {
    auto documented = documented_variables();
    std::vector<std::string> expected{"invite",           "invoice",        "payment_receipt",
                                      "payment_reminder", "reset_password", "verify_email"};
    EXPECT_EQ(Templates::embedded().names(), expected);
    ASSERT_EQ(documented.size(), expected.size()) << "README.md table rows";
    for (const auto& name : expected) {
        ASSERT_TRUE(documented.count(name)) << name << " missing from README.md";
        EXPECT_EQ(Templates::embedded().variables(name), documented[name]) << name;
    }
    EXPECT_TRUE(documented["invoice"].count("message"));
    for (const char* v : {"link", "company_name"}) {
        for (const char* n : {"verify_email", "reset_password", "invite"})
            EXPECT_TRUE(documented[n].count(v)) << n << v;
    }
}

TEST(MailTemplates, EveryShippedTemplateRendersWithItsDocumentedVariablesEscaped) {
    for (const auto& [name, vars] : documented_variables()) {
        std::map<std::string, std::string> values;
        for (const auto& v : vars) values[v] = "<" + v + " & \"q\">";
        auto r = Templates::embedded().render(name, values);
        ASSERT_TRUE(r.ok()) << name << ": " << r.error().message;
        EXPECT_FALSE(r->subject.empty()) << name;
        EXPECT_FALSE(r->text.empty()) << name;
        EXPECT_FALSE(r->html.empty()) << name;
        for (const auto& v : vars) {
            EXPECT_NE(r->text.find(values[v]), std::string::npos) << name << " text lacks " << v;
            EXPECT_NE(r->html.find(html_escape(values[v])), std::string::npos) << name << " html lacks " << v;
            EXPECT_EQ(r->html.find(values[v]), std::string::npos) << name << " html has raw " << v;
        }
        EXPECT_EQ(r->subject.find("{{"), std::string::npos) << name;
        EXPECT_EQ(r->text.find("{{"), std::string::npos) << name;
        EXPECT_EQ(r->html.find("{{"), std::string::npos) << name;
        EXPECT_EQ(r->html.rfind("<!DOCTYPE html>", 0), 0u) << name;

        // Missing any one variable is an error naming it.
        for (const auto& v : vars) {
            auto less = values;
            less.erase(v);
            auto missing = Templates::embedded().render(name, less);
            ASSERT_FALSE(missing.ok()) << name << " without " << v;
            EXPECT_NE(missing.error().message.find("'" + v + "'"), std::string::npos) << missing.error().message;
        }

        // And the result makes a valid message.
        Message m;
        m.from = "billing@acme.example";
        m.to = {"client@example.org"};
        m.subject = r->subject;
        m.text = r->text;
        m.html = r->html;
        m.message_id = "tpl-" + name + "@flashbill.test";
        EXPECT_NO_THROW((void)build_mime(m, std::chrono::system_clock::now())) << name;
    }
}

}  // namespace
}  // namespace flashbill::mail
