"""Outgoing email: render a text and an HTML template into one message, and deliver it.

`MAIL_BACKEND` chooses the delivery: `smtp` (smtplib), `console` (the rendered mail is printed to
stderr, links included; development only) or `none`. Requests never call this directly: the mail
jobs of services/mail_queue.py do, in a worker or after the response. Bodies carry single-use
tokens, so nothing on the smtp path ever logs a body.

Every mail is in its recipient's language (`mail_locale`): their saved one (`users.locale`), else
the language of the request that caused it (a queued job carries it, see `job_locale`), else
English. Subjects are marked with `N_` and translated here, with the templates.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import quote

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale, get_locale, gettext

from domain.texts import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES
from errors import EmailDeliveryError

logger = logging.getLogger(__name__)

VERIFY_LINK_PATH = "/auth/verify-email"
RESET_LINK_PATH = "/auth/reset-password"
CONFIRM_EMAIL_CHANGE_PATH = "/auth/email/confirm"
# The language of the request a queued mail job came from (set around the job by mail_queue).
_job_locale: ContextVar[str | None] = ContextVar("mail_job_locale", default=None)


def request_locale() -> str | None:
    """The language of the current request's pages (None outside a request): what a mail job
    started by this request is given, for a recipient without a saved language."""
    if not has_request_context():
        return None
    return str(get_locale() or DEFAULT_LOCALE)


@contextmanager
def job_locale(locale: str | None) -> Iterator[None]:
    """Mails sent inside the block fall back to `locale` (the language of the job's request)."""
    token = _job_locale.set(locale)
    try:
        yield
    finally:
        _job_locale.reset(token)


def mail_locale(saved: str | None) -> str:
    """The recipient's language: `saved` (theirs), else the causing request's, else English."""
    for candidate in (saved, _job_locale.get(), request_locale()):
        if candidate in SUPPORTED_LOCALES:
            return str(candidate)
    return DEFAULT_LOCALE


def send_verification_email(*, to: str, name: str, token: str, locale: str | None) -> None:
    """Mail `to` the link that confirms their address (`locale`: their saved language)."""
    send_email(
        to=to,
        locale=locale,
        subject=N_("Confirm your email address"),
        template="verify_email",
        context={"name": name, "link": public_link(VERIFY_LINK_PATH, token=token)},
    )


def send_password_reset_email(
    *, to: str, name: str, token: str, expires_minutes: int, locale: str | None
) -> None:
    """Mail `to` the link that lets them choose a new password (`locale`: their saved language)."""
    send_email(
        to=to,
        locale=locale,
        subject=N_("Reset your password"),
        template="reset_password",
        context={
            "name": name,
            "link": public_link(RESET_LINK_PATH, token=token),
            "expires_minutes": expires_minutes,
        },
    )


def send_email_change_confirmation(
    *, to: str, name: str, old_email: str, token: str, expires_hours: int, locale: str | None
) -> None:
    """Mail the new address `to` the link that makes it the account's address."""
    send_email(
        to=to,
        locale=locale,
        subject=N_("Confirm your new email address"),
        template="confirm_email_change",
        context={
            "name": name,
            "old_email": old_email,
            "link": public_link(CONFIRM_EMAIL_CHANGE_PATH, token=token),
            "expires_hours": expires_hours,
        },
    )


def send_email(
    *, to: str, locale: str | None, subject: str, template: str, context: Mapping[str, Any]
) -> None:
    """Render `templates/emails/<template>.txt` and `.html` in the recipient's language (`locale`:
    their saved one, see `mail_locale`) and deliver them by `MAIL_BACKEND`. `subject` is the
    English text marked with `N_`."""
    config = current_app.config
    with force_locale(mail_locale(locale)):
        subject = gettext(subject)
        values = {"subject": subject, "public_base_url": config["PUBLIC_BASE_URL"], **context}
        text = render_template(f"emails/{template}.txt", **values)
        html = render_template(f"emails/{template}.html", **values)
    message = build_message(to=to, subject=subject, text=text, html=html)
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        _deliver_by_smtp(message, template=template)
    elif backend == "console":
        # Printed, not logged: logs are redacted (the link's token would be scrubbed) and shipped
        # off the machine, while this is the developer's own terminal.
        print(  # noqa: T201
            f"--- email not sent (MAIL_BACKEND=console) ---\nFrom: {message['From']}\n"
            f"To: {message['To']}\nSubject: {subject}\n\n{text}\n--- end of email ---",
            file=sys.stderr,
            flush=True,
        )
    else:
        logger.debug("email %r to %s not sent: MAIL_BACKEND=none", template, masked_address(to))


def public_link(path: str, *, token: str) -> str:
    """An absolute link under `PUBLIC_BASE_URL` carrying `token` URL-encoded in its query."""
    return f"{absolute_url(path)}?token={quote(token, safe='')}"


def absolute_url(path: str) -> str:
    """`path` under `PUBLIC_BASE_URL`."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{path}"


def build_message(*, to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A multipart/alternative message from the configured sender: text part, then HTML part."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    # An explicit domain keeps make_msgid from resolving this host's name on every mail.
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _deliver_by_smtp(message: EmailMessage, *, template: str) -> None:
    config = current_app.config
    recipient = masked_address(str(message["To"]))
    if not config["MAIL_SERVER"]:
        logger.error("email %r to %s not sent: MAIL_SERVER is not set", template, recipient)
        raise EmailDeliveryError
    try:
        with _connect(config) as smtp:
            if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except OSError as exc:  # every smtplib error, refused connections, timeouts, TLS failures
        # The exception's text may quote the server's reply; its type and code are enough.
        code = getattr(exc, "smtp_code", None)
        logger.error(
            "email %r to %s not sent: %s%s",
            template,
            recipient,
            type(exc).__name__,
            f" (SMTP {code})" if code else "",
        )
        raise EmailDeliveryError from exc
    logger.info("email %r sent to %s", template, recipient)


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    return smtplib.SMTP(host, port, timeout=timeout)


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def masked_address(address: str) -> str:
    """`a***@example.com`: enough to follow a delivery in the log, not to harvest addresses."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"
