#pragma once
// What a send attempt ended in, classified for the job worker's retry decision.

#include <string>
#include <string_view>

namespace flashbill::mail {

// kSent: accepted (2xx). kTransient: try again later (SMTP 4xx, server down, timeouts, DNS, disk full).
// kPermanent: retrying the same message cannot succeed (SMTP 5xx, invalid message, TLS required but
// unavailable or untrusted, no usable AUTH mechanism, bad settings): the job goes to the dead state.
enum class Outcome { kSent, kTransient, kPermanent };

struct SendResult {
    Outcome outcome;
    // The server's reply (e.g. "550 5.1.1 no such user (in reply to RCPT TO:<x@y>)") or curl's error, for
    // the job's last_error; for kSent the final reply (queue id) or the outbox file. Never holds credentials.
    std::string detail;
};

// "sent", "transient" or "permanent" (logs, metrics labels).
std::string_view outcome_name(Outcome o);

}  // namespace flashbill::mail
