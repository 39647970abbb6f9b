"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, on a port the OS picks, keeping every mail.

Fixtures (registered by `pytest_plugins` in conftest.py):
    smtp_server   a running server; `smtp_server.messages` lists every `ReceivedMail`
    mail_app      the session's `app`, configured to deliver to `smtp_server` over plain SMTP
                  for the duration of the test

For servers with other options (AUTH, STARTTLS, a slow or a refusing server), use
`running_smtp_server(**options)` and `configured(app, **settings)` directly; mail sent after the
response or by a worker arrives later: `wait_for_messages(server, count)`.
"""

from __future__ import annotations

import asyncio
import email
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

HOST = "127.0.0.1"
URL_PATTERN = re.compile(r"https?://[^\s<>\"']+")


@dataclass
class ReceivedMail:
    """One message as the server received it: the SMTP envelope and the parsed message."""

    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage
    login: str | None = None  # the user name the client authenticated with, if it did

    @property
    def text(self) -> str:
        """The text/plain part."""
        return part_content(self.message, "plain")

    @property
    def html(self) -> str:
        """The text/html part."""
        return part_content(self.message, "html")


class MailCollector:
    """aiosmtpd handler: parse every message and keep it.

    `delay` seconds pass before each answer to DATA (a slow relay); with `refuse_with` (an SMTP
    reply such as "451 4.3.0 Try again later") every message is refused, and its recipients are
    recorded in `refused`, one entry per attempt.
    """

    def __init__(self, *, delay: float = 0.0, refuse_with: str | None = None) -> None:
        self.messages: list[ReceivedMail] = []
        self.refused: list[list[str]] = []
        self.delay = delay
        self.refuse_with = refuse_with

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_with:
            self.refused.append(list(envelope.rcpt_tos))
            return self.refuse_with
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=default_policy)
        login = getattr(session.auth_data, "login", None)
        self.messages.append(
            ReceivedMail(
                envelope_from=envelope.mail_from or "",
                envelope_to=list(envelope.rcpt_tos),
                message=message,
                login=login.decode() if login else None,
            )
        )
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """Binds port 0 and learns the port the OS chose before its start-up self-test connects."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SMTPServer:
    """Where the test server listens and what it has received."""

    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    refused: list[list[str]] = field(default_factory=list)


@contextmanager
def running_smtp_server(
    *, delay: float = 0.0, refuse_with: str | None = None, **smtp_options: Any
) -> Iterator[SMTPServer]:
    """Run an aiosmtpd server for the block (see `MailCollector` for `delay` and `refuse_with`);
    `smtp_options` go to aiosmtpd's `SMTP`."""
    handler = MailCollector(delay=delay, refuse_with=refuse_with)
    controller = _FreePortController(
        handler, hostname=HOST, port=0, server_hostname="localhost", **smtp_options
    )
    controller.start()
    try:
        yield SMTPServer(
            host=HOST, port=controller.port, messages=handler.messages, refused=handler.refused
        )
    finally:
        controller.stop()


@contextmanager
def configured(app: Flask, **settings: Any) -> Iterator[Flask]:
    """Apply config `settings` to `app` for the block, then restore the previous values."""
    missing = object()
    previous = {name: app.config.get(name, missing) for name in settings}
    app.config.update(settings)
    try:
        yield app
    finally:
        for name, value in previous.items():
            if value is missing:
                app.config.pop(name, None)
            else:
                app.config[name] = value


def smtp_settings(server: SMTPServer, **overrides: Any) -> dict[str, Any]:
    """Config that delivers to `server` over plain SMTP (no STARTTLS, no SSL, no login)."""
    return {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": server.host,
        "MAIL_PORT": server.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_TIMEOUT": 5,
        **overrides,
    }


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A real SMTP server on 127.0.0.1 for this test; `.messages` holds what it received."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def mail_app(app: Flask, smtp_server: SMTPServer) -> Iterator[Flask]:
    """The session's application, delivering mail to `smtp_server` for this test."""
    with configured(app, **smtp_settings(smtp_server)):
        yield app


def wait_for_messages(server: SMTPServer, count: int, timeout: float = 15.0) -> list[ReceivedMail]:
    """Poll until `server` has received `count` messages (mail sent by a worker or after the
    response); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while len(server.messages) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(server.messages)} of {count} mails arrived within {timeout}s")
        time.sleep(0.02)
    return server.messages


def part_content(message: EmailMessage, subtype: str) -> str:
    """The decoded text/`subtype` part of `message`."""
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        raise LookupError(f"the message has no text/{subtype} part")
    return str(part.get_content())


def first_link(mail: ReceivedMail | EmailMessage, path: str) -> str:
    """The first URL in the text part whose path ends with `path` (e.g. `/auth/verify-email`)."""
    message = mail.message if isinstance(mail, ReceivedMail) else mail
    for url in URL_PATTERN.findall(part_content(message, "plain")):
        if urlsplit(url).path.endswith(path):
            return url
    raise LookupError(f"no link to {path} in the text part")
