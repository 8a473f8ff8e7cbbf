#include "mail/templates.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "mail/templates_data.hpp"

namespace flashbill::mail {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxTemplateFile = std::uintmax_t{1} << 20;

bool is_name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

bool valid_placeholder(std::string_view s) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!is_name_char(s[i], i == 0)) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

int line_of(std::string_view content, std::size_t pos) {
    int line = 1;
    for (std::size_t i = 0; i < pos && i < content.size(); ++i) line += content[i] == '\n';
    return line;
}

// "invoice.html" -> {"invoice", "html"}; false for files that are not templates (README.md, ...).
bool split_file_name(std::string_view file, std::string& name, std::string& kind) {
    auto dot = file.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    kind = std::string(file.substr(dot + 1));
    name = std::string(file.substr(0, dot));
    return (kind == "subject" || kind == "txt" || kind == "html") && valid_placeholder(name);
}

// Line breaks in a subject become single spaces (a header must be one line; the MIME builder folds it).
std::string one_line(std::string_view s) {
    std::string out;
    bool in_break = false;
    for (char c : s) {
        if (c == '\r' || c == '\n') {
            if (!in_break) out += ' ';
            in_break = true;
        } else {
            out += c;
            in_break = false;
        }
    }
    return std::string(trim(out));
}

}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 8);
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

Result<Templates::Source> Templates::parse(std::string origin, std::string_view content) {
    Source src;
    src.origin = std::move(origin);
    std::size_t pos = 0;
    while (pos < content.size()) {
        std::size_t open = content.find("{{", pos);
        if (open == std::string_view::npos) {
            src.segments.push_back({false, std::string(content.substr(pos))});
            break;
        }
        if (open > pos) src.segments.push_back({false, std::string(content.substr(pos, open - pos))});
        std::size_t close = content.find("}}", open + 2);
        std::size_t next_open = content.find("{{", open + 2);
        if (close == std::string_view::npos || next_open < close) {
            return Error::internal("mail template " + src.origin + ": unterminated placeholder at line " +
                                   std::to_string(line_of(content, open)));
        }
        std::string_view name = trim(content.substr(open + 2, close - open - 2));
        if (!valid_placeholder(name)) {
            return Error::internal("mail template " + src.origin + ": malformed placeholder '{{" +
                                   std::string(content.substr(open + 2, close - open - 2)) + "}}' at line " +
                                   std::to_string(line_of(content, open)));
        }
        src.segments.push_back({true, std::string(name)});
        pos = close + 2;
    }
    return src;
}

Result<Templates> Templates::build(const std::map<std::string, std::pair<std::string, std::string>>& files) {
    Templates t;
    for (const auto& [file, origin_content] : files) {
        std::string name, kind;
        if (!split_file_name(file, name, kind)) continue;
        const auto& [origin, content] = origin_content;
        // A .subject file is one line; its trailing newline is not part of the subject.
        auto parsed = parse(origin, kind == "subject" ? trim(content) : std::string_view(content));
        if (!parsed) return std::move(parsed).error();
        Entry& e = t.entries_[name];
        (kind == "subject" ? e.subject : kind == "txt" ? e.text : e.html) = std::move(parsed).value();
    }
    for (const auto& [name, e] : t.entries_) {
        const char* missing = !e.subject ? ".subject" : !e.text ? ".txt" : nullptr;
        if (missing) return Error::internal("mail template '" + name + "' has no file " + name.c_str() + missing);
    }
    return t;
}

const Templates& Templates::embedded() {
    static const Templates all = [] {
        std::map<std::string, std::pair<std::string, std::string>> files;
        for (const auto& f : detail::embedded_template_files()) {
            files[std::string(f.file_name)] = {"embedded:" + std::string(f.file_name), std::string(f.content)};
        }
        auto built = build(files);
        if (!built) throw std::logic_error(built.error().message);
        return std::move(built).value();
    }();
    return all;
}

Result<Templates> Templates::from_directory(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Error::internal("mail template directory " + dir + " is not a directory");
    std::map<std::string, std::pair<std::string, std::string>> files;
    for (const auto& f : detail::embedded_template_files()) {
        files[std::string(f.file_name)] = {"embedded:" + std::string(f.file_name), std::string(f.content)};
    }
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string file = it->path().filename().string();
        std::string name, kind;
        if (!split_file_name(file, name, kind) || !it->is_regular_file(ec)) continue;
        std::string path = it->path().string();
        std::uintmax_t size = it->file_size(ec);
        if (ec) return Error::internal("cannot read mail template " + path + ": " + ec.message());
        if (size > kMaxTemplateFile) return Error::internal("mail template " + path + " is larger than 1 MiB");
        std::ifstream in(path, std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in) return Error::internal("cannot read mail template " + path);
        files[file] = {path, content.str()};
    }
    if (ec) return Error::internal("cannot list mail template directory " + dir + ": " + ec.message());
    return build(files);
}

Result<std::string> Templates::expand(const Source& src, const std::map<std::string, std::string>& vars, bool html) {
    std::string out;
    for (const auto& seg : src.segments) {
        if (!seg.placeholder) {
            out += seg.text;
            continue;
        }
        auto it = vars.find(seg.text);
        if (it == vars.end()) {
            return Error::internal("mail template " + src.origin + ": no value for placeholder '" + seg.text + "'");
        }
        out += html ? html_escape(it->second) : it->second;
    }
    return out;
}

Result<Rendered> Templates::render(std::string_view name, const std::map<std::string, std::string>& vars) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return Error::internal("unknown mail template '" + std::string(name) + "'");
    const Entry& e = it->second;
    Rendered r;
    auto subject = expand(*e.subject, vars, false);
    if (!subject) return std::move(subject).error();
    r.subject = one_line(*subject);
    auto text = expand(*e.text, vars, false);
    if (!text) return std::move(text).error();
    r.text = std::move(text).value();
    if (e.html) {
        auto html = expand(*e.html, vars, true);
        if (!html) return std::move(html).error();
        r.html = std::move(html).value();
    }
    return r;
}

std::vector<std::string> Templates::names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : entries_) out.push_back(name);
    return out;
}

std::set<std::string> Templates::variables(std::string_view name) const {
    std::set<std::string> out;
    auto it = entries_.find(name);
    if (it == entries_.end()) return out;
    for (const auto* src : {&it->second.subject, &it->second.text, &it->second.html}) {
        if (!*src) continue;
        for (const auto& seg : (*src)->segments) {
            if (seg.placeholder) out.insert(seg.text);
        }
    }
    return out;
}

}  // namespace flashbill::mail
