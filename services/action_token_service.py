"""Mailed single-use tokens (helpers: they flush, the calling service commits)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from domain.texts import N_
from errors import InvalidToken
from models import ActionToken, TokenPurpose, User, db, utcnow
from models.action_token import ADDRESS_PURPOSES
from services import token_service


def issue(
    user: User,
    purpose: TokenPurpose,
    lifetime: timedelta,
    *,
    email: str | None = None,
    replace: bool = True,
) -> str:
    """A new token for `user` about `email` (default: their address); with `replace`, earlier
    unused tokens of the same purpose stop working."""
    if replace:
        void_outstanding(user.id, purpose)
    raw = token_service.new_opaque_token()
    db.session.add(
        ActionToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=token_service.hash_token(raw),
            email=email or user.email,
            expires_at=utcnow() + lifetime,
        )
    )
    db.session.flush()
    return raw


def peek(raw: str, purpose: TokenPurpose) -> User:
    """The user a token would act for, leaving it unused; INVALID_TOKEN as `consume` would."""
    return peek_with_address(raw, purpose)[0]


def peek_with_address(raw: str, purpose: TokenPurpose) -> tuple[User, str]:
    """`peek`, with the address the token was issued for."""
    token, user = _usable(raw, purpose)
    return user, token.email


def consume(raw: str, purpose: TokenPurpose) -> User:
    """Use a token once: the user it belongs to, or INVALID_TOKEN (unknown, used, expired,
    or issued for an email the user no longer has)."""
    return claim(raw, purpose)[0]


def claim(raw: str, purpose: TokenPurpose) -> tuple[User, ActionToken]:
    """Use a token once: its user and the token row (its `email`, its `id`), or INVALID_TOKEN."""
    token, user = _usable(raw, purpose)
    claimed = db.session.execute(
        update(ActionToken)
        .where(ActionToken.id == token.id, ActionToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # used by a concurrent request meanwhile
        raise InvalidToken(N_("The link is invalid or has expired"))
    return user, token


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
    if user is None or user.is_deleted:
        raise InvalidToken(N_("The link is invalid or has expired"))
    if purpose not in ADDRESS_PURPOSES and user.email != token.email:
        raise InvalidToken(N_("The link is invalid or has expired"))
    return token, user


def void_outstanding(user_id: int, purpose: TokenPurpose, *, issued_after: int = 0) -> None:
    """Make every unused token of `purpose` for this user unusable (with `issued_after`: those
    issued after the token of that id)."""
    db.session.execute(
        update(ActionToken)
        .where(
            ActionToken.user_id == user_id,
            ActionToken.purpose == purpose.value,
            ActionToken.used_at.is_(None),
            ActionToken.id > issued_after,
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
