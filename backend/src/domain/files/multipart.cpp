#include "domain/files/multipart.hpp"

namespace flashbill::domain::files {

namespace {

constexpr std::string_view kCrlf = "\r\n";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

Error unsupported(std::string message) { return Error{ErrorCode::kUnsupportedMediaType, std::move(message), {}}; }

// RFC 2045 token characters (no separators, no controls, no space).
bool is_token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

struct Param {
    std::string name;  // lower-cased
    std::string value;
};

// Parses `; name=value` parameters (value a token or a quoted-string with backslash escapes) after
// the leading value; nullopt when malformed.
std::optional<std::vector<Param>> parse_params(std::string_view s) {
    std::vector<Param> out;
    std::size_t i = 0;
    auto skip_ws = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    };
    while (true) {
        skip_ws();
        if (i == s.size()) return out;
        if (s[i] != ';') return std::nullopt;
        ++i;
        skip_ws();
        if (i == s.size()) return out;  // a trailing ';' is tolerated
        Param p;
        while (i < s.size() && is_token_char(s[i])) p.name.push_back(lower(s[i++]));
        skip_ws();
        if (p.name.empty() || i == s.size() || s[i] != '=') return std::nullopt;
        ++i;
        skip_ws();
        if (i < s.size() && s[i] == '"') {
            ++i;
            bool closed = false;
            while (i < s.size()) {
                char c = s[i++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\' && i < s.size()) c = s[i++];
                p.value.push_back(c);
            }
            if (!closed) return std::nullopt;
        } else {
            // Browsers send unquoted values with bytes outside the token set (UTF-8 names); accept
            // everything up to the next ';'.
            while (i < s.size() && s[i] != ';' && s[i] != ' ' && s[i] != '\t') p.value.push_back(s[i++]);
            if (p.value.empty()) return std::nullopt;
        }
        out.push_back(std::move(p));
    }
}

// The media type (lower-cased) and the rest of a header value after it.
std::pair<std::string, std::string_view> split_type(std::string_view value) {
    value = trim(value);
    auto semi = value.find(';');
    std::string type(trim(value.substr(0, semi)));
    for (auto& c : type) c = lower(c);
    return {type, semi == std::string_view::npos ? std::string_view{} : value.substr(semi)};
}

// One part's header block (without the blank line) into `part`.
Result<void> parse_part_headers(std::string_view block, Part& part) {
    bool disposition = false;
    while (!block.empty()) {
        auto eol = block.find(kCrlf);
        std::string_view line = block.substr(0, eol);
        block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
        if (line.empty()) return Error::bad_request("malformed multipart body: empty header line");
        // Obsolete line folding (RFC 7230 §3.2.4) is refused, as HTTP itself does.
        if (line.front() == ' ' || line.front() == '\t')
            return Error::bad_request("malformed multipart body: folded header");
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return Error::bad_request("malformed multipart body: header line without a name");
        }
        std::string_view name = line.substr(0, colon);
        for (char c : name) {
            if (!is_token_char(c)) return Error::bad_request("malformed multipart body: bad header name");
        }
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Disposition")) {
            if (disposition) return Error::bad_request("malformed multipart body: two Content-Disposition headers");
            disposition = true;
            auto [type, rest] = split_type(value);
            if (type != "form-data") return Error::bad_request("malformed multipart body: part is not form-data");
            auto params = parse_params(rest);
            if (!params) return Error::bad_request("malformed multipart body: bad Content-Disposition parameters");
            bool named = false;
            for (auto& p : *params) {
                if (p.name == "name") {
                    part.name = std::move(p.value);
                    named = true;
                } else if (p.name == "filename") {
                    part.filename = base_name(p.value);
                }
                // filename* (RFC 5987) is ignored: RFC 7578 §4.2 says senders must not use it.
            }
            if (!named || part.name.empty()) {
                return Error::bad_request("malformed multipart body: part without a name");
            }
        } else if (iequals(name, "Content-Type")) {
            part.content_type = split_type(value).first;
        }
        // Other headers (Content-Transfer-Encoding is deprecated by RFC 7578 §4.7) are ignored.
    }
    if (!disposition) return Error::bad_request("malformed multipart body: part without Content-Disposition");
    return Result<void>{};
}

// Appends `c` to `out` when it starts a valid UTF-8 sequence at s[i]; returns the bytes consumed
// (invalid bytes become one '_').
std::size_t copy_utf8(std::string_view s, std::size_t i, std::string& out) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size() && !(len == 2 && b < 0xC2) && !(len == 4 && b > 0xF4);
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {
        auto b1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(b == 0xE0 && b1 < 0xA0) && !(b == 0xED && b1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && len == 4) {
        auto b1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(b == 0xF0 && b1 < 0x90) && !(b == 0xF4 && b1 >= 0x90);
    }
    if (!ok) {
        out.push_back('_');
        return 1;
    }
    if (len == 1 && (b < 0x20 || b == 0x7F)) {
        out.push_back('_');
        return 1;
    }
    out.append(s.substr(i, len));
    return len;
}

// The next real delimiter at or after `from`: "\r\n--boundary" followed by "--" or by optional
// padding and CRLF. The same bytes followed by anything else are data (a longer line that merely
// starts like the boundary), so the search goes on.
std::size_t find_delimiter(std::string_view body, std::string_view delimiter, std::size_t from) {
    while (true) {
        auto at = body.find(delimiter, from);
        if (at == std::string_view::npos) return at;
        std::size_t after = at + delimiter.size();
        if (body.substr(after, 2) == "--") return at;
        while (after < body.size() && (body[after] == ' ' || body[after] == '\t')) ++after;
        if (body.substr(after, 2) == kCrlf) return at;
        from = at + 1;
    }
}

}  // namespace

std::string base_name(std::string_view filename) {
    auto sep = filename.find_last_of("/\\");
    if (sep != std::string_view::npos) filename.remove_prefix(sep + 1);
    std::string out;
    for (std::size_t i = 0; i < filename.size();) {
        std::size_t before = out.size();
        std::size_t used = copy_utf8(filename, i, out);
        if (out.size() > 255) {  // cut at a character boundary
            out.resize(before);
            break;
        }
        i += used;
    }
    std::string_view t = trim(out);
    // "." and ".." are not names (they would be path steps anywhere they were used as one).
    if (t == "." || t == "..") return {};
    return std::string(t);
}

Result<std::string> multipart_boundary(std::string_view content_type) {
    auto [type, rest] = split_type(content_type);
    if (type != "multipart/form-data") return unsupported("Content-Type must be multipart/form-data");
    auto params = parse_params(rest);
    if (!params) return Error::bad_request("malformed Content-Type parameters");
    for (const auto& p : *params) {
        if (p.name != "boundary") continue;
        // RFC 2046 §5.1.1: 1–70 characters from a restricted set, not ending in a space.
        constexpr std::string_view kBChars =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'()+_,-./:=? ";
        bool ok = !p.value.empty() && p.value.size() <= 70 && p.value.back() != ' ';
        for (char c : p.value) ok = ok && kBChars.find(c) != std::string_view::npos;
        if (!ok) return Error::bad_request("the multipart boundary is not valid");
        return p.value;
    }
    return Error::bad_request("multipart/form-data without a boundary");
}

Result<std::vector<Part>> parse_multipart(std::string_view content_type, std::string_view body,
                                          MultipartLimits limits) {
    auto boundary = multipart_boundary(content_type);
    if (!boundary) return boundary.error();
    // Every delimiter but a first one at the very start is preceded by CRLF (RFC 2046 §5.1.1).
    const std::string delimiter = "\r\n--" + *boundary;

    // The first delimiter: at the start, or after a preamble (which is ignored).
    std::size_t pos = 0;
    if (body.substr(0, delimiter.size() - 2) == std::string_view(delimiter).substr(2)) {
        pos = delimiter.size() - 2;
    } else {
        auto first = find_delimiter(body, delimiter, 0);
        if (first == std::string_view::npos) return Error::bad_request("malformed multipart body: no boundary");
        pos = first + delimiter.size();
    }

    std::vector<Part> parts;
    while (true) {
        // After a delimiter: "--" closes the body; otherwise optional padding then CRLF.
        if (body.substr(pos, 2) == "--") return parts;  // the epilogue is ignored
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
        if (body.substr(pos, 2) != kCrlf) return Error::bad_request("malformed multipart body: bad delimiter line");
        pos += 2;
        if (parts.size() == limits.max_parts) return Error::bad_request("malformed multipart body: too many parts");

        // The header block ends at the first blank line; a part may have no headers at all only in
        // MIME, never in form-data (Content-Disposition is required).
        if (body.substr(pos, 2) == kCrlf) {
            return Error::bad_request("malformed multipart body: part without Content-Disposition");
        }
        auto end = body.find("\r\n\r\n", pos);
        std::size_t header_len = end == std::string_view::npos ? body.size() - pos : end - pos;
        if (header_len > limits.max_header_bytes) {
            return Error::bad_request("malformed multipart body: part headers too large");
        }
        if (end == std::string_view::npos) return Error::bad_request("malformed multipart body: unterminated headers");
        Part part;
        auto headers = parse_part_headers(body.substr(pos, header_len), part);
        if (!headers) return headers.error();
        pos = end + 4;

        auto next = find_delimiter(body, delimiter, pos);
        if (next == std::string_view::npos) {
            return Error::bad_request("malformed multipart body: missing closing boundary");
        }
        if (next - pos > limits.max_part_bytes) {
            return Error{ErrorCode::kPayloadTooLarge,
                         "part '" + part.name + "' is larger than " + std::to_string(limits.max_part_bytes) + " bytes",
                         {}};
        }
        part.data = body.substr(pos, next - pos);
        parts.push_back(std::move(part));
        pos = next + delimiter.size();
    }
}

Result<Part> file_part(const std::vector<Part>& parts, std::string_view field) {
    for (const auto& p : parts) {
        if (p.name == field && p.filename) return p;
    }
    for (const auto& p : parts) {
        if (p.name == field) return Error::validation(std::string(field), "must be a file (a part with a filename)");
    }
    return Error::validation(std::string(field), "is required");
}

}  // namespace flashbill::domain::files
