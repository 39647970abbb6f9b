"""Auth0 (docs/decisions/0050-auth0.md): RS256 tokens from the tenant and the users they name.

Access tokens are verified here with PyJWT against the tenant's JWKS, fetched by PyJWT's
`PyJWKClient`: the key set is cached, fetched again when a token names an unknown `kid` (at most
once per `AUTH0_JWKS_MIN_REFRESH_SECONDS`, so a flood of made-up kids cannot turn into a flood of
fetches), each fetch bounded by `AUTH0_JWKS_TIMEOUT_SECONDS`; a failed fetch keeps the last good
keys (docs/decisions/0108-jwks-on-pyjwkclient.md). Only RS256 is accepted; `iss`, `aud` and
`exp` are required.

A subject (`sub`) is linked to one local user (`users.auth0_sub`). On first sight of a subject
whose `email` is verified, a live account with that email is linked; when there is none, one is
created with the `user` role if `AUTH0_AUTO_PROVISION` is on. Whether the tenant checked a second
factor is read from `amr` (`mfa_performed`); services.auth.signin decides what that means for a
user with 2FA on here (docs/decisions/0090-auth0-and-the-local-second-factor.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import Flask, current_app, url_for
from sqlalchemy import select

from domain.emails import normalize_email
from errors import AccountDisabled, InvalidToken, ServiceUnavailable
from models import Role, User, UserMfa, db, utcnow
from services import mfa_service
from services.base_service import read_only, unit_of_work

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("sub", "iss", "aud", "exp", "iat")
EXTENSION = "auth0_jwks"
UNAVAILABLE_MESSAGE = "The identity provider's signing keys cannot be fetched, try again later"
# Principal.session_id of a caller authenticated by an Auth0 access token: no local session.
SESSION_PREFIX = "auth0:"
# The `amr` value saying the tenant checked a second factor.
MFA_METHOD = "mfa"


class JwksUnavailable(ServiceUnavailable):
    """The tenant's JWKS could not be fetched and no key is cached: nothing can be verified."""

    default_message = UNAVAILABLE_MESSAGE


class NotLinked(InvalidToken):
    """A good token whose subject has no local account and may not get one (INVALID_TOKEN)."""


@dataclass(frozen=True)
class LinkedUser:
    """The local user an Auth0 subject signs in as, and whether it has 2FA on here."""

    id: int
    role: str
    mfa_enabled: bool


def api_enabled(config: Any = None) -> bool:
    """True when Auth0 access tokens are accepted (`AUTH0_DOMAIN` and `AUTH0_AUDIENCE` set)."""
    config = config or current_app.config
    return bool(
        config.get("AUTH0_DOMAIN")
        and config.get("AUTH0_AUDIENCE")
        and config.get("AUTH0_ISSUER_BASE_URL")
    )


def browser_enabled(config: Any = None) -> bool:
    """True when "Sign in with Auth0" is offered (domain, client id and secret set)."""
    config = config or current_app.config
    return bool(
        config.get("AUTH0_DOMAIN")
        and config.get("CLIENT_ID")
        and config.get("CLIENT_SECRET")
        and config.get("AUTH0_ISSUER_BASE_URL")
    )


def issuer() -> str:
    """The tenant's issuer, exactly as its tokens write it (trailing slash included)."""
    value: str = current_app.config["AUTH0_ISSUER_BASE_URL"]
    return value


def claims_auth0(token: str) -> bool:
    """Whether a bearer token takes the Auth0 path (decided on unverified data, verified after).

    Anything not signed HS256, or naming the tenant as issuer, is the tenant's to verify; our own
    tokens (HS256, our issuer) keep their path. An HS256 token dressed up with an RS256 header or
    the tenant's issuer therefore meets the RS256-only verifier and is refused.
    """
    if not api_enabled():
        return False
    try:
        header = jwt.get_unverified_header(token)
        # Only routes the token; the chosen path verifies signature and claims strictly.
        # nosemgrep: security.rules.jwt-decode-without-signature-check
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return False
    return header.get("alg") != "HS256" or claims.get("iss") == issuer()


# --- keys ---------------------------------------------------------------------------------------


class JwksClient(jwt.PyJWKClient):
    """PyJWT's JWKS client for the tenant, plus the one thing it lacks: a tenant that is down.

    `PyJWKClient` caches the key set (`lifespan`), fetches again on an unknown `kid` at most once
    per `cooldown_duration` after a successful fetch, holds a lock so one fetch runs at a time,
    and bounds each fetch by `timeout`. What it does not do, and this subclass adds:

    - a failed fetch (unreachable, error status, not a key set) serves the last good key set
      instead of dropping every cached key at the end of `lifespan`;
    - a failed fetch is not retried for `min_refresh` seconds either (its cooldown only counts
      successful fetches), so a tenant that is down costs one timeout per interval, not one per
      request.
    """

    def __init__(self, url: str, *, timeout: float, max_age: float, min_refresh: float) -> None:
        super().__init__(
            url,
            cache_jwk_set=True,
            lifespan=max_age,
            cooldown_duration=min_refresh,
            timeout=timeout,
        )
        self.min_refresh = min_refresh
        self.last_good: jwt.PyJWKSet | None = None
        self.failed_at: float | None = None

    def key(self, kid: str) -> jwt.PyJWK:
        """The RSA key named `kid`; INVALID_TOKEN when the tenant has none, 503 when unreachable
        and no key set was ever fetched."""
        try:
            key = self.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise JwksUnavailable() from exc
        except jwt.PyJWKClientError as exc:  # no such kid, even after the refetch it allows
            raise InvalidToken() from exc
        if key.key_type != "RSA":
            raise InvalidToken()
        return key

    def fetch_data(self) -> Any:
        """The tenant's key set; after a failure, the last good one (or the failure when none)."""
        now = time.monotonic()
        if self.failed_at is None or now - self.failed_at >= self.min_refresh:
            try:
                self.last_good = jwt.PyJWKSet.from_dict(super().fetch_data())
                self.failed_at = None
            except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as exc:
                # ValueError: a body that is not JSON.
                self.failed_at = now
                logger.warning("Auth0 JWKS fetch from %s failed: %s", self.uri, exc)
        if self.last_good is None:
            raise jwt.PyJWKClientConnectionError("The tenant's JWKS cannot be fetched")
        # After a failure, keys already known keep working until the tenant answers again.
        return self.last_good


def jwks() -> JwksClient:
    """This application's JWKS client (one per app and tenant, shared by its threads)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    url = f"{issuer()}.well-known/jwks.json"
    client: JwksClient | None = app.extensions.get(EXTENSION)
    if client is None or client.uri != url:
        client = JwksClient(
            url,
            timeout=config["AUTH0_JWKS_TIMEOUT_SECONDS"],
            max_age=config["AUTH0_JWKS_CACHE_SECONDS"],
            min_refresh=config["AUTH0_JWKS_MIN_REFRESH_SECONDS"],
        )
        app.extensions[EXTENSION] = client
    return client


def verify(token: str, *, audience: str) -> dict[str, Any]:
    """The claims of a tenant-signed RS256 token for `audience`, or INVALID_TOKEN."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise InvalidToken()
    key = jwks().key(kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer(),
            leeway=current_app.config["AUTH0_LEEWAY_SECONDS"],
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise InvalidToken()
    return claims


def verify_access_token(token: str) -> dict[str, Any]:
    """The claims of an Auth0 access token for this API (`AUTH0_AUDIENCE`)."""
    return verify(token, audience=current_app.config["AUTH0_AUDIENCE"])


# --- users --------------------------------------------------------------------------------------


def authenticate(claims: dict[str, Any]) -> LinkedUser:
    """The live, active local user of verified claims; linked or created on first sight."""
    sub = claims["sub"]
    with read_only() as connection:
        row = connection.execute(
            select(User.id, User.role, User.is_active, UserMfa.confirmed_at.is_not(None))
            .outerjoin(UserMfa, UserMfa.user_id == User.id)
            .where(User.auth0_sub == sub, User.deleted_at.is_(None))
        ).first()
    if row is None:
        user = link_or_provision(claims)
        row_id, role, active = user.id, user.role, user.is_active
        mfa_enabled = mfa_service.is_enabled(user.id)  # an existing account just linked
    else:
        row_id, role, active, mfa_enabled = row
    if not active:
        raise InvalidToken()
    return LinkedUser(id=row_id, role=role, mfa_enabled=bool(mfa_enabled))


def mfa_performed(claims: dict[str, Any]) -> bool:
    """True when the tenant says this sign-in used multi-factor authentication: `amr` (RFC 8176)
    is a list holding "mfa", as Auth0 writes it once the user passed its MFA."""
    methods = claims.get("amr")
    return isinstance(methods, list) and MFA_METHOD in methods


def link_or_provision(claims: dict[str, Any]) -> User:
    """The user of a subject seen for the first time: linked by verified email, or created.

    INVALID_TOKEN when the email is missing or unverified, when that account is already linked
    to another subject, or when there is no account and auto-provisioning is off.
    """
    sub = claims["sub"]
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is not True:
        logger.info("Auth0 subject %s has no verified email: not linked", sub)
        raise NotLinked()
    try:
        email = normalize_email(email)
    except ValueError:
        logger.info("Auth0 subject %s has no valid email: not linked", sub)
        raise NotLinked() from None
    with unit_of_work("This Auth0 account is already linked"):
        user = db.session.scalars(
            select(User).where(User.auth0_sub == sub, User.deleted_at.is_(None))
        ).first()
        if user is not None:  # linked meanwhile by a concurrent request
            return user
        user = db.session.scalars(
            select(User).where(User.email == email, User.deleted_at.is_(None))
        ).first()
        if user is not None:
            if user.auth0_sub is not None:
                raise NotLinked()
            user.auth0_sub = sub
            user.email_verified = True
            logger.info("Auth0 subject linked to existing user %s", user.id)
        elif current_app.config["AUTH0_AUTO_PROVISION"]:
            user = User(
                email=email,
                name=_display_name(claims, email),
                role=Role.USER.value,
                password_hash=None,
                email_verified=True,
                auth0_sub=sub,
            )
            db.session.add(user)
            logger.info("Auth0 subject provisioned as a new user")
        else:
            logger.info("Auth0 subject unknown and AUTH0_AUTO_PROVISION is off: refused")
            raise NotLinked()
        user.last_login_at = utcnow()
        db.session.flush()
    return user


def _display_name(claims: dict[str, Any], email: str) -> str:
    name = claims.get("name")
    if isinstance(name, str) and name.strip() and name.strip() != email:
        return name.strip()[:100]
    return email.partition("@")[0][:100] or "Auth0 user"


def browser_user(claims: dict[str, Any]) -> User:
    """The user an ID token signs in (browser flow); a disabled account is refused with 403."""
    sub = claims["sub"]
    user = db.session.scalars(
        select(User).where(User.auth0_sub == sub, User.deleted_at.is_(None))
    ).first()
    if user is None:
        user = link_or_provision(claims)
    if not user.is_active:
        raise AccountDisabled()
    return user


def public_url(endpoint: str) -> str:
    """An absolute URL of this site for the tenant (callback, return after logout): built on
    `PUBLIC_BASE_URL` when set, so a forged Host header cannot choose it."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return f"{base}{url_for(endpoint)}"
    return url_for(endpoint, _external=True)


def logout_url(return_to: str) -> str:
    """Auth0's logout endpoint, which ends the tenant's session and comes back to `return_to`."""
    query = urlencode({"client_id": current_app.config["CLIENT_ID"], "returnTo": return_to})
    return f"{issuer()}v2/logout?{query}"
