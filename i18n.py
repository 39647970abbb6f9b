"""Languages of the pages and mails: English (the source) and German (`translations/de`).

A page or mail is in the signed-in user's saved language (`users.locale`, once it exists), else
the language the visitor picked in the footer (the `locale` cookie), else the best match of the
browser's `Accept-Language`, else English. API error messages stay English: their codes are the
contract. `make translations` extracts the strings, updates the catalogs and compiles them.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request

from blueprints.security import current_account
from extensions import babel

SUPPORTED_LOCALES = ("en", "de")
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "locale"


def select_locale() -> str:
    """The language of this request's page or mail (see the module docstring for the order).
    Outside a request (a mail job in a worker or after the response): English."""
    if not has_request_context():
        return DEFAULT_LOCALE
    account = current_account()
    saved = getattr(account, "locale", None)
    if saved in SUPPORTED_LOCALES:
        return str(saved)
    picked = request.cookies.get(LOCALE_COOKIE)
    if picked in SUPPORTED_LOCALES:
        return str(picked)
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel: `_`/`gettext` in templates and Python, dates formatted per locale."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale)
