#pragma once
// Email templates: for a name N, the files N.subject, N.txt and optionally N.html (backend/templates/mail/,
// compiled into the binary; an operator may override any of them from a directory). Placeholders are
// {{ name }} (letters, digits, underscore). Values are inserted HTML-escaped in .html, verbatim in .txt
// and .subject (line breaks in a rendered subject become spaces). A placeholder without a value is an
// error, never an empty string; so is a malformed placeholder, found when the templates are loaded.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace flashbill::mail {

struct Rendered {
    std::string subject, text, html;  // html empty when the template has no .html file
};

class Templates {
public:
    // The built-in set (parsed once; a malformed built-in template throws std::logic_error: a build bug).
    static const Templates& embedded();
    // The built-in set with every N.subject/N.txt/N.html found in dir replacing its built-in counterpart
    // (files for new names add templates). Error if dir is not a readable directory or a file is malformed.
    static Result<Templates> from_directory(const std::string& dir);

    // Renders template `name` with vars (extra variables are ignored). INTERNAL error naming the template
    // file and placeholder when a value is missing, or naming the template when it does not exist.
    Result<Rendered> render(std::string_view name, const std::map<std::string, std::string>& vars) const;

    // Template names, sorted.
    std::vector<std::string> names() const;
    // The placeholders a template uses across its files (empty for an unknown name).
    std::set<std::string> variables(std::string_view name) const;

private:
    struct Segment {
        bool placeholder = false;
        std::string text;  // literal text, or the placeholder's name
    };
    struct Source {
        std::string origin;  // "embedded:N.txt" or the override's path, for error messages
        std::vector<Segment> segments;
    };
    struct Entry {
        std::optional<Source> subject, text, html;
    };

    static Result<Templates> build(const std::map<std::string, std::pair<std::string, std::string>>& files);
    static Result<Source> parse(std::string origin, std::string_view content);
    static Result<std::string> expand(const Source& src, const std::map<std::string, std::string>& vars, bool html);

    std::map<std::string, Entry, std::less<>> entries_;
};

// HTML-escapes & < > " ' (safe in element content and quoted attribute values).
std::string html_escape(std::string_view s);

}  // namespace flashbill::mail
