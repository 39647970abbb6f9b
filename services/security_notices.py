"""Security notices by mail: the account's owner hears of every change to how it is secured.

`notify(user_id, Notice.X)` is called by the service that made the change, inside its unit of
work: it notes when the change happened and from where (this request's client address and
`User-Agent`), and queues the mail job once the change has committed (nothing is announced that
a rollback undoes). The job (services/mail_queue.py) renders `templates/emails/security_notice.*`:
what happened, when (UTC), from where (address and device), and what to do if it wasn't the
owner. Only the notice of a requested email change carries a token: the undo link, issued by the
job itself, so no token rests in the queue (docs/decisions/0128-security-notices.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import has_request_context, request
from flask_babel import LazyString, force_locale, format_datetime, gettext, lazy_gettext

from domain.devices import parse_device
from models import TokenPurpose, User, db, utcnow
from services import action_token_service, email_service, mail_queue
from services.base_service import after_commit, unit_of_work

NOTICE_JOB = "security_notice"
TEMPLATE = "security_notice"
UNDO_EMAIL_CHANGE_PATH = "/auth/email/undo"
FORGOT_PASSWORD_PATH = "/auth/forgot-password"  # noqa: S105 - a path, not a secret
PROFILE_PATH = "/auth/profile"
# The contract's lifetime of the link that undoes an email change.
UNDO_LIFETIME = timedelta(days=7)


class Notice(StrEnum):
    """The events a notice is mailed for."""

    NEW_DEVICE_SIGN_IN = "new_device_sign_in"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name
    EMAIL_CHANGE_REQUESTED = "email_change_requested"
    EMAIL_CHANGED = "email_changed"
    EMAIL_CHANGED_BY_ADMIN = "email_changed_by_admin"
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    MFA_RESET_BY_ADMIN = "mfa_reset_by_admin"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"


class Advice(StrEnum):
    """What a notice asks the owner to do if it wasn't them."""

    RESET_PASSWORD = "reset_password"  # noqa: S105 - an advice name
    UNDO_EMAIL_CHANGE = "undo_email_change"
    ASK_ADMIN = "ask_admin"


@dataclass(frozen=True)
class NoticeText:
    """A notice's subject, its sentence of what happened, and the advice it gives."""

    subject: LazyString
    happened: LazyString
    advice: Advice = Advice.RESET_PASSWORD
    # Done by an administrator: their address and device are not the owner's business.
    by_admin: bool = False


NOTICES: dict[Notice, NoticeText] = {
    Notice.NEW_DEVICE_SIGN_IN: NoticeText(
        lazy_gettext("New sign-in to your account"),
        lazy_gettext("Your account was signed in to from a device it had not been used on before."),
    ),
    Notice.PASSWORD_CHANGED: NoticeText(
        lazy_gettext("Your password was changed"),
        lazy_gettext("The password of your account was changed."),
    ),
    Notice.PASSWORD_RESET: NoticeText(
        lazy_gettext("Your password was reset"),
        lazy_gettext("The password of your account was reset with a link mailed to you."),
    ),
    Notice.EMAIL_CHANGE_REQUESTED: NoticeText(
        lazy_gettext("A change of your email address was requested"),
        lazy_gettext(
            "Someone signed in to your account asked to change its email address to "
            "%(new_email)s. The change happens when the link mailed to that address is followed."
        ),
        Advice.UNDO_EMAIL_CHANGE,
    ),
    Notice.EMAIL_CHANGED: NoticeText(
        lazy_gettext("Your email address was changed"),
        lazy_gettext("The email address of your account was changed to %(new_email)s."),
    ),
    Notice.EMAIL_CHANGED_BY_ADMIN: NoticeText(
        lazy_gettext("An administrator changed your email address"),
        lazy_gettext(
            "An administrator changed the email address of your account to %(new_email)s. "
            "Mail about your account goes there from now on."
        ),
        Advice.ASK_ADMIN,
        by_admin=True,
    ),
    Notice.MFA_ENABLED: NoticeText(
        lazy_gettext("Two-factor authentication was turned on"),
        lazy_gettext("Two-factor authentication was turned on for your account."),
    ),
    Notice.MFA_DISABLED: NoticeText(
        lazy_gettext("Two-factor authentication was turned off"),
        lazy_gettext(
            "Two-factor authentication was turned off for your account: signing in now asks "
            "only for the password."
        ),
    ),
    Notice.MFA_RESET_BY_ADMIN: NoticeText(
        lazy_gettext("An administrator turned off your two-factor authentication"),
        lazy_gettext(
            "An administrator turned off two-factor authentication for your account and "
            "signed it out everywhere. Turn it on again from your profile."
        ),
        Advice.ASK_ADMIN,
        by_admin=True,
    ),
    Notice.RECOVERY_CODE_USED: NoticeText(
        lazy_gettext("A recovery code was used"),
        lazy_gettext(
            "One of your two-factor recovery codes was used; it no longer works. "
            "%(detail)s recovery code(s) are left."
        ),
    ),
    Notice.RECOVERY_CODES_REGENERATED: NoticeText(
        lazy_gettext("New recovery codes were made"),
        lazy_gettext(
            "New two-factor recovery codes were made for your account; the old ones no longer work."
        ),
    ),
    Notice.PASSKEY_ADDED: NoticeText(
        lazy_gettext("A passkey was added"),
        lazy_gettext("A passkey (%(detail)s) was added to your account: it can sign you in."),
    ),
    Notice.PASSKEY_REMOVED: NoticeText(
        lazy_gettext("A passkey was removed"),
        lazy_gettext("A passkey (%(detail)s) was removed from your account."),
    ),
}


def notify(
    user_id: int,
    notice: Notice,
    *,
    email: str | None = None,
    new_email: str | None = None,
    detail: str | int | None = None,
) -> None:
    """Mail the user a `notice` of what just happened, once the open unit of work commits.

    `email`: the address to tell instead of the account's (the old one, when it changes);
    `new_email`: the address asked for or set; `detail`: a passkey's name, the codes left.
    """
    arguments: dict[str, str | int] = {
        "user_id": user_id,
        "notice": notice.value,
        "occurred_at": utcnow().isoformat(),
        **_origin(),
    }
    extras = {"email": email, "new_email": new_email, "detail": detail}
    arguments |= {name: value for name, value in extras.items() if value is not None}
    after_commit(lambda: mail_queue.submit(NOTICE_JOB, **arguments))


def _origin() -> dict[str, str]:
    """Where the change came from: the client address and device of this request, if any."""
    if not has_request_context():
        return {}
    return {
        "ip": (request.remote_addr or "")[:64],
        "user_agent": (request.user_agent.string or "")[:255],
    }


@mail_queue.job(NOTICE_JOB)
def deliver_notice(
    *,
    user_id: int,
    notice: str,
    occurred_at: str,
    ip: str = "",
    user_agent: str = "",
    email: str = "",
    new_email: str = "",
    detail: str | int = "",
) -> None:
    """Mail job: render and send one notice (a deleted account hears nothing)."""
    kind = Notice(notice)
    text = NOTICES[kind]
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is None or user.is_deleted:
            return
        recipient = email or user.email
        undo_link = None
        if text.advice is Advice.UNDO_EMAIL_CHANGE:
            # Not replacing earlier ones: a later request must not void the owner's way back.
            token = action_token_service.issue(
                user, TokenPurpose.UNDO_EMAIL_CHANGE, UNDO_LIFETIME, email=recipient, replace=False
            )
            undo_link = email_service.public_link(UNDO_EMAIL_CHANGE_PATH, token=token)
    # Everything the mail says is put in its recipient's language, the subject included.
    locale = email_service.mail_locale(user.locale)
    with force_locale(locale):
        values = {"new_email": new_email, "detail": detail}
        subject = str(text.subject)
        context = {
            "name": user.name,
            "happened": str(text.happened) % values,
            "when": format_datetime(datetime.fromisoformat(occurred_at), "long"),
            "by_admin": text.by_admin,
            "ip": ip,
            "device": describe(user_agent) if user_agent else "",
            "advice": text.advice.value,
            "undo_link": undo_link,
            "undo_days": UNDO_LIFETIME.days,
            "reset_link": email_service.absolute_url(FORGOT_PASSWORD_PATH),
            "profile_link": email_service.absolute_url(PROFILE_PATH),
        }
    email_service.send_email(
        to=recipient, locale=locale, subject=subject, template=TEMPLATE, context=context
    )


def describe(user_agent: str) -> str:
    """The device of a `User-Agent`, in the mail's language: "Firefox on Linux"."""
    device = parse_device(user_agent)
    if device.browser and device.system:
        return str(
            gettext("%(browser)s on %(system)s", browser=device.browser, system=device.system)
        )
    return device.browser or device.system or str(gettext("an unknown device"))
