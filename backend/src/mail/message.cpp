#include "mail/message.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "mail/send_result.hpp"

namespace flashbill::mail {

std::string_view outcome_name(Outcome o) {
    switch (o) {
        case Outcome::kSent:
            return "sent";
        case Outcome::kTransient:
            return "transient";
        case Outcome::kPermanent:
            return "permanent";
    }
    return "unknown";
}

namespace {

constexpr std::size_t kFoldWidth = 78;   // RFC 5322 2.1.1 "SHOULD"; the hard limit is 998
constexpr std::size_t kQpMaxLine = 76;   // RFC 2045 6.7, including the soft-break "="
constexpr std::size_t kBase64Line = 76;  // RFC 2045 6.8
// 39 bytes -> 52 base64 chars -> a 64-character encoded-word: under the 75 limit, and "Subject: " plus one
// word still fits in 78 columns (the first word cannot be folded onto its own line).
constexpr std::size_t kEncodedWordRaw = 39;
constexpr std::size_t kRfc2231Chunk = 54;   // percent-encoded characters per filename*N* continuation (<= 78 columns)
constexpr std::size_t kMaxQuotedName = 64;  // longer ASCII display names become foldable encoded-words
constexpr std::size_t kMaxMessageId = 250;
constexpr std::size_t kMaxFilename = 255;  // octets; RFC 2231 percent-encoding keeps it far below 998
constexpr std::size_t kMaxContentType = 200;

constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

[[noreturn]] void invalid(const std::string& what) { throw std::invalid_argument("mail: " + what); }

// Header injection guard: no value may carry a line break (or NUL, which some MTAs truncate at).
void require_single_line(std::string_view what, std::string_view v) {
    if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        invalid(std::string(what) + " contains CR, LF or NUL");
    }
}

bool is_atext(unsigned char c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

// dot-atom-text: atext runs separated by single dots.
bool is_dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!is_atext(static_cast<unsigned char>(c))) {
            return false;
        }
        prev = c;
    }
    return true;
}

bool is_host_name(std::string_view d) {
    if (d.empty() || d.size() > 253) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = d.find('.', start);
        std::string_view label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            if (!ok) return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool is_printable_ascii(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return false;
    }
    return true;
}

std::string base64(std::string_view in, bool wrap) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4 + (wrap ? in.size() / 57 * 2 + 2 : 0));
    std::size_t line = 0;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
        std::size_t left = in.size() - i;
        if (left > 1) n |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (left > 2) n |= static_cast<unsigned char>(in[i + 2]);
        if (wrap && line == kBase64Line) {
            out += "\r\n";
            line = 0;
        }
        out += kBase64Alphabet[(n >> 18) & 63];
        out += kBase64Alphabet[(n >> 12) & 63];
        out += left > 1 ? kBase64Alphabet[(n >> 6) & 63] : '=';
        out += left > 2 ? kBase64Alphabet[n & 63] : '=';
        line += 4;
    }
    return out;
}

void append_hex(std::string& out, unsigned char c) {
    out += '=';
    out += kHexUpper[c >> 4];
    out += kHexUpper[c & 15];
}

// Quoted-printable (RFC 2045 6.7) of text whose line breaks (CRLF, LF or CR) become CRLF hard breaks.
// Besides the rules, a line-initial "." (lone-dot SMTP terminator in naive relays) and "From " (mbox
// mangling) are encoded, so the part survives any transport byte for byte.
std::string quoted_printable(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8 + 16);
    std::size_t i = 0;
    while (true) {
        std::size_t eol = text.find_first_of("\r\n", i);
        std::string_view line = text.substr(i, eol == std::string_view::npos ? std::string_view::npos : eol - i);
        std::size_t col = 0;
        for (std::size_t k = 0; k < line.size(); ++k) {
            auto c = static_cast<unsigned char>(line[k]);
            auto token = [&](bool at_start) {
                std::string t;
                bool last = k + 1 == line.size();
                bool literal = (c == ' ' || c == '\t') ? !last  // trailing whitespace would be stripped in transit
                                                       : !(c == '=' || c < 33 || c > 126 || (at_start && c == '.') ||
                                                           (at_start && c == 'F' && line.substr(k, 5) == "From "));
                if (literal) {
                    t += static_cast<char>(c);
                } else {
                    append_hex(t, c);
                }
                return t;
            };
            std::string t = token(col == 0);
            // Keep room for the soft-break "=" unless this is the line's last token.
            std::size_t limit = k + 1 == line.size() ? kQpMaxLine : kQpMaxLine - 1;
            if (col + t.size() > limit) {
                out += "=\r\n";
                col = 0;
                t = token(true);
            }
            out += t;
            col += t.size();
        }
        if (eol == std::string_view::npos) break;
        out += "\r\n";
        i = eol + 1;
        if (text[eol] == '\r' && i < text.size() && text[i] == '\n') ++i;
    }
    return out;
}

// RFC 2047 B encoded-words, each <= 75 characters, never splitting a UTF-8 sequence.
std::vector<std::string> encoded_words(std::string_view s) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t n = std::min(kEncodedWordRaw, s.size() - i);
        if (i + n < s.size()) {
            std::size_t back = n;
            while (back > 0 && (static_cast<unsigned char>(s[i + back]) & 0xC0) == 0x80) --back;
            if (back > 0) n = back;  // else: not UTF-8 at all; any split is as good as another
        }
        words.push_back("=?UTF-8?B?" + base64(s.substr(i, n), false) + "?=");
        i += n;
    }
    return words;
}

// "Name: tok tok ..." folded before a token when the line would pass 78 columns. Folding replaces the
// separating space by CRLF SP, so unfolding restores the exact value. Empty tokens (runs of spaces) never
// start a continuation line (a whitespace-only line is not allowed).
std::string header(std::string_view name, const std::vector<std::string>& tokens) {
    std::string out(name);
    out += ':';
    std::size_t col = out.size();
    bool first = true;
    for (const auto& t : tokens) {
        if (!first && !t.empty() && col + 1 + t.size() > kFoldWidth) {
            out += "\r\n ";
            col = 1;
        } else {
            out += ' ';
            ++col;
        }
        out += t;
        col += t.size();
        first = false;
    }
    out += "\r\n";
    return out;
}

std::vector<std::string> split_spaces(std::string_view s) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t sp = s.find(' ', start);
        parts.emplace_back(s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
        if (sp == std::string_view::npos) return parts;
        start = sp + 1;
    }
}

// Unstructured text (Subject): plain ASCII words when that is unambiguous and foldable, else encoded-words.
std::vector<std::string> unstructured_tokens(std::string_view s) {
    bool plain = is_printable_ascii(s) && s.find("=?") == std::string_view::npos &&
                 (s.empty() || (s.front() != ' ' && s.back() != ' '));
    if (plain) {
        auto words = split_spaces(s);
        for (const auto& w : words) {
            if (w.size() > kFoldWidth - 2) plain = false;  // an unbreakable run: encode so it can fold
        }
        if (plain) return words;
    }
    return encoded_words(s);
}

std::string quoted_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::vector<std::string> mailbox_tokens(std::string_view name, const std::string& addr) {
    if (name.empty()) return {addr};
    std::vector<std::string> tokens;
    if (is_printable_ascii(name) && name.size() <= kMaxQuotedName && name.find("=?") == std::string_view::npos) {
        tokens.push_back(quoted_string(name));
    } else {
        tokens = encoded_words(name);
    }
    tokens.push_back("<" + addr + ">");
    return tokens;
}

std::vector<std::string> address_list_tokens(const std::vector<std::string>& addrs) {
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < addrs.size(); ++i) tokens.push_back(addrs[i] + (i + 1 < addrs.size() ? "," : ""));
    return tokens;
}

void check_address(std::string_view what, const std::string& a) {
    require_single_line(what, a);
    if (!valid_address(a)) invalid(std::string(what) + " is not a valid address: '" + a + "'");
}

void check_message_id(const std::string& id) {
    require_single_line("message_id", id);
    if (id.empty()) invalid("message_id is required (stable per job, so retries are recognisable)");
    if (id.size() > kMaxMessageId) invalid("message_id is longer than 250 characters");
    auto at = id.find('@');
    if (at == std::string::npos || id.find('@', at + 1) != std::string::npos || !is_dot_atom(id.substr(0, at)) ||
        !is_dot_atom(id.substr(at + 1))) {
        invalid("message_id must look like left@right (dot-atoms, no angle brackets): '" + id + "'");
    }
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

// "=_" never occurs in quoted-printable or base64 output, so a boundary starting with it cannot collide
// with any encoded part; that lets it be derived from the Message-ID and keep the output deterministic.
std::string boundary(std::string_view kind, std::string_view message_id) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(message_id)));
    return "=_fb_" + std::string(kind) + "_" + hex;
}

struct Part {
    std::string headers;  // complete header lines, each ending in CRLF
    std::string body;     // no trailing CRLF required; the enclosing delimiter supplies it
};

Part text_part(std::string_view subtype, std::string_view content) {
    return Part{"Content-Type: text/" + std::string(subtype) +
                    "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                quoted_printable(content)};
}

Part multipart(std::string_view subtype, const std::string& b, const std::vector<Part>& parts) {
    Part out;
    out.headers = "Content-Type: multipart/" + std::string(subtype) + ";\r\n boundary=\"" + b + "\"\r\n";
    for (const auto& p : parts) {
        out.body += "--" + b + "\r\n" + p.headers + "\r\n" + p.body + "\r\n";
    }
    out.body += "--" + b + "--";
    return out;
}

std::string percent_encode_2231(std::string_view s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
        if (keep) {
            out += ch;
        } else {
            out += '%';
            out += kHexUpper[c >> 4];
            out += kHexUpper[c & 15];
        }
    }
    return out;
}

Part attachment_part(const Attachment& a) {
    require_single_line("attachment filename", a.filename);
    require_single_line("attachment content_type", a.content_type);
    if (a.filename.empty()) invalid("attachment filename is empty");
    if (a.filename.size() > kMaxFilename) invalid("attachment filename is longer than 255 bytes");
    for (char c : a.filename) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) invalid("attachment filename contains a control character");
    }
    std::string type = a.content_type.empty() ? "application/octet-stream" : a.content_type;
    auto slash = type.find('/');
    if (type.size() > kMaxContentType || !is_printable_ascii(type) || slash == std::string::npos || slash == 0 ||
        slash + 1 == type.size() || type.find(' ') < type.find(';')) {
        invalid("attachment content_type is not type/subtype: '" + type + "'");
    }
    std::string headers;
    if (is_printable_ascii(a.filename) && a.filename.size() <= kMaxQuotedName) {
        std::string q = quoted_string(a.filename);
        headers =
            "Content-Type: " + type + ";\r\n name=" + q + "\r\nContent-Disposition: attachment;\r\n filename=" + q;
    } else {
        // RFC 2231 only (a plain filename= beside it wins in some readers, Python's among them), split into
        // continuations so lines stay short; Content-Type's name= keeps an ASCII fallback for old readers.
        std::string fallback;
        for (char c : a.filename) fallback += is_printable_ascii(std::string_view(&c, 1)) ? c : '_';
        if (fallback.size() > kMaxQuotedName)
            fallback =
                fallback.substr(0, kMaxQuotedName / 2) + "..." + fallback.substr(fallback.size() - kMaxQuotedName / 2);
        headers =
            "Content-Type: " + type + ";\r\n name=" + quoted_string(fallback) + "\r\nContent-Disposition: attachment";
        std::string encoded = percent_encode_2231(a.filename);
        std::size_t pos = 0;
        for (int n = 0; pos < encoded.size(); ++n) {
            std::size_t len = std::min(kRfc2231Chunk, encoded.size() - pos);
            // Never cut a %XX triplet.
            if (pos + len < encoded.size()) {
                if (encoded[pos + len - 1] == '%')
                    len -= 1;
                else if (len >= 2 && encoded[pos + len - 2] == '%')
                    len -= 2;
            }
            headers +=
                ";\r\n filename*" + std::to_string(n) + "*=" + (n == 0 ? "UTF-8''" : "") + encoded.substr(pos, len);
            pos += len;
        }
    }
    headers += "\r\nContent-Transfer-Encoding: base64\r\n";
    return Part{std::move(headers), base64(a.data, true)};
}

}  // namespace

bool valid_address(std::string_view addr) {
    if (addr.empty() || addr.size() > 254) return false;
    auto at = addr.rfind('@');
    if (at == std::string_view::npos) return false;
    std::string_view local = addr.substr(0, at);
    std::string_view domain = addr.substr(at + 1);
    return local.size() <= 64 && is_dot_atom(local) && is_host_name(domain);
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[static_cast<std::size_t>(tm.tm_wday)],
                  tm.tm_mday, kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

std::string build_mime(const Message& m, std::chrono::system_clock::time_point date) {
    check_address("from", m.from);
    require_single_line("from_name", m.from_name);
    if (m.to.empty()) invalid("no recipient");
    for (const auto& a : m.to) check_address("to", a);
    for (const auto& a : m.reply_to) check_address("reply_to", a);
    require_single_line("subject", m.subject);
    check_message_id(m.message_id);

    std::string out;
    out += "Date: " + rfc5322_date(date) + "\r\n";
    out += header("From", mailbox_tokens(m.from_name, m.from));
    out += header("To", address_list_tokens(m.to));
    if (!m.reply_to.empty()) out += header("Reply-To", address_list_tokens(m.reply_to));
    out += header("Subject", unstructured_tokens(m.subject));
    out += "Message-ID: <" + m.message_id + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    // RFC 3834: tells auto-responders (vacation replies) not to answer machine-sent mail.
    out += "Auto-Submitted: auto-generated\r\n";

    Part body = text_part("plain", m.text);
    if (!m.html.empty()) {
        body = multipart("alternative", boundary("alt", m.message_id), {body, text_part("html", m.html)});
    }
    if (!m.attachments.empty()) {
        std::vector<Part> parts{std::move(body)};
        for (const auto& a : m.attachments) parts.push_back(attachment_part(a));
        body = multipart("mixed", boundary("mix", m.message_id), parts);
    }
    out += body.headers;
    out += "\r\n";
    out += body.body;
    // The message ends with a line break; a text body that ends with one already supplies it.
    if (body.body.size() < 2 || body.body.compare(body.body.size() - 2, 2, "\r\n") != 0) out += "\r\n";
    return out;
}

}  // namespace flashbill::mail
