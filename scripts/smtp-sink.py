#!/usr/bin/python3
"""SMTP sink for FlashBill development and tests; started by scripts/smtp.

Usage: /usr/bin/python3 scripts/smtp-sink.py --dir DIR [--host 127.0.0.1] [--port 52525]
                                             [--auth] [--require-auth] [--pidfile FILE]
                                             [--tls-cert FILE --tls-key FILE [--implicit-tls]]

Accepts every message (EHLO/HELO, SMTPUTF8, 8BITMIME; STARTTLS only with --tls-cert) and stores it:
  DIR/mail/<UTC timestamp>-<n>.eml   the message exactly as received (written to a hidden
                                     temporary file, then renamed: never seen half-written)
  DIR/mail/index.jsonl               one JSON object per message, appended after its .eml:
                                     message_id, mail_from, rcpt_tos, subject, file
                                     (absolute path), auth_login (null unless AUTH),
                                     auth_mechanism (null unless AUTH), tls (bool),
                                     helo (the EHLO/HELO argument), received_at
--auth     offer AUTH PLAIN and LOGIN without TLS and accept any credentials.
--require-auth   like --auth, and MAIL is refused (530) until the client has authenticated.
--tls-cert FILE --tls-key FILE   PEM certificate (chain) and key: offer STARTTLS.
--implicit-tls   with --tls-cert/--tls-key: TLS from the first byte (SMTPS), no STARTTLS.
Fault mode: while DIR/reject exists, every RCPT is answered with its first line, e.g.
  "550 5.1.1 user unknown" (any "4xx"/"5xx" reply; other content gives a default 550).
  While DIR/reject-data exists, the end of every DATA is answered with its lines (a multi-line
  reply when there are several, e.g. "554-5.7.1 rejected" / "554 5.7.1 policy") and nothing is stored.
--pidfile  written once the socket listens, removed on SIGTERM/SIGINT.
Needs Debian's python3-aiosmtpd, hence /usr/bin/python3 (another python may lead PATH).
"""

import argparse
import asyncio
import datetime
import email.parser
import email.policy
import itertools
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult

log = logging.getLogger("smtp-sink")

REPLY_RE = re.compile(r"^[45][0-9][0-9][ -]")
DEFAULT_REJECT = "550 5.7.1 Rejected by the test fault file"


class Sink:
    """aiosmtpd handler: RCPT fault injection and atomic message storage."""

    def __init__(self, base_dir: Path):
        self.mail_dir = base_dir / "mail"
        self.reject_file = base_dir / "reject"
        self.reject_data_file = base_dir / "reject-data"
        self.index = self.mail_dir / "index.jsonl"
        self.counter = itertools.count(1)
        self.mail_dir.mkdir(parents=True, exist_ok=True)

    def reject_reply(self):
        """The forced RCPT reply while DIR/reject exists, else None (read on every RCPT)."""
        try:
            text = self.reject_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        line = text.strip().splitlines()[0].strip() if text.strip() else ""
        return line if REPLY_RE.match(line + " ") else DEFAULT_REJECT

    def reject_data_reply(self):
        """The forced end-of-DATA reply (possibly multi-line) while DIR/reject-data exists, else None."""
        try:
            text = self.reject_data_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines or not all(REPLY_RE.match(line + " ") for line in lines):
            return DEFAULT_REJECT
        code = lines[-1][:3]
        # Continuation lines are "NNN-text", the last "NNN text" (RFC 5321 4.2.1).
        lines = [code + "-" + line[4:] for line in lines[:-1]] + [code + " " + lines[-1][4:]]
        return "\r\n".join(lines)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.reject_reply()
        if reply is not None:
            log.info("RCPT %s rejected by fault file: %s", address, reply)
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.reject_data_reply()
        if reply is not None:
            log.info("DATA rejected by fault file: %s", reply.replace("\r\n", " | "))
            return reply
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")
        while True:
            path = self.mail_dir / f"{stamp}-{next(self.counter)}.eml"
            if not path.exists():
                break
        tmp = self.mail_dir / f".{path.name}.tmp"
        with open(tmp, "wb") as f:
            f.write(content)
        os.replace(tmp, path)

        message_id, subject = header_fields(content)
        auth_login = None
        auth_mechanism = None
        if session.authenticated and session.auth_data is not None:
            auth_login = _text(getattr(session.auth_data, "login", None))
            auth_mechanism = getattr(session, "fb_auth_mechanism", None)
        # STARTTLS sets session.ssl; with implicit TLS the transport itself is the TLS one.
        transport = getattr(server, "transport", None)
        tls = session.ssl is not None or (
            transport is not None and transport.get_extra_info("ssl_object") is not None
        )
        record = {
            "message_id": message_id,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": subject,
            "file": str(path),
            "auth_login": auth_login,
            "auth_mechanism": auth_mechanism,
            "tls": bool(tls),
            "helo": session.host_name,
            "received_at": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }
        # One write() of one line in append mode: concurrent readers never see half a line.
        with open(self.index, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        log.info("stored %s from %s to %s", path.name, envelope.mail_from, envelope.rcpt_tos)
        return f"250 2.0.0 OK queued as {path.name}"


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def header_fields(content: bytes):
    """(Message-ID, decoded Subject) of a raw message; None where absent or unparsable."""
    try:
        headers = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            content, headersonly=True
        )
        message_id = headers.get("Message-ID")
        subject = headers.get("Subject")
        return (
            str(message_id).strip() if message_id is not None else None,
            str(subject) if subject is not None else None,
        )
    except Exception:  # a malformed header must not lose the message
        log.exception("could not parse headers")
        return None, None


def accept_any_credentials(server, session, envelope, mechanism, auth_data):
    # Remembered so index.jsonl can tell which mechanism the client chose.
    session.fb_auth_mechanism = mechanism
    return AuthResult(success=True, auth_data=auth_data)


def tls_context(args):
    """Server-side TLS context from --tls-cert/--tls-key, or None without them."""
    if not args.tls_cert:
        return None
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    return context


def write_pidfile(path: Path):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, path)


async def serve(args):
    handler = Sink(Path(args.dir))
    loop = asyncio.get_running_loop()
    context = tls_context(args)

    def factory():
        kwargs = dict(
            hostname="flashbill-smtp-sink",  # not socket.getfqdn(): it can stall without DNS
            ident="FlashBill SMTP sink",
            enable_SMTPUTF8=True,
            data_size_limit=64 * 1024 * 1024,
            timeout=60,
            loop=loop,
        )
        if args.auth or args.require_auth:
            kwargs.update(authenticator=accept_any_credentials, auth_require_tls=False)
        if args.require_auth:
            kwargs.update(auth_required=True)
        if context is not None and not args.implicit_tls:
            kwargs.update(tls_context=context)
        return SMTP(handler, **kwargs)

    server = await loop.create_server(
        factory,
        host=args.host,
        port=args.port,
        ssl=context if args.implicit_tls else None,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.pidfile:
        write_pidfile(Path(args.pidfile))
    mode = "implicit TLS" if args.implicit_tls else ("STARTTLS" if context else "no TLS")
    log.info("listening on %s:%d (%s), storing mail in %s%s", args.host, args.port, mode,
             handler.mail_dir,
             " (AUTH required)" if args.require_auth else (" (AUTH accepted)" if args.auth else ""))
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        server.close()
        await server.wait_closed()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except FileNotFoundError:
                pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="state directory (mail/ and reject live here)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=52525)
    parser.add_argument("--auth", action="store_true", help="accept AUTH PLAIN/LOGIN, any credentials")
    parser.add_argument("--require-auth", action="store_true",
                        help="like --auth, and refuse MAIL until authenticated")
    parser.add_argument("--tls-cert", help="PEM certificate: offer STARTTLS (or implicit TLS)")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--implicit-tls", action="store_true",
                        help="TLS from the first byte (SMTPS) instead of STARTTLS")
    parser.add_argument("--pidfile")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        parser.error("--implicit-tls needs --tls-cert and --tls-key")
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # aiosmtpd logs every SMTP line at INFO under "mail.log": too chatty for a test sink.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
