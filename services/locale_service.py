"""A user's saved language (`users.locale`): the pages and mails they get use it first (i18n.py)."""

from __future__ import annotations

from models import User, db
from services.base_service import unit_of_work


def save(*, user_id: int, locale: str) -> None:
    """Remember `locale` (a supported one, checked by the caller) for the user."""
    with unit_of_work():
        user = db.session.get(User, user_id)
        if user is not None:
            user.locale = locale
