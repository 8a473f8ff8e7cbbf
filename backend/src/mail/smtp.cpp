#include "mail/smtp.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace flashbill::mail {

namespace {

// libcurl documents curl_global_init as unsafe to race with other libcurl calls in older builds;
// once per process, before the first handle, settles it.
void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    });
}

struct EasyDeleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStringDeleter {
    void operator()(char* p) const { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// The SMTP dialogue as seen through CURLOPT_DEBUGFUNCTION: libcurl reports the reply code
// (CURLINFO_RESPONSE_CODE) and a terse error ("RCPT failed: 550") but not the reply text, which is what an
// operator needs in last_error. Only server replies and the names of our commands are kept: AUTH payloads
// (credentials) are never recorded.
struct Transcript {
    static constexpr std::size_t kMaxReply = 2000;

    std::string reply;     // last complete reply, continuation lines joined by a space
    std::string reply_to;  // the command it answered
    std::string pending;   // a multi-line reply being collected
    std::string last_command;
    bool in_data = false;    // after "354 go ahead" the next reply answers the message itself
    bool quit_sent = false;  // the reply to QUIT ("221 Bye") must not hide the one that failed

    void on_reply_line(std::string_view line) {
        if (quit_sent || line.empty()) return;
        bool more = line.size() >= 4 && line[3] == '-';
        std::string_view text = line.size() >= 4 ? line.substr(4) : std::string_view{};
        if (pending.empty()) {
            pending.assign(line.substr(0, std::min<std::size_t>(3, line.size())));
        }
        if (!text.empty() && pending.size() < kMaxReply) {
            pending += ' ';
            // A server's text ends up in logs and last_error: printable ASCII only, bounded.
            for (char c : text.substr(0, kMaxReply - pending.size())) {
                pending += (c >= 0x20 && c < 0x7f) ? c : '?';
            }
        }
        if (!more) {
            reply = std::move(pending);
            pending.clear();
            reply_to = in_data ? "end of DATA" : last_command;
            in_data = reply.rfind("354", 0) == 0;
        }
    }

    void on_command_line(std::string_view line) {
        std::size_t sp = line.find(' ');
        std::string verb(line.substr(0, sp));
        std::transform(verb.begin(), verb.end(), verb.begin(), [](unsigned char c) { return std::toupper(c); });
        static constexpr std::string_view kKnown[] = {"EHLO",     "HELO", "MAIL", "RCPT", "DATA",
                                                      "STARTTLS", "RSET", "NOOP", "QUIT"};
        if (verb == "AUTH") {
            // "AUTH PLAIN <initial response>": keep the mechanism only.
            std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
            last_command = "AUTH " + std::string(rest.substr(0, rest.find(' ')));
        } else if (std::find(std::begin(kKnown), std::end(kKnown), verb) != std::end(kKnown)) {
            last_command = std::string(line);
            if (verb == "QUIT") quit_sent = true;
        } else {
            last_command = "AUTH (credentials)";  // the only other client lines are SASL responses
        }
    }

    static void for_each_line(std::string_view data, void (Transcript::*fn)(std::string_view), Transcript* t) {
        while (!data.empty()) {
            std::size_t nl = data.find('\n');
            std::string_view line = data.substr(0, nl);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            (t->*fn)(line);
            if (nl == std::string_view::npos) break;
            data.remove_prefix(nl + 1);
        }
    }
};

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
    auto* t = static_cast<Transcript*>(user);
    if (type == CURLINFO_HEADER_IN) {
        Transcript::for_each_line(std::string_view(data, size), &Transcript::on_reply_line, t);
    } else if (type == CURLINFO_HEADER_OUT) {
        Transcript::for_each_line(std::string_view(data, size), &Transcript::on_command_line, t);
    }
    return 0;
}

struct Upload {
    std::string_view data;
    std::size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t nitems, void* user) {
    auto* u = static_cast<Upload*>(user);
    std::size_t n = std::min(size * nitems, u->data.size() - u->offset);
    std::memcpy(buffer, u->data.data() + u->offset, n);
    u->offset += n;
    return n;
}

SendResult permanent(std::string detail) { return {Outcome::kPermanent, std::move(detail)}; }

// The URL with the EHLO domain as its path (libcurl's way of choosing the EHLO argument), after checking
// that it is an smtp:// or smtps:// URL. Errors never repeat the URL: it may carry credentials.
bool effective_url(const std::string& url, const std::string& helo, std::string& out, std::string& error) {
    std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
    if (!u) {
        error = "out of memory";
        return false;
    }
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        error = "invalid SMTP URL (expected smtp://host:port or smtps://host:port)";
        return false;
    }
    char* raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) {
        error = "SMTP URL has no scheme";
        return false;
    }
    CurlString scheme(raw);
    if (std::strcmp(scheme.get(), "smtp") != 0 && std::strcmp(scheme.get(), "smtps") != 0) {
        error = std::string("SMTP URL must start with smtp:// or smtps://, not ") + scheme.get() + "://";
        return false;
    }
    raw = nullptr;
    std::string path = "/";
    if (curl_url_get(u.get(), CURLUPART_PATH, &raw, 0) == CURLUE_OK) {
        CurlString p(raw);
        path = p.get();
    }
    if (path.empty() || path == "/") {
        std::string with_helo = "/" + helo;
        if (curl_url_set(u.get(), CURLUPART_PATH, with_helo.c_str(), 0) != CURLUE_OK) {
            error = "invalid HELO domain '" + helo + "'";
            return false;
        }
    }
    raw = nullptr;
    if (curl_url_get(u.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK) {
        error = "invalid SMTP URL (expected smtp://host:port or smtps://host:port)";
        return false;
    }
    CurlString full(raw);
    out = full.get();
    return true;
}

bool is_tls_policy_error(CURLcode rc) {
    switch (rc) {
        case CURLE_USE_SSL_FAILED:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
            return true;
        default:
            return false;
    }
}

// Failures no retry can fix: bad settings, or a library that cannot do what is asked.
bool is_permanent_without_reply(CURLcode rc) {
    switch (rc) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_LOGIN_DENIED:  // without a 4xx/5xx reply: no AUTH mechanism in common
        case CURLE_AUTH_ERROR:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
        case CURLE_FILESIZE_EXCEEDED:
            return true;
        default:
            return false;
    }
}

std::string curl_detail(CURLcode rc, const char* errbuf) {
    std::string d = curl_easy_strerror(rc);
    if (errbuf[0] != '\0') {
        d += ": ";
        d += errbuf;
    }
    return d;
}

bool valid_mechanism(std::string_view m) {
    return !m.empty() && m.size() <= 20 && std::all_of(m.begin(), m.end(), [](unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

}  // namespace

SendResult send_smtp(const SmtpSettings& s, const Message& m) {
    std::string mime;
    try {
        mime = build_mime(m, std::chrono::system_clock::now());
    } catch (const std::invalid_argument& e) {
        return permanent(std::string("invalid message: ") + e.what());
    }

    std::string helo = s.helo_domain.empty() ? m.from.substr(m.from.rfind('@') + 1) : s.helo_domain;
    if (!valid_address("postmaster@" + helo)) return permanent("invalid HELO domain '" + helo + "'");
    std::string url, url_error;
    if (!effective_url(s.url, helo, url, url_error)) return permanent(url_error);
    bool implicit_tls = url.rfind("smtps://", 0) == 0;
    if (!s.auth_mechanism.empty() && !valid_mechanism(s.auth_mechanism)) {
        return permanent("invalid SMTP AUTH mechanism '" + s.auth_mechanism + "'");
    }

    global_init();
    std::unique_ptr<CURL, EasyDeleter> h(curl_easy_init());
    if (!h) return {Outcome::kTransient, "curl_easy_init failed"};
    CURL* c = h.get();

    char errbuf[CURL_ERROR_SIZE] = {};
    Transcript transcript;
    Upload upload{mime};
    std::unique_ptr<curl_slist, SlistDeleter> rcpts;
    for (const auto& to : m.to) {
        curl_slist* next = curl_slist_append(rcpts.get(), ("<" + to + ">").c_str());
        if (!next) return {Outcome::kTransient, "out of memory"};
        (void)rcpts.release();
        rcpts.reset(next);
    }
    std::string mail_from = "<" + m.from + ">";

    auto use_ssl = CURLUSESSL_TRY;
    switch (s.starttls) {
        case SmtpSettings::Tls::kNone:
            use_ssl = CURLUSESSL_NONE;
            break;
        case SmtpSettings::Tls::kOpportunistic:
            use_ssl = CURLUSESSL_TRY;
            break;
        case SmtpSettings::Tls::kRequired:
            use_ssl = CURLUSESSL_ALL;
            break;
    }
    bool tls_forced_by_auth = false;
    if (!s.username.empty() && !implicit_tls && use_ssl != CURLUSESSL_ALL && !s.allow_plaintext_auth) {
        use_ssl = CURLUSESSL_ALL;
        tls_forced_by_auth = true;
    }

    auto ms = [](auto d) {
        return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
    };
    CURLcode set = CURLE_OK;
    auto opt = [&](CURLoption o, auto v) {
        if (set == CURLE_OK) set = curl_easy_setopt(c, o, v);
    };
    opt(CURLOPT_URL, url.c_str());
    opt(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    opt(CURLOPT_NOSIGNAL, 1L);
    opt(CURLOPT_ERRORBUFFER, errbuf);
    opt(CURLOPT_VERBOSE, 1L);  // feeds on_debug only: with a DEBUGFUNCTION nothing goes to stderr
    opt(CURLOPT_DEBUGFUNCTION, &on_debug);
    opt(CURLOPT_DEBUGDATA, &transcript);
    opt(CURLOPT_MAIL_FROM, mail_from.c_str());
    opt(CURLOPT_MAIL_RCPT, rcpts.get());
    opt(CURLOPT_UPLOAD, 1L);
    opt(CURLOPT_READFUNCTION, &on_read);
    opt(CURLOPT_READDATA, &upload);
    opt(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mime.size()));  // SIZE= lets the server refuse early
    opt(CURLOPT_USE_SSL, static_cast<long>(use_ssl));
    opt(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    opt(CURLOPT_SSL_VERIFYPEER, 1L);
    opt(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!s.ca_file.empty()) opt(CURLOPT_CAINFO, s.ca_file.c_str());
    opt(CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, ms(s.connect_timeout)));
    opt(CURLOPT_TIMEOUT_MS, std::max(1L, ms(s.timeout)));
    opt(CURLOPT_SERVER_RESPONSE_TIMEOUT, std::max(1L, static_cast<long>(s.timeout.count())));
    std::string login_options;
    if (!s.username.empty()) {
        opt(CURLOPT_USERNAME, s.username.c_str());
        opt(CURLOPT_PASSWORD, s.password.c_str());
        opt(CURLOPT_SASL_IR, 1L);  // AUTH PLAIN with its initial response: one round trip fewer
        if (!s.auth_mechanism.empty()) {
            login_options = "AUTH=" + s.auth_mechanism;
            opt(CURLOPT_LOGIN_OPTIONS, login_options.c_str());
        }
    }
    if (set != CURLE_OK) return permanent(std::string("libcurl option not supported: ") + curl_easy_strerror(set));

    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);

    if (rc == CURLE_OK) return {Outcome::kSent, transcript.reply};
    std::string reply = transcript.reply;
    if (!reply.empty() && !transcript.reply_to.empty()) reply += " (in reply to " + transcript.reply_to + ")";

    if (is_tls_policy_error(rc)) {
        std::string d = curl_detail(rc, errbuf);
        if (rc == CURLE_USE_SSL_FAILED) {
            d = "TLS required but the server did not provide it (" + d + ")";
            if (tls_forced_by_auth) d += "; credentials are only sent over TLS (allow_plaintext_auth is off)";
        }
        return permanent(std::move(d));
    }
    // The reply code libcurl recorded for the last SMTP reply (QUIT's excluded) decides, when there was one.
    if (code >= 400 && code < 600) {
        if (reply.empty()) reply = std::to_string(code) + " (" + curl_detail(rc, errbuf) + ")";
        return {code < 500 ? Outcome::kTransient : Outcome::kPermanent, reply};
    }
    if (is_permanent_without_reply(rc)) return permanent(curl_detail(rc, errbuf));
    // Refused, reset, timed out, DNS, TLS handshake cut short...: the server may well be back later.
    return {Outcome::kTransient, curl_detail(rc, errbuf)};
}

}  // namespace flashbill::mail
