#pragma once
// Sending over SMTP with libcurl. Blocking: call it from the job worker's thread, never an event loop.

#include <chrono>
#include <string>

#include "mail/message.hpp"
#include "mail/send_result.hpp"

namespace flashbill::mail {

struct SmtpSettings {
    std::string url;                 // smtp://host:port (plain or STARTTLS), smtps://host:port (implicit TLS)
    std::string username, password;  // AUTH when username is non-empty
    // For smtp:// URLs. kOpportunistic upgrades when the server offers STARTTLS (and then verifies the
    // certificate: a failed upgrade is an error, never a silent fall back to plain text).
    enum class Tls { kNone, kOpportunistic, kRequired } starttls = Tls::kOpportunistic;
    std::string ca_file;                               // extra CA bundle (tests, private CAs); empty = system store
    std::chrono::seconds timeout{30};                  // whole transaction, and each wait for a server reply
    std::chrono::milliseconds connect_timeout{10000};  // TCP connect (and implicit-TLS handshake)
    std::string helo_domain;                           // defaults to the From domain
    std::string auth_mechanism;  // "PLAIN", "LOGIN", ...; empty = libcurl picks among those offered
    // Credentials are never sent over an unencrypted connection: with a username, an smtp:// URL is
    // treated as starttls = kRequired unless this is set (loopback relays, the test sink).
    bool allow_plaintext_auth = false;
};

// Sends m to every address in m.to in one SMTP transaction (MAIL FROM = m.from); all recipients or none.
// 2xx -> kSent (detail = the server's final reply); SMTP 4xx, connection refused/reset, timeouts, DNS ->
// kTransient; SMTP 5xx -> kPermanent with the reply text; TLS required but not offered, an untrusted
// certificate, no usable AUTH mechanism, an invalid URL or message -> kPermanent.
SendResult send_smtp(const SmtpSettings& s, const Message& m);

}  // namespace flashbill::mail
