"""Sign-in routes under `/auth` for browsers and API clients alike (contract §5).

Each route answers the JSON envelope to API clients and pages (or 303 redirects) to browsers; a
form that fails comes back with its errors (see `endpoint(page=…)`). Browsers are identified by
the session cookie, API clients by it or by a Bearer token (blueprints/security.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf

from blueprints.endpoint import endpoint
from blueprints.pages import form_page, redirect_after_sign_in, render_page, see_other, wants_html
from blueprints.rate_limits import (
    MFA_PENDING_KEY,
    address_limit,
    login_limits,
    password_check_limits,
)
from blueprints.security import (
    SESSION_KEY,
    authenticated_by_cookie,
    current_principal,
    end_browser_session,
    signed_in_session_id,
    start_browser_session,
)
from envelope import success
from i18n import current_locale
from schemas.auth import LoginRequest, PasswordChangeRequest, ProfileUpdate, RegisterRequest
from schemas.mfa import MfaRequired
from schemas.user import UserRead, UserUpdate
from services import auth0_service, user_service
from services.auth import registration, signin
from services.auth.authentication import BROWSER
from services.auth.second_factor import MfaChallenge

bp = Blueprint("auth", __name__, url_prefix="/auth")
TAGS = ("browser",)
PROFILE_PAGE = "auth/profile.html"
# Set in the cookie of a session started through Auth0: its logout also ends the tenant's.
SIGNED_IN_WITH_AUTH0 = "auth0"
# Set beside a pending second factor whose first was Auth0 (it becomes SIGNED_IN_WITH_AUTH0).
MFA_PENDING_AUTH0_KEY = "mfa_pending_auth0"


@bp.after_request
def expose_csrf_token(response: Response) -> Response:
    """JSON clients signed in by cookie find the CSRF token to send next in `X-CSRFToken`."""
    if SESSION_KEY in session and not wants_html():
        response.headers["X-CSRFToken"] = generate_csrf()
    return response


@bp.get("/login")
def login_page() -> ResponseReturnValue:
    """The sign-in form."""
    return form_page("auth/login.html", LoginRequest)


@bp.post("/login")
@login_limits
@endpoint(
    body=LoginRequest,
    response=UserRead,
    errors=(401, 403, 429),
    message="Signed in",
    page="auth/login.html",
    tags=TAGS,
)
def login(body: LoginRequest) -> object:
    """Sign in with email and password: starts a session (cookie), answers the user.
    A new session id every time; the CSRF token to use next is in the `X-CSRFToken` header.
    With two-factor authentication on, answers `mfa_required`: post the code to
    `/auth/login/mfa`."""
    principal = signin.login(
        email=body.email,
        password=body.password,
        kind=BROWSER,
        replaces_session_id=signed_in_session_id(),
    )
    if isinstance(principal, MfaChallenge):
        return ask_for_second_factor(principal)
    start_browser_session(principal)
    if wants_html():
        flash(gettext("Welcome back, %(name)s.", name=principal.user.name), "success")
        return redirect_after_sign_in()
    return principal.user


def auth0_logout_redirect() -> str | None:
    """The tenant's logout URL when this browser session came from Auth0 (read before it ends;
    blueprints/auth0_login.py marks such sessions)."""
    if not session.get(SIGNED_IN_WITH_AUTH0) or not auth0_service.browser_enabled():
        return None
    return auth0_service.logout_url(auth0_service.public_url("auth.login_page"))


def ask_for_second_factor(
    challenge: MfaChallenge, *, next_path: str | None = None, via_auth0: bool = False
) -> ResponseReturnValue:
    """Keep the pending sign-in in the cookie and ask for the code (a page, or JSON).
    `via_auth0`: its first factor was Auth0, so the session it opens logs out there too."""
    session[MFA_PENDING_KEY] = challenge.mfa_token
    session[MFA_PENDING_AUTH0_KEY] = via_auth0
    if wants_html():
        next_path = next_path or request.args.get("next")
        target = url_for("auth.login_mfa_page", next=next_path) if next_path else None
        return redirect(target or url_for("auth.login_mfa_page"), 303)
    data = MfaRequired.model_validate(challenge, from_attributes=True).model_dump(mode="json")
    return success(data, message="Enter your two-factor code at /auth/login/mfa")


@bp.get("/logout")
def logout_page() -> ResponseReturnValue:
    """Asks to confirm signing out (a POST, so another site cannot sign you out)."""
    return render_page("auth/logout.html")


@bp.post("/logout")
@endpoint(auth=True, errors=(401,), message="Logged out", tags=TAGS)
def logout() -> object:
    """End this session; its cookie (or token) stops working at once."""
    signin.logout(principal=current_principal())
    tenant_logout = None
    if authenticated_by_cookie():
        tenant_logout = auth0_logout_redirect()
        end_browser_session()
    if wants_html():
        flash(gettext("You have been signed out."), "info")
        if tenant_logout:  # signed in with Auth0: end its session too, then come back here
            return redirect(tenant_logout, 303)
        return see_other("auth.login_page")
    return None


@bp.get("/register")
def register_page() -> ResponseReturnValue:
    """The registration form."""
    return form_page("auth/register.html", RegisterRequest)


@bp.post("/register")
@address_limit("RATELIMIT_REGISTER", "register")
@endpoint(
    body=RegisterRequest,
    response=UserRead,
    status=201,
    errors=(409, 429),
    message="Account created; check your email to verify it",
    page="auth/register.html",
    tags=TAGS,
)
def register(body: RegisterRequest) -> object:
    """Create an account and mail a verification link (browsers are signed in right away)."""
    if not wants_html():
        return registration.register(email=body.email, password=body.password, name=body.name)
    principal = registration.register(
        email=body.email,
        password=body.password,
        name=body.name,
        sign_in=BROWSER,
        locale=current_locale(),
    )
    start_browser_session(principal)
    flash(
        gettext("Welcome! We sent a link to %(email)s to confirm it.", email=principal.user.email),
        "success",
    )
    return see_other("auth.get_profile")


@bp.get("/profile")
@endpoint(response=UserRead, auth=True, errors=(401,), tags=TAGS)
def get_profile() -> object:
    """The signed-in user (session cookie or Bearer token)."""
    if wants_html():
        return render_page(PROFILE_PAGE)
    return current_principal().user


@bp.post("/profile")
@endpoint(
    body=ProfileUpdate, response=UserRead, auth=True, errors=(401,), page=PROFILE_PAGE, tags=TAGS
)
def update_profile(body: ProfileUpdate) -> object:
    """Change your name."""
    principal = current_principal()
    user = user_service.update(
        actor=principal.user,
        user_id=principal.user.id,
        changes=UserUpdate(name=body.name),
        session_id=principal.session_id,
    )
    if wants_html():
        flash(gettext("Your name has been saved."), "success")
        return see_other("auth.get_profile")
    return user


@bp.post("/password")
@password_check_limits
@endpoint(
    body=PasswordChangeRequest,
    auth=True,
    errors=(401, 429),
    message="Password changed",
    page=PROFILE_PAGE,
    tags=TAGS,
)
def change_password(body: PasswordChangeRequest) -> object:
    """Change your password: every other session ends, and a browser gets a new session id."""
    by_cookie = authenticated_by_cookie()
    principal = registration.change_password(
        principal=current_principal(),
        current_password=body.current_password,
        new_password=body.new_password,
        rotate_session=by_cookie,
    )
    if by_cookie:
        start_browser_session(principal, fresh_cookie=False)
    if wants_html():
        flash(gettext("Your password has been changed; other devices were signed out."), "success")
        return see_other("auth.get_profile")
    return None


@bp.post("/send-verification-email")
@endpoint(auth=True, status=202, errors=(401,), message="Verification email sent", tags=TAGS)
def send_verification_email() -> object:
    """Mail a fresh link that confirms your email address."""
    user = current_principal().user
    registration.send_verification(user=user)
    if wants_html():
        flash(gettext("We sent a new confirmation link to %(email)s.", email=user.email), "info")
        return see_other("auth.get_profile")
    return None
