#pragma once
// The mail layer in one include: MIME building, SMTP sending, the development outbox, templates.
// Sending blocks; it runs on the job worker's thread (backend/src/jobs/), never on an HTTP event loop.

#include "mail/deliver.hpp"
#include "mail/message.hpp"
#include "mail/outbox.hpp"
#include "mail/send_result.hpp"
#include "mail/smtp.hpp"
#include "mail/templates.hpp"
