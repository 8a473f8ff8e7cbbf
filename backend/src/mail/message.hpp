#pragma once
// An outgoing email and its RFC 5322/MIME rendering. Everything built here is 7-bit ASCII with CRLF
// line ends, so any SMTP relay (8BITMIME or not) and any .eml reader accepts it unchanged.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace flashbill::mail {

struct Attachment {
    std::string filename;      // shown to the recipient; may be non-ASCII (RFC 2231), no control characters
    std::string content_type;  // e.g. "application/pdf"; empty = application/octet-stream
    std::string data;          // raw bytes, any values
};

struct Message {
    std::string from;                   // address only
    std::string from_name;              // display name, may be non-ASCII
    std::vector<std::string> to;        // at least one
    std::vector<std::string> reply_to;  // optional
    std::string subject;                // may be non-ASCII (RFC 2047 encoded-words)
    std::string text;                   // text/plain part (always present, may be empty)
    std::string html;                   // text/html part (optional)
    std::vector<Attachment> attachments;
    // Without angle brackets, e.g. "job-<uuid>@flashbill.example". Required and stable across retries of one
    // job, so a receiver (or a person reading two copies) can tell a retried send from a new message.
    std::string message_id;
};

// Renders m as an RFC 5322 message: single text/plain part, or multipart/alternative(text, html), inside
// multipart/mixed when there are attachments. Text and HTML are quoted-printable (readable in the outbox),
// attachments base64; no line exceeds 78 octets except unbreakable header tokens (never 998). Date comes
// from `date` (UTC). Deterministic: the same message and date give the same bytes. Throws
// std::invalid_argument for a message that cannot be sent: CR/LF/NUL in any header value (header
// injection), an invalid address, no recipient, a malformed message_id or attachment name/type.
std::string build_mime(const Message& m, std::chrono::system_clock::time_point date);

// Practical RFC 5321 subset: dot-atom local part (<= 64) "@" a host name of LDH labels (<= 253), ASCII
// only, no spaces, quotes, angle brackets or control characters; <= 254 octets in all.
bool valid_address(std::string_view addr);

// The RFC 5322 date-time for t in UTC, e.g. "Tue, 01 Jan 2030 12:00:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace flashbill::mail
