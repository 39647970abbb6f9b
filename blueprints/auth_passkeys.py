"""Passkeys on the browser pages under `/auth`: the login page's passkey sign-in (conditional
mediation and a button), the second step of an account with TOTP, and the profile page's list
(add from JavaScript; rename and remove are plain forms). The JSON routes serve
static/js/passkeys.js; they check CSRF like every cookie route (blueprints/security.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from blueprints.api_passkeys import OPTIONS_LIMIT, REGISTER_SPEC
from blueprints.auth import PROFILE_PAGE, TAGS, bp
from blueprints.auth_mfa import EXPIRED, finish_second_step
from blueprints.endpoint import endpoint
from blueprints.pages import same_site_path, see_other
from blueprints.rate_limits import MFA_PENDING_KEY, address_limit, passkey_limits
from blueprints.security import (
    current_principal,
    session_principal,
    signed_in_session_id,
    start_browser_session,
)
from errors import InvalidToken
from schemas.passkey import (
    PasskeyLoginRequest,
    PasskeyRead,
    PasskeyRegisterRequest,
    PasskeyRenameForm,
    PasskeySignedIn,
    PublicKeyOptions,
)
from services import mfa_service
from services.auth import passkey_sign_in, passkeys
from services.auth.authentication import BROWSER, Principal
from services.passkey_service import live_for_user

# A passkey sign-in from the login page or the two-factor page: both start a cookie session.
browser_sign_in = endpoint(
    body=PasskeyLoginRequest,
    response=PasskeySignedIn,
    errors=(401, 403, 429, 503),
    message="Signed in",
    tags=TAGS,
)


@bp.context_processor
def passkey_helpers() -> dict[str, Any]:
    """Lazy helpers for the profile and 2FA pages (called only by templates that use them)."""

    def own_passkeys() -> list[Any]:
        principal: Principal | None = g.get("principal") or session_principal()
        return live_for_user(principal.id) if principal else []

    def passkeys_available() -> bool:
        """False without PUBLIC_BASE_URL: no relying party id, no passkeys."""
        return bool(current_app.config.get("PUBLIC_BASE_URL"))

    def pending_passkeys() -> bool:
        token = session.get(MFA_PENDING_KEY)
        if not isinstance(token, str) or not passkeys_available():
            return False
        try:
            user_id = mfa_service.decode_mfa_token(token, BROWSER)
        except InvalidToken:
            return False
        return passkeys.has_passkeys(user_id)

    return {
        "own_passkeys": own_passkeys,
        "pending_passkeys": pending_passkeys,
        "passkeys_available": passkeys_available,
    }


def signed_in_answer(principal: Principal) -> dict[str, Any]:
    """What the page's script needs after a sign-in: the user and where to go."""
    flash(_("Welcome back, %(name)s.", name=principal.user.name), "success")
    target = same_site_path(request.args.get("next")) or url_for("auth.get_profile")
    return {"user": principal.user, "redirect": target}


@bp.post("/passkeys/login/options")
@address_limit(*OPTIONS_LIMIT)
@endpoint(response=PublicKeyOptions, errors=(403, 429, 503), tags=TAGS)
def passkey_login_options() -> object:
    """Options for a passkey sign-in on the login page (no email needed)."""
    return passkey_sign_in.sign_in_options()


@bp.post("/passkeys/login")
@passkey_limits
@browser_sign_in
def passkey_login(body: PasskeyLoginRequest) -> object:
    """Sign in with a passkey: starts a session (cookie) like the password form."""
    principal = passkey_sign_in.sign_in(
        credential=body.credential, kind=BROWSER, replaces_session_id=signed_in_session_id()
    )
    start_browser_session(principal)
    return signed_in_answer(principal)


def pending_sign_in() -> str:
    """The mfa_token of the browser's pending sign-in, or INVALID_TOKEN."""
    token = session.get(MFA_PENDING_KEY)
    if not isinstance(token, str):
        raise InvalidToken(EXPIRED)
    return token


@bp.post("/login/mfa/passkey/options")
@address_limit(*OPTIONS_LIMIT)
@endpoint(response=PublicKeyOptions, errors=(401, 403, 429, 503), tags=TAGS)
def passkey_second_step_options() -> object:
    """Options for the second step of a pending sign-in with one of its account's passkeys."""
    return passkey_sign_in.second_factor_options(mfa_token=pending_sign_in(), kind=BROWSER)


@bp.post("/login/mfa/passkey")
@passkey_limits
@browser_sign_in
def passkey_second_step(body: PasskeyLoginRequest) -> object:
    """Second sign-in step with a passkey instead of a code."""
    principal = passkey_sign_in.complete_second_factor(
        mfa_token=pending_sign_in(),
        credential=body.credential,
        kind=BROWSER,
        replaces_session_id=signed_in_session_id(),
    )
    finish_second_step(principal)
    return signed_in_answer(principal)


@bp.post("/passkeys/register/options")
@endpoint(response=PublicKeyOptions, auth=True, errors=(401, 403, 503), tags=TAGS)
def passkey_registration_options() -> object:
    """Options for adding a passkey from the profile page (needs a recent sign-in)."""
    return passkeys.registration_options(principal=current_principal())


@bp.post("/passkeys/register")
@endpoint(**REGISTER_SPEC, tags=TAGS)
def register_passkey(body: PasskeyRegisterRequest) -> object:
    """Add the passkey the browser just made, under the name typed on the profile page."""
    passkey = passkeys.register(
        principal=current_principal(), credential=body.credential, name=body.name
    )
    flash(_("Passkey “%(name)s” added.", name=passkey.name), "success")
    return passkey


@bp.post("/passkeys/<id:passkey_id>/rename")
@endpoint(
    body=PasskeyRenameForm,
    response=PasskeyRead,
    auth=True,
    errors=(401, 404),
    page=PROFILE_PAGE,
    tags=TAGS,
)
def rename_passkey(passkey_id: int, body: PasskeyRenameForm) -> ResponseReturnValue | object:
    """Rename one of your passkeys."""
    passkey = passkeys.rename(
        principal=current_principal(), passkey_id=passkey_id, name=body.passkey_name
    )
    if not request.is_json:
        flash(_("Passkey renamed to “%(name)s”.", name=passkey.name), "success")
        return see_other("auth.get_profile")
    return passkey


@bp.post("/passkeys/<id:passkey_id>/remove")
@endpoint(
    auth=True, errors=(401, 404, 409), message="Passkey removed", page=PROFILE_PAGE, tags=TAGS
)
def remove_passkey(passkey_id: int) -> ResponseReturnValue | None:
    """Remove one of your passkeys (not the only way you can sign in)."""
    passkeys.remove(principal=current_principal(), passkey_id=passkey_id)
    if not request.is_json:
        flash(_("Passkey removed."), "info")
        return see_other("auth.get_profile")
    return None
