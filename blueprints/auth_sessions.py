"""The profile page's sessions and recovery codes under `/auth` (forms with CSRF; JSON clients
get the API's answers): sign out one session, sign out everywhere else, new recovery codes."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_babel import gettext, ngettext

from blueprints.auth import PROFILE_PAGE, TAGS, bp
from blueprints.endpoint import endpoint
from blueprints.pages import render_page, see_other, wants_html
from blueprints.rate_limits import code_limits, password_check_limits
from blueprints.security import (
    authenticated_by_cookie,
    current_principal,
    end_browser_session,
)
from domain.devices import parse_device
from schemas.mfa import RecoveryCodes, RecoveryCodesRequest
from schemas.session import SessionsRevoked
from services.auth import second_factor, sessions

RECOVERY_CODES_PAGE = "auth/mfa_recovery_codes.html"


@bp.context_processor
def session_helpers() -> dict[str, Any]:
    """Lazy helpers for the profile page's sessions section."""

    def my_sessions() -> list[sessions.SessionInfo]:
        # Only the profile page calls it, which is for a signed-in caller (`auth=True`).
        return sessions.list_own(principal=current_principal())

    return {"my_sessions": my_sessions, "parse_device": parse_device}


@bp.post("/sessions/<session:session_id>/revoke")
@endpoint(auth=True, errors=(401, 404), message="Session ended", page=PROFILE_PAGE, tags=TAGS)
def revoke_session(session_id: str) -> object:
    """Sign out one of your sessions (its cookie or tokens stop working at once)."""
    principal = current_principal()
    sessions.end(actor=principal, session_id=session_id)
    ended_this_one = session_id == principal.session_id
    if ended_this_one and authenticated_by_cookie():
        end_browser_session()
    if not wants_html():
        return None
    if ended_this_one:
        flash(gettext("You have been signed out."), "info")
        return see_other("auth.login_page")
    flash(gettext("That session has been signed out."), "success")
    return see_other("auth.get_profile")


@bp.post("/sessions/revoke-others")
@endpoint(response=SessionsRevoked, auth=True, errors=(401,), page=PROFILE_PAGE, tags=TAGS)
def revoke_other_sessions() -> object:
    """Sign out everywhere else: every session of yours but this one ends."""
    count = sessions.end_others(principal=current_principal())
    if wants_html():
        flash(
            ngettext(
                "%(num)d other session has been signed out.",
                "%(num)d other sessions have been signed out.",
                count,
            ),
            "success",
        )
        return see_other("auth.get_profile")
    return {"revoked": count}


@bp.post("/2fa/recovery-codes")
@password_check_limits
@code_limits
@endpoint(
    body=RecoveryCodesRequest,
    response=RecoveryCodes,
    auth=True,
    errors=(401, 404, 429),
    page=PROFILE_PAGE,
    tags=TAGS,
)
def regenerate_recovery_codes(body: RecoveryCodesRequest) -> object:
    """New recovery codes, confirmed by your password (or a code from the app); shown once,
    the old ones stop working."""
    codes = second_factor.regenerate_recovery_codes(
        principal=current_principal(), password=body.password, code=body.code
    )
    if wants_html():
        return render_page(RECOVERY_CODES_PAGE, recovery_codes=codes, regenerated=True)
    return {"recovery_codes": codes}
