"""Mailed single-use tokens (helpers: they flush, the calling service commits)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from domain.texts import N_
from errors import InvalidToken
from models import ActionToken, TokenPurpose, User, db, utcnow
from services import token_service


def issue(user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    """A new token for `user`; earlier unused tokens of the same purpose stop working."""
    void_outstanding(user.id, purpose)
    raw = token_service.new_opaque_token()
    db.session.add(
        ActionToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=token_service.hash_token(raw),
            email=user.email,
            expires_at=utcnow() + lifetime,
        )
    )
    db.session.flush()
    return raw


def peek(raw: str, purpose: TokenPurpose) -> User:
    """The user a token would act for, leaving it unused; INVALID_TOKEN as `consume` would."""
    return _usable(raw, purpose)[1]


def consume(raw: str, purpose: TokenPurpose) -> User:
    """Use a token once: the user it belongs to, or INVALID_TOKEN (unknown, used, expired,
    or issued for an email the user no longer has)."""
    token, user = _usable(raw, purpose)
    claimed = db.session.execute(
        update(ActionToken)
        .where(ActionToken.id == token.id, ActionToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # used by a concurrent request meanwhile
        raise InvalidToken(N_("The link is invalid or has expired"))
    return user


def _usable(raw: str, purpose: TokenPurpose) -> tuple[ActionToken, User]:
    token = db.session.scalars(
        select(ActionToken).where(
            ActionToken.token_hash == token_service.hash_token(raw),
            ActionToken.purpose == purpose.value,
        )
    ).first()
    if token is None or token.used_at is not None or token.expires_at <= utcnow():
        raise InvalidToken(N_("The link is invalid or has expired"))
    user = db.session.get(User, token.user_id)
    if user is None or user.is_deleted or user.email != token.email:
        raise InvalidToken(N_("The link is invalid or has expired"))
    return token, user


def void_outstanding(user_id: int, purpose: TokenPurpose) -> None:
    """Make every unused token of `purpose` for this user unusable."""
    db.session.execute(
        update(ActionToken)
        .where(
            ActionToken.user_id == user_id,
            ActionToken.purpose == purpose.value,
            ActionToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
