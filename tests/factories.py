"""Test data: users made through the real service, and signed-in clients."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from models import User
from schemas.user import UserRead
from services import user_service
from services.base_service import unit_of_work

PASSWORD = "plausible-Kettle-47-Orbit"
# The user resource: every field of `UserRead` (decision 0113); tests/unit/test_read_columns.py
# holds it to the contract's §2 fields and keeps hashes, tokens and internal columns out.
USER_FIELDS = frozenset(UserRead.model_fields)
_sequence = itertools.count(1)


def fullwidth(text: str) -> str:
    """`text` in fullwidth forms (U+FF01 to U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def create_user(
    app: Flask,
    *,
    email: str | None = None,
    name: str | None = None,
    role: str = "user",
    password: str = PASSWORD,
    is_active: bool = True,
) -> User:
    """A committed user (detached from the session: read its plain attributes)."""
    number = next(_sequence)
    with app.app_context(), unit_of_work():
        user = user_service.add_user(
            email=email or f"user{number}@example.com",
            password=password,
            name=name or f"User {number}",
            role=role,
        )
        user.is_active = is_active
    return user


@dataclass
class SignedIn:
    """A signed-in API client: its user id, tokens and auth headers."""

    user_id: int
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> SignedIn:
    """Sign in through the API and keep the tokens."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    data = response.json["data"]
    return SignedIn(
        user_id=data["user"]["id"],
        email=email,
        access_token=data["access_token"],
        refresh_token=data["refresh_token"],
    )


def signed_in_user(app: Flask, client: FlaskClient, **fields: object) -> SignedIn:
    """Create a user and sign them in."""
    user = create_user(app, **fields)  # type: ignore[arg-type]
    return login(client, user.email)


HTML = {"Accept": "text/html"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """The CSRF token of the form on `path` (the client's session keeps its secret)."""
    response = client.get(path, headers=HTML)
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    """Post a form as a browser does: with the page's CSRF token, accepting HTML."""
    token = csrf_token(client, kwargs.pop("token_page", "/auth/login"))  # type: ignore[arg-type]
    return client.post(path, data={**data, "csrf_token": token}, headers=HTML, **kwargs)


def browser_login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; the client keeps the session cookie."""
    response = post_form(client, "/auth/login", {"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
