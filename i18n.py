"""Languages of the pages and mails: English (the source) and German (`translations/de`).

A page is in the signed-in user's saved language (`users.locale`), else
the language the visitor picked in the footer (the `locale` cookie), else the best match of the
browser's `Accept-Language`, else English; a mail is in its recipient's language
(services/email_service.py). API error messages stay English: their codes are the contract.
`make translations` extracts the strings, updates the catalogs and compiles them (docs/i18n.md).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import format_date, format_datetime, get_locale, get_translations, gettext
from markupsafe import Markup

from blueprints.security import current_account
from domain.texts import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES
from extensions import babel

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALE_COOKIE",
    "SUPPORTED_LOCALES",
    "current_locale",
    "init_i18n",
    "select_locale",
    "translated",
]

LOCALE_COOKIE = "locale"
# The footer's switch names each language in that language.
LANGUAGES = {"en": "English", "de": "Deutsch"}
# A value in a message pattern: `%(length)s`.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Compiled once per language: the catalogs do not change while the process runs.
_pattern_cache: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {}
# Pydantic's own messages that the forms can show (the services' are marked where raised).
LIBRARY_MESSAGES = (
    N_("Field required"),
    N_("String should have at most %(max_length)s characters"),
    N_("Input should be a valid string"),
)


def select_locale() -> str:
    """The language of this request's page or mail (see the module docstring for the order);
    English outside a request (a mail job sets its recipient's language itself)."""
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


def current_locale() -> str:
    """The language the page is being rendered in (`<html lang>`, the footer's switch)."""
    return str(get_locale() or DEFAULT_LOCALE)


def translated(message: str) -> str:
    """An English message from the services (marked with `domain.texts.N_`) in the reader's
    language; a message the catalog does not know stays as it is.

    A message built from a marked pattern ("Password must be at least 12 characters" from
    "Password must be at least %(length)s characters") is matched against the catalog's patterns
    and translated with its values."""
    if not message or current_locale() == DEFAULT_LOCALE:
        return message
    if (found := str(gettext(message))) != message:
        return found
    for pattern, msgid in _patterns(current_locale()):
        if match := pattern.fullmatch(message):
            return str(gettext(msgid, **match.groupdict()))
    return message


def _patterns(locale: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The catalog's messages with `%(name)s` values, as patterns capturing the values."""
    if locale not in _pattern_cache:
        catalog: dict[Any, str] = getattr(get_translations(), "_catalog", {})
        msgids = [
            msgid for msgid in catalog if isinstance(msgid, str) and PLACEHOLDER.search(msgid)
        ]
        _pattern_cache[locale] = tuple((_pattern_of(msgid), msgid) for msgid in msgids)
    return _pattern_cache[locale]


def _pattern_of(msgid: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(msgid)  # text, name, text, name, ..., text
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
        for index, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


def strong(value: object) -> Markup:
    """`value`, escaped, in `<strong>`: a value a translated sentence emphasises
    (`_("Signed in as %(email)s.", email=account.email|strong)`)."""
    return Markup("<strong>{}</strong>").format(value)


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel: `_`/`gettext` in templates and Python, dates formatted per locale."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        current_locale=current_locale,
        languages=LANGUAGES,
        format_date=format_date,
        format_datetime=format_datetime,
        translated=translated,
    )
    app.jinja_env.filters["strong"] = strong
