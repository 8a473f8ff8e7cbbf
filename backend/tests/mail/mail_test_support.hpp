#pragma once
// Helpers for the mail tests: an independent, strict reader of the MIME we produce (so a test parses our
// output back instead of comparing strings), private SMTP sinks started through scripts/smtp, the sink's
// index.jsonl, and a self-signed certificate for TLS.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/uuid.hpp"
#include "test_env.hpp"

namespace flashbill::mail::testing {

// ---- MIME reading ------------------------------------------------------------------------------------

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Lines of a CRLF text; throws if any line end is a bare LF or CR.
inline std::vector<std::string> crlf_lines(std::string_view s) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t cr = s.find_first_of("\r\n", pos);
        if (cr == std::string_view::npos) {
            lines.emplace_back(s.substr(pos));
            break;
        }
        if (s[cr] != '\r' || cr + 1 >= s.size() || s[cr + 1] != '\n') {
            throw std::runtime_error("bare CR or LF at offset " + std::to_string(cr));
        }
        lines.emplace_back(s.substr(pos, cr - pos));
        pos = cr + 2;
    }
    return lines;
}

inline std::string base64_decode(std::string_view in) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t pad = 0;
    for (char c : in) {
        if (c == '\r' || c == '\n') continue;
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad) throw std::runtime_error("base64: data after padding");
        auto v = alphabet.find(c);
        if (v == std::string::npos) throw std::runtime_error(std::string("base64: bad character '") + c + "'");
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

inline std::string qp_decode(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '=') {
            out += in[i];
            continue;
        }
        if (in.substr(i + 1, 2) == "\r\n") {
            i += 2;
            continue;
        }
        if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(in[i + 2])) ||
            std::islower(static_cast<unsigned char>(in[i + 1])) ||
            std::islower(static_cast<unsigned char>(in[i + 2]))) {
            throw std::runtime_error("quoted-printable: bad escape at " + std::to_string(i));
        }
        out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

// Decodes RFC 2047 B/Q encoded-words (UTF-8 only) in an unfolded header value; whitespace between two
// adjacent encoded-words is dropped, as the RFC says.
inline std::string decode_words(std::string_view v) {
    std::string out;
    std::string pending_ws;
    bool last_was_word = false;
    std::size_t i = 0;
    while (i < v.size()) {
        if (v[i] == ' ' || v[i] == '\t') {
            pending_ws += v[i++];
            continue;
        }
        std::size_t end = v.find_first_of(" \t", i);
        std::string_view tok = v.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
        bool word = tok.size() > 12 && lower(tok.substr(0, 10)) == "=?utf-8?b?" && tok.substr(tok.size() - 2) == "?=";
        bool qword = tok.size() > 12 && lower(tok.substr(0, 10)) == "=?utf-8?q?" && tok.substr(tok.size() - 2) == "?=";
        if (!((word || qword) && last_was_word)) out += pending_ws;
        pending_ws.clear();
        if (word) {
            if (tok.size() > 75) throw std::runtime_error("encoded-word longer than 75 characters");
            out += base64_decode(tok.substr(10, tok.size() - 12));
        } else if (qword) {
            std::string q(tok.substr(10, tok.size() - 12));
            for (auto& c : q) c = c == '_' ? ' ' : c;
            out += qp_decode(q);
        } else {
            out += tok;
        }
        last_was_word = word || qword;
        i += tok.size();
    }
    return out + pending_ws;
}

// A parameter of a structured header value (Content-Type, Content-Disposition), quotes removed.
inline std::string param(std::string_view value, std::string_view name) {
    std::string v(value);
    std::string key = lower(name) + "=";
    std::size_t pos = 0;
    while ((pos = v.find(';', pos)) != std::string::npos) {
        ++pos;
        while (pos < v.size() && (v[pos] == ' ' || v[pos] == '\t')) ++pos;
        if (lower(v.substr(pos, key.size())) != key) continue;
        pos += key.size();
        if (pos < v.size() && v[pos] == '"') {
            std::string out;
            for (++pos; pos < v.size() && v[pos] != '"'; ++pos) {
                if (v[pos] == '\\') ++pos;
                out += v[pos];
            }
            return out;
        }
        std::size_t end = v.find(';', pos);
        return v.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    }
    return "";
}

// An RFC 2231 parameter (name*=charset''pct or continuations name*0*=, name*1*=, ...), decoded to bytes.
inline std::string rfc2231_param(std::string_view value, std::string_view name) {
    std::string joined = param(value, std::string(name) + "*");
    if (joined.empty()) {
        for (int n = 0;; ++n) {
            std::string piece = param(value, std::string(name) + "*" + std::to_string(n) + "*");
            if (piece.empty()) break;
            joined += piece;
        }
    }
    auto quote = joined.find("''");
    if (quote == std::string::npos) return "";
    if (lower(joined.substr(0, quote)) != "utf-8") throw std::runtime_error("unexpected charset in " + joined);
    std::string out;
    for (std::size_t i = quote + 2; i < joined.size(); ++i) {
        if (joined[i] == '%') {
            out += static_cast<char>(std::stoi(joined.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += joined[i];
        }
    }
    return out;
}

struct Entity {
    std::vector<std::pair<std::string, std::string>> headers;  // unfolded values
    std::string body;                                          // still transfer-encoded
    std::vector<Entity> parts;                                 // multipart children

    // The value of a header that must occur exactly once; "" if absent. Throws on duplicates.
    std::string header(std::string_view name) const {
        std::string found;
        int n = 0;
        for (const auto& [k, v] : headers) {
            if (lower(k) == lower(name)) {
                found = v;
                ++n;
            }
        }
        if (n > 1) throw std::runtime_error("duplicate header " + std::string(name));
        return found;
    }
    std::string mime_type() const {
        std::string ct = header("Content-Type");
        return lower(ct.substr(0, ct.find(';')));
    }
    std::string decoded() const {
        std::string cte = lower(header("Content-Transfer-Encoding"));
        if (cte == "base64") return base64_decode(body);
        if (cte == "quoted-printable") return qp_decode(body);
        return body;
    }
};

// Parses an entity strictly: CRLF only, headers "Name: value" (folded lines start with SP/HT), a blank
// line, the body; multipart bodies are split at their boundary and each part parsed the same way.
inline Entity parse_entity(std::string_view raw) {
    Entity e;
    std::size_t sep = raw.find("\r\n\r\n");
    if (sep == std::string_view::npos) throw std::runtime_error("no blank line after the headers");
    for (const auto& line : crlf_lines(raw.substr(0, sep))) {
        if (line.empty()) throw std::runtime_error("empty header line");
        if (line[0] == ' ' || line[0] == '\t') {
            if (e.headers.empty()) throw std::runtime_error("continuation line before any header");
            if (line.find_first_not_of(" \t") == std::string::npos)
                throw std::runtime_error("whitespace-only folded line");
            e.headers.back().second += line;  // unfolding removes only the CRLF
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0) throw std::runtime_error("malformed header line: " + line);
        std::string name = line.substr(0, colon);
        for (char c : name) {
            if (c <= 32 || c >= 127) throw std::runtime_error("bad header name: " + name);
        }
        std::string value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        e.headers.emplace_back(name, value);
    }
    e.body = std::string(raw.substr(sep + 4));
    if (e.mime_type().rfind("multipart/", 0) == 0) {
        std::string b = param(e.header("Content-Type"), "boundary");
        if (b.empty()) throw std::runtime_error("multipart without boundary");
        std::string delim = "--" + b;
        std::string_view body = e.body;
        if (body.substr(0, delim.size() + 2) != delim + "\r\n")
            throw std::runtime_error("multipart does not start with its boundary");
        std::size_t start = delim.size() + 2;
        while (true) {
            std::size_t next = body.find("\r\n" + delim, start);
            if (next == std::string_view::npos) throw std::runtime_error("unterminated multipart " + b);
            e.parts.push_back(parse_entity(body.substr(start, next - start)));
            std::size_t after = next + 2 + delim.size();
            if (body.substr(after, 2) == "--") {
                std::string_view epilogue = body.substr(after + 2);
                if (!epilogue.empty() && epilogue != "\r\n") throw std::runtime_error("unexpected epilogue after " + b);
                break;
            }
            if (body.substr(after, 2) != "\r\n") throw std::runtime_error("junk after boundary " + b);
            start = after + 2;
        }
    }
    return e;
}

// ---- processes and sinks ------------------------------------------------------------------------------

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

// Runs a shell command; returns its exit status and stdout.
inline int run(const std::string& cmd, std::string* out = nullptr) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    std::string captured;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) captured.append(buf, n);
    int status = ::pclose(p);
    if (out) *out = captured;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A TCP port on loopback nothing listens on (the kernel's pick, released at once).
inline int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

inline std::vector<boost::json::object> read_index(const std::string& sink_dir) {
    std::vector<boost::json::object> out;
    std::ifstream in(sink_dir + "/mail/index.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) out.push_back(boost::json::parse(line).as_object());
    }
    return out;
}

// The index records of one message (by Message-ID, angle brackets included as stored).
inline std::vector<boost::json::object> records_for(const std::string& sink_dir, const std::string& message_id) {
    std::vector<boost::json::object> out;
    for (auto& r : read_index(sink_dir)) {
        if (r.at("message_id").is_string() && r.at("message_id").as_string() == "<" + message_id + ">")
            out.push_back(r);
    }
    return out;
}

// A private scripts/smtp sink on a free port in a fresh directory, stopped on destruction.
class Sink {
public:
    explicit Sink(std::vector<std::string> args = {}) : args_(std::move(args)) {
        dir_ = test::make_temp_dir("smtp");
        // free_port() releases the port before the sink binds it; another process may win that race.
        for (int attempt = 1;; ++attempt) {
            port_ = free_port();
            try {
                start();
                break;
            } catch (const std::exception&) {
                if (attempt == 3) throw;
            }
        }
    }
    ~Sink() {
        try {
            stop();
            // Keep the directory (smtp.log, mail/) for a failed test; drop it otherwise.
            if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
        } catch (...) {
        }
    }
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    void start() {
        std::string cmd = shell_quote(test::repo_root() + "/scripts/smtp") + " start --dir " + shell_quote(dir_) +
                          " --port " + std::to_string(port_);
        for (const auto& a : args_) cmd += " " + shell_quote(a);
        std::string out;
        if (run(cmd + " 2>&1", &out) != 0) throw std::runtime_error("scripts/smtp start failed: " + out);
        // The last stdout line is the URL.
        while (!out.empty() && out.back() == '\n') out.pop_back();
        url_ = out.substr(out.rfind('\n') + 1);
        running_ = true;
    }
    void stop() {
        if (!running_) return;
        run(shell_quote(test::repo_root() + "/scripts/smtp") + " stop --dir " + shell_quote(dir_) + " >/dev/null 2>&1");
        running_ = false;
    }
    // While set, every RCPT is answered with this line (scripts/smtp's DIR/reject).
    void reject(const std::string& reply) const { std::ofstream(dir_ + "/reject") << reply << "\n"; }
    void accept() const { std::filesystem::remove(dir_ + "/reject"); }
    // While set, the end of DATA is answered with these lines (a multi-line reply) and nothing is stored.
    void reject_data(const std::vector<std::string>& lines) const {
        std::ofstream out(dir_ + "/reject-data");
        for (const auto& l : lines) out << l << "\n";
    }

    const std::string& dir() const { return dir_; }
    const std::string& url() const { return url_; }
    int port() const { return port_; }

private:
    std::vector<std::string> args_;
    std::string dir_, url_;
    int port_ = 0;
    bool running_ = false;
};

// A self-signed certificate for localhost/127.0.0.1 (its own CA), made once per test process.
struct Certificate {
    std::string cert, key;
};
inline const Certificate& test_certificate() {
    static const Certificate c = [] {
        std::string dir = test::make_temp_dir("tls");
        Certificate c{dir + "/cert.pem", dir + "/key.pem"};
        std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
            " -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'"
            " -keyout " +
            shell_quote(c.key) + " -out " + shell_quote(c.cert) + " 2>&1";
        std::string out;
        if (run(cmd, &out) != 0) throw std::runtime_error("openssl req failed: " + out);
        return c;
    }();
    return c;
}

inline std::string unique_message_id() { return "job-" + new_uuid() + "@flashbill.test"; }

}  // namespace flashbill::mail::testing
