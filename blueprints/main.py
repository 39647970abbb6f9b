"""Pages outside authentication, and the footer's language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue

from blueprints.pages import render_page, same_site_path
from blueprints.security import current_account
from errors import ValidationError
from i18n import LOCALE_COOKIE, SUPPORTED_LOCALES
from services import locale_service

bp = Blueprint("main", __name__)

# The footer's choice is remembered for a year (a signed-in user's also in their account).
LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


@bp.get("/")
def get_home() -> ResponseReturnValue:
    """The start page."""
    return render_page("main/home.html")


@bp.post("/locale")
def set_locale() -> ResponseReturnValue:
    """Switch the language of the pages (a form post, CSRF-checked) and go back to `next`."""
    locale = request.form.get("locale", "")
    if locale not in SUPPORTED_LOCALES:
        raise ValidationError.single("locale", f"must be one of {', '.join(SUPPORTED_LOCALES)}")
    account = current_account()
    if account is not None:
        locale_service.save(user_id=account.id, locale=locale)
    target = same_site_path(request.form.get("next")) or url_for("main.get_home")
    response = redirect(target, 303)
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_SECONDS,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response
