#pragma once
// Transport choice in one place: SMTP when configured, else the development outbox.

#include <string>

#include "mail/outbox.hpp"
#include "mail/smtp.hpp"

namespace flashbill::mail {

// send_smtp(smtp, m) when smtp.url is set (SMTP_URL), else write_outbox(outbox_dir, m) (MAIL_OUTBOX_DIR).
inline SendResult deliver(const SmtpSettings& smtp, const std::string& outbox_dir, const Message& m) {
    return smtp.url.empty() ? write_outbox(outbox_dir, m) : send_smtp(smtp, m);
}

}  // namespace flashbill::mail
