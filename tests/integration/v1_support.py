"""Helpers of the `/v1` tests: old-service tokens and signed-in `/v1` clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from flask import Flask
from flask.testing import FlaskClient

from models import User, db
from tests.factories import PASSWORD, create_user
from tests.mongo_data import OLD_JWT_SECRET


def legacy_id_of(app: Flask, user_id: int) -> str:
    """The `/v1` id of a user."""
    with app.app_context():
        return db.session.get(User, user_id).legacy_id


def old_access_token(
    legacy_id: str,
    *,
    secret: str = OLD_JWT_SECRET,
    issued: datetime | None = None,
    lifetime: timedelta = timedelta(minutes=30),
    kind: str = "access",
) -> str:
    """An access token exactly as the Node.js service signed it."""
    issued = issued or datetime.now(UTC) - timedelta(seconds=5)
    claims = {"sub": legacy_id, "iat": issued, "exp": issued + lifetime, "type": kind}
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class V1Client:
    """A user signed in through `/v1/auth/login`."""

    id: str
    email: str
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def v1_login(client: FlaskClient, email: str, password: str = PASSWORD) -> V1Client:
    response = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    body = response.json
    return V1Client(
        id=body["user"]["id"],
        email=email,
        access=body["tokens"]["access"]["token"],
        refresh=body["tokens"]["refresh"]["token"],
    )


def v1_user(app: Flask, client: FlaskClient, **fields: object) -> V1Client:
    """Create a user and sign them in on `/v1`."""
    user = create_user(app, **fields)  # type: ignore[arg-type]
    return v1_login(client, user.email)
