"""Who is calling, resolved once per request: a Bearer token (API clients) or the session cookie
(browsers, through Flask-Login), and when a request must prove it is not cross-site (CSRF).

The token APIs (`/api/…`, the old `/v1/…`) never read the cookie: that is what lets them skip
the CSRF check, so both rules follow from one list of prefixes.

The session cookie carries the id of an `AuthSession` row, never the user id: every request checks
that row, so logout and password changes end a session server-side even if its cookie is replayed.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request, session
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError

from domain.texts import N_
from errors import AuthenticationRequired, Forbidden, InvalidToken
from extensions import csrf, login_manager, narrow_after_request
from models import User
from observability.logs import identify
from services import session_activity
from services.auth import authentication
from services.auth.authentication import Principal
from services.token_service import AccessClaims

MAX_AUTHORIZATION_LENGTH = 8192
SESSION_KEY = "_user_id"  # where Flask-Login keeps the id (here: the AuthSession id)
BEARER = "bearer"
COOKIE = "session"
# APIs that never read the session cookie, so cross-site requests cannot ride on it (and so
# they need no CSRF token).
TOKEN_API_PREFIXES = ("/api/", "/v1/")
CSRF_MESSAGE = N_("The form is out of date or its security token is missing; reload the page")


class BrowserUser(UserMixin):  # type: ignore[misc]
    """Flask-Login's view of a browser session; its id is the session's, not the user's."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        """The AuthSession id stored in the cookie."""
        return self.principal.session_id


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_browser_session(session_id: str) -> BrowserUser | None:
    """Flask-Login's loader: the live session named by the cookie, or None (anonymous)."""
    principal = authentication.authenticate_browser_session(session_id)
    return None if principal is None else BrowserUser(principal)


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    token = parse_bearer(header)
    if token is None:
        raise InvalidToken()
    return token


def parse_bearer(header: str) -> str | None:
    """The token of an `Authorization` header's value; None unless it is `Bearer <token>`."""
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    return token if token and scheme.lower() == "bearer" else None


def session_principal() -> Principal | None:
    """The principal of the session cookie; a cookie naming an ended session is cleared."""
    if current_user.is_authenticated:
        principal: Principal = current_user.principal
        return principal
    if SESSION_KEY in session:
        logout_user()
    return None


def authenticate_request() -> Principal:
    """Resolve the caller or raise 401; the result is kept on `g` for the request.

    An `Authorization` header decides alone (a bad token is 401 even with a good cookie); the
    cookie counts only outside the token APIs, which are exempt from the CSRF check.
    """
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal
    token = bearer_token()
    if token is not None:
        return remember_principal(authentication.authenticate_access_token(token), BEARER)
    principal = session_principal() if cookie_accepted() else None
    if principal is None:
        raise AuthenticationRequired()
    return remember_principal(principal, COOKIE)


def remember_principal(principal: Principal, method: str) -> Principal:
    """Keep the request's caller on `g` (for the views, the audit trail and the log lines)."""
    g.principal = principal
    identify(principal.id)
    g.auth_method = method
    session_activity.note_use(principal.session_id)  # last_used_at, at most once a minute
    return principal


def bearer_claims() -> AccessClaims | None:
    """The verified claims of the request's own (not Auth0) Bearer access token, for a view whose
    read checks the caller's revocation in its own statement and then `remember_principal`s the
    caller; None when the request authenticates the usual way (`authenticate_request`)."""
    token = bearer_token()
    return None if token is None else authentication.own_access_claims(token)


def cookie_accepted() -> bool:
    """True where the session cookie may identify the caller: everywhere but the token APIs."""
    return not request.path.startswith(TOKEN_API_PREFIXES)


def skip_cookie_upkeep_on_token_apis(app: Flask) -> None:
    """Run Flask-Login's after-request function (the remember cookie's upkeep) outside the token
    APIs only: they never read the session, and the function's look into it marked every API
    answer `Vary: Cookie` through the session interface (~3 % of a get-by-id together)."""
    narrow_after_request(
        app,
        lambda hook: hook == login_manager._update_remember_cookie,
        cookie_accepted,
        "Flask-Login",
    )


def current_principal() -> Principal:
    """The authenticated caller of this request (after `authenticate_request`)."""
    principal: Principal = g.principal
    return principal


def authenticated_by_cookie() -> bool:
    """True when this request's caller was identified by the session cookie."""
    return bool(g.get("auth_method") == COOKIE)


def signed_in_session_id() -> str | None:
    """The session id the cookie names (checked or not), for a sign-in that replaces it."""
    if bearer_token() is not None:
        return None
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def start_browser_session(principal: Principal, *, fresh_cookie: bool = True) -> None:
    """Put `principal`'s session in the cookie; `fresh_cookie` drops everything the old one held
    (the CSRF token included), so nothing planted before sign-in survives it."""
    if fresh_cookie:
        session.clear()
    session.permanent = True  # lifetime: PERMANENT_SESSION_LIFETIME (SESSION_LIFETIME_MINUTES)
    login_user(BrowserUser(principal))
    g.principal = principal
    g.auth_method = COOKIE


def end_browser_session() -> None:
    """Forget the browser session in the cookie (the service has already revoked it)."""
    logout_user()
    session.clear()


def current_account() -> User | None:
    """The signed-in user of the session cookie, for page layouts (None when anonymous)."""
    principal: Principal | None = g.get("principal") or session_principal()
    return None if principal is None else principal.user


def bearer_request() -> bool:
    """True when the request names a Bearer token, which a cross-site page cannot send."""
    scheme = request.headers.get("Authorization", "").strip().partition(" ")[0]
    return scheme.lower() == BEARER


def csrf_required() -> bool:
    """The contract's rule: every state-changing browser request carries the CSRF token.

    Exempt: the token APIs (`/api/…`, the old `/v1/…`), Bearer requests, and JSON sent without
    a signed-in cookie (no browser sends cross-site JSON without CORS approval, which the cookie
    routes never give: web_cors.py answers only `/api/v1` and `/v1`).
    Forms always need it, sign-in and registration included (login CSRF).
    """
    if request.method not in current_app.config["WTF_CSRF_METHODS"]:
        return False
    if request.endpoint is None or not cookie_accepted() or bearer_request():
        return False
    if not request.is_json:
        return True
    return SESSION_KEY in session


def enforce_csrf() -> None:
    """Before each request: refuse a missing or wrong CSRF token with 403 FORBIDDEN."""
    if not current_app.config["WTF_CSRF_ENABLED"] or not csrf_required():
        return
    try:
        csrf.protect()
    except CSRFError as exc:
        raise Forbidden(CSRF_MESSAGE) from exc
