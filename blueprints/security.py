"""Who is calling: the Bearer token of an API request, resolved once per request."""

from __future__ import annotations

from flask import g, request

from errors import AuthenticationRequired, InvalidToken
from services import auth_service
from services.auth_service import Principal

MAX_AUTHORIZATION_LENGTH = 8192


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer …` header; None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(header) > MAX_AUTHORIZATION_LENGTH:
        raise InvalidToken()
    return token.strip()


def authenticate_request() -> Principal:
    """Resolve the caller or raise 401; the result is kept on `g` for the request."""
    principal: Principal | None = g.get("principal")
    if principal is not None:
        return principal
    token = bearer_token()
    if token is None:
        raise AuthenticationRequired()
    principal = auth_service.authenticate_access_token(token)
    g.principal = principal
    g.user_id = principal.id
    return principal


def current_principal() -> Principal:
    """The authenticated caller of this request (after `authenticate_request`)."""
    principal: Principal = g.principal
    return principal
