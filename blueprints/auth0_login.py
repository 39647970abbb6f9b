"""“Sign in with Auth0” under `/auth/auth0` (docs/decisions/0050-auth0.md).

Authorization Code flow with PKCE (S256), `state` and `nonce`, through Authlib's Flask client:
the login route sends the browser to the tenant, the callback exchanges the code, checks the ID
token and opens the same kind of browser session as a password sign-in. Logout (blueprints/auth.py)
then also ends the tenant's session through its logout URL.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth, OAuthError
from flask import Flask, current_app, flash, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from joserfc.errors import JoseError
from requests import RequestException

from blueprints.auth import SIGNED_IN_WITH_AUTH0, ask_for_second_factor, bp
from blueprints.pages import render_page, same_site_path, see_other
from blueprints.security import signed_in_session_id, start_browser_session
from domain.texts import N_
from errors import AccountDisabled, AppError, InvalidToken, NotFound
from services import auth0_service
from services.auth import signin
from services.auth.second_factor import MfaChallenge

EXTENSION = "auth0_oauth"
NEXT_KEY = "auth0_next"
LOGIN_PAGE = "auth/login.html"
FAILED = N_("Signing in with Auth0 did not work; please try again")
NOT_LINKED = (
    "Your Auth0 account is not linked to an account here (it needs a verified email address)"
)


def auth0_client() -> Any:
    """Authlib's client for the tenant, built once per application and settings."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    settings = (auth0_service.issuer(), config["CLIENT_ID"], config["CLIENT_SECRET"])
    cached = app.extensions.get(EXTENSION)
    if cached is not None and cached[0] == settings:
        return cached[1]
    oauth = OAuth(app)
    client = oauth.register(
        "auth0",
        client_id=config["CLIENT_ID"],
        client_secret=config["CLIENT_SECRET"],
        server_metadata_url=f"{settings[0]}.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile email",
            "code_challenge_method": "S256",
            "timeout": config["AUTH0_JWKS_TIMEOUT_SECONDS"],
        },
    )
    app.extensions[EXTENSION] = (settings, client)
    return client


def _require_enabled() -> None:
    if not auth0_service.browser_enabled():
        raise NotFound()


@bp.get("/auth0/login")
def auth0_login() -> ResponseReturnValue:
    """Start “Sign in with Auth0”: a redirect to the tenant's authorize endpoint."""
    _require_enabled()
    next_path = same_site_path(request.args.get("next"))
    if next_path:
        session[NEXT_KEY] = next_path
    extra: dict[str, str] = {}
    if current_app.config.get("AUTH0_AUDIENCE"):
        extra["audience"] = current_app.config["AUTH0_AUDIENCE"]
    redirect_uri = auth0_service.public_url("auth.auth0_callback")
    try:
        response: ResponseReturnValue = auth0_client().authorize_redirect(redirect_uri, **extra)
    except RequestException:
        return _failed(FAILED, 503)
    return response


@bp.get("/auth0/callback")
def auth0_callback() -> ResponseReturnValue:
    """Where the tenant sends the browser back: check state, code (PKCE) and ID token, sign in."""
    _require_enabled()
    try:
        token = auth0_client().authorize_access_token()
        claims = auth0_service.verify(
            token.get("id_token", ""), audience=current_app.config["CLIENT_ID"]
        )
        principal = signin.login_auth0_browser(
            claims=claims, replaces_session_id=signed_in_session_id()
        )
    except auth0_service.NotLinked:
        return _failed(NOT_LINKED, 403)
    except (OAuthError, JoseError, InvalidToken) as exc:
        # JoseError: Authlib checks the ID token (signature, kid, iss, aud, exp, nonce) with
        # joserfc, whose errors are not OAuthError.
        current_app.logger.info("Auth0 sign-in refused: %s", exc)
        return _failed(FAILED, 400)
    except AccountDisabled as exc:
        return _failed(exc.message, exc.status)
    except (RequestException, AppError) as exc:
        current_app.logger.warning("Auth0 sign-in failed: %s", exc)
        return _failed(FAILED, 503)
    next_path = session.pop(NEXT_KEY, None)
    if isinstance(principal, MfaChallenge):  # 2FA on here, and Auth0 did not check a second
        return ask_for_second_factor(principal, next_path=same_site_path(next_path), via_auth0=True)
    start_browser_session(principal)
    session[SIGNED_IN_WITH_AUTH0] = True
    flash(gettext("Welcome, %(name)s.", name=principal.user.name), "success")
    if isinstance(next_path, str) and same_site_path(next_path):
        return redirect(next_path, 303)
    return see_other("auth.get_profile")


def _failed(message: str, status: int) -> ResponseReturnValue:
    session.pop(NEXT_KEY, None)
    flash(message, "error")
    return render_page(LOGIN_PAGE, status=status)
