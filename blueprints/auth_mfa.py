"""Two-factor authentication pages under `/auth`: the second sign-in step, and turning 2FA on
and off from the profile page (forms with CSRF; JSON clients get the API's answers)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from blueprints.auth import (
    MFA_PENDING_AUTH0_KEY,
    PROFILE_PAGE,
    SIGNED_IN_WITH_AUTH0,
    TAGS,
    bp,
)
from blueprints.endpoint import endpoint
from blueprints.pages import redirect_after_sign_in, render_page, see_other, wants_html
from blueprints.rate_limits import MFA_PENDING_KEY, code_limits
from blueprints.security import (
    current_principal,
    session_principal,
    signed_in_session_id,
    start_browser_session,
)
from domain.texts import N_
from errors import InvalidToken
from schemas.mfa import MfaBrowserRequest, MfaCodeRequest, MfaEnrolment, RecoveryCodes
from schemas.user import UserRead
from services import audit_service, mfa_service
from services.auth import second_factor, signin
from services.auth.authentication import BROWSER, Principal

LOGIN_MFA_PAGE = "auth/login_mfa.html"
SETUP_PAGE = "auth/mfa_setup.html"
EXPIRED = N_("The sign-in step expired; sign in again")


@bp.context_processor
def security_helpers() -> dict[str, Any]:
    """Lazy helpers for the profile and 2FA pages (called only by templates that use them)."""

    def caller() -> Principal | None:
        principal: Principal | None = g.get("principal") or session_principal()
        return principal

    def mfa_status() -> dict[str, Any]:
        principal = caller()
        return mfa_service.status(principal.id) if principal else {}

    def mfa_setup() -> mfa_service.Enrolment | None:
        principal = caller()
        return mfa_service.pending_enrolment(principal.user) if principal else None

    def security_events() -> list[Any]:
        principal = caller()
        return audit_service.recent_for_user(principal.id) if principal else []

    return {
        "mfa_status": mfa_status,
        "mfa_setup": mfa_setup,
        "security_events": security_events,
        "describe_event": audit_service.describe,
        "alert_events": audit_service.ALERT_EVENTS,
    }


@bp.get("/login/mfa")
def login_mfa_page() -> ResponseReturnValue:
    """Asks for the two-factor code of a sign-in whose password was right."""
    if not isinstance(session.get(MFA_PENDING_KEY), str):
        flash(EXPIRED, "info")
        return see_other("auth.login_page")
    return render_page(LOGIN_MFA_PAGE)


@bp.post("/login/mfa")
@code_limits
@endpoint(
    body=MfaBrowserRequest,
    response=UserRead,
    errors=(401, 403, 429),
    message="Signed in",
    page=LOGIN_MFA_PAGE,
    tags=TAGS,
)
def login_mfa(body: MfaBrowserRequest) -> object:
    """Second sign-in step of a browser: the code from the app (or a recovery code)."""
    token = session.get(MFA_PENDING_KEY)
    if not isinstance(token, str):
        raise InvalidToken(EXPIRED)
    principal = signin.complete_mfa_login(
        mfa_token=token, code=body.code, kind=BROWSER, replaces_session_id=signed_in_session_id()
    )
    finish_second_step(principal)
    if wants_html():
        flash(gettext("Welcome back, %(name)s.", name=principal.user.name), "success")
        return redirect_after_sign_in()
    return principal.user


def finish_second_step(principal: Principal) -> None:
    """Start the session a second step opened (a code or a passkey), remembering when its first
    was Auth0 (logging out then ends the tenant's session too)."""
    via_auth0 = session.get(MFA_PENDING_AUTH0_KEY) is True
    start_browser_session(principal)
    if via_auth0:
        session[SIGNED_IN_WITH_AUTH0] = True


@bp.post("/2fa/enroll")
@endpoint(response=MfaEnrolment, auth=True, errors=(401, 409, 503), tags=TAGS)
def mfa_enroll() -> object:
    """Start turning on two-factor authentication: a new secret and its QR code."""
    enrolment = second_factor.start_mfa_enrolment(principal=current_principal())
    if wants_html():
        return see_other("auth.mfa_setup_page")
    return enrolment


@bp.get("/2fa/setup")
@endpoint(response=MfaEnrolment | None, auth=True, errors=(401, 503), tags=TAGS)
def mfa_setup_page() -> object:
    """The QR code of the pending enrolment and the form to confirm it with a first code
    (JSON: the pending enrolment, or null when none waits for its first code)."""
    if wants_html():
        return render_page(SETUP_PAGE)
    return mfa_service.pending_enrolment(current_principal().user)


@bp.post("/2fa/confirm")
@code_limits
@endpoint(
    body=MfaCodeRequest,
    response=RecoveryCodes,
    auth=True,
    errors=(401, 404, 409, 429),
    page=SETUP_PAGE,
    tags=TAGS,
)
def mfa_confirm(body: MfaCodeRequest) -> object:
    """Turn two-factor authentication on with a first code; shows the recovery codes once."""
    codes = second_factor.confirm_mfa(principal=current_principal(), code=body.code)
    if wants_html():
        return render_page("auth/mfa_recovery_codes.html", recovery_codes=codes)
    return {"recovery_codes": codes}


@bp.post("/2fa/disable")
@code_limits
@endpoint(
    body=MfaCodeRequest,
    auth=True,
    errors=(401, 404, 429),
    message="Two-factor authentication disabled",
    page=PROFILE_PAGE,
    tags=TAGS,
)
def mfa_disable(body: MfaCodeRequest) -> object:
    """Turn two-factor authentication off with a code from the app or a recovery code."""
    second_factor.disable_mfa(principal=current_principal(), code=body.code)
    if wants_html():
        flash(gettext("Two-factor authentication is off."), "info")
        return see_other("auth.get_profile")
    return None
