#pragma once
// The development outbox: when no SMTP server is configured, messages become .eml files a developer can
// open in any mail client.

#include <string>

#include "mail/message.hpp"
#include "mail/send_result.hpp"

namespace flashbill::mail {

// Writes <dir>/<UTC yyyymmddThhmmssZ>-<message_id>.eml (dir created if missing) via a hidden temporary
// file and a hard link, so readers never see half a message. Idempotent per message_id: when a file for
// it already exists (any date), nothing is written and the result is kSent naming that file. A message
// that cannot be built -> kPermanent; a filesystem failure -> kTransient (detail = path and errno text).
// Characters of message_id outside [A-Za-z0-9.@_+=-] appear percent-encoded in the file name.
SendResult write_outbox(const std::string& dir, const Message& m);

}  // namespace flashbill::mail
