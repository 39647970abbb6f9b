"""User management under `/api/v1/users` (contract §4), and `/api/v1/users/me` (§9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import current_app
from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.endpoint import endpoint
from blueprints.rate_limits import password_check_limits
from blueprints.security import (
    BEARER,
    authenticate_request,
    bearer_claims,
    current_principal,
    remember_principal,
)
from envelope import success, success_response
from schemas.user import UserCreate, UserListQuery, UserPage, UserRead, UserUpdate
from services import admin_service, user_service

TAGS = ("users",)
COMMON_ERRORS = (401, 403, 404)
# The reads answer rows whose shape `UserRead` fixes straight as JSON (decision 0123);
# tests/integration/test_user_shape.py holds them to what the model would answer.
USER_FIELDS = tuple(UserRead.model_fields)


def user_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """A user row (`user_service.READ_COLUMNS`) as `UserRead` answers it, its datetimes aside
    (`success_response` writes those)."""
    return {name: row[name] for name in USER_FIELDS}


def users_data(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`user_data` of each row."""
    return [user_data(row) for row in rows]


@bp.get("/users")
@endpoint(query=UserListQuery, response=UserPage, auth=True, errors=(401, 403), tags=TAGS)
def list_users(query: UserListQuery) -> object:
    """List users (administrators): pagination, sorting, search and filters."""
    # Its common case is answered before Flask by blueprints/shortcuts.py (decision 0144): a
    # change here is made there too. There the token's revocation is looked up with the count
    # (`user_service.list_for_caller`, decision 0151); here the caller is known before the query
    # is validated, so that a bad token is a 401 whatever the query.
    page = user_service.list_users(actor=current_principal(), query=query)
    return success_response({"items": users_data(page.items), "pagination": page.pagination})


@bp.post("/users")
@endpoint(
    body=UserCreate, response=UserRead, status=201, auth=True, errors=(401, 403, 409), tags=TAGS
)
def create_user(body: UserCreate) -> object:
    """Create a user (administrators)."""
    return user_service.create(actor=current_principal(), data=body)


# `/users/me` is a static rule: Werkzeug matches it before `/users/<id:user_id>`, which takes
# digits only, whatever order the rules are declared in.
@bp.get("/users/me")
@endpoint(response=UserRead, auth=True, errors=(401,), tags=TAGS)
def get_me() -> object:
    """Get yourself: the same as `GET /users/{your id}`."""
    principal = current_principal()
    return user_service.get_for_actor(actor=principal, user_id=principal.id)


@bp.get("/users/<id:user_id>")
@endpoint(response=UserRead, auth=True, auth_by_view=True, errors=COMMON_ERRORS, tags=TAGS)
def get_user(user_id: int) -> object:
    """Get a user: yourself, or anyone for administrators."""
    # Its common case (a valid Bearer token, a user the caller may see) is answered before Flask
    # by blueprints/shortcuts.py (decision 0144): a change here is made there too.
    claims = bearer_claims()
    if claims is None:  # no Bearer token, or the Auth0 tenant's: the usual way
        row = user_service.get_for_actor(actor=authenticate_request(), user_id=user_id)
    else:  # the token's revocation is checked in the read's own statement
        principal, found = user_service.read_for_caller(caller=claims, user_id=user_id)
        row = user_service.seen_by(remember_principal(principal, BEARER), user_id, found)
    return success_response(user_data(row))


@bp.route("/users/me", methods=["PUT", "PATCH"])
@password_check_limits
@endpoint(body=UserUpdate, response=UserRead, auth=True, errors=(401, 403, 409, 429), tags=TAGS)
def update_me(body: UserUpdate) -> object:
    """Change yourself: the same as `PATCH /users/{your id}` (name, email, password with
    current_password, locale)."""
    principal = current_principal()
    return user_service.update(
        actor=principal, user_id=principal.id, changes=body, session_id=principal.session_id
    )


@bp.route("/users/<id:user_id>", methods=["PUT", "PATCH"])
@password_check_limits
@endpoint(
    body=UserUpdate, response=UserRead, auth=True, errors=(*COMMON_ERRORS, 409, 429), tags=TAGS
)
def update_user(user_id: int, body: UserUpdate) -> object:
    """Change a user. Yourself: name, password (with current_password), locale; your own email
    changes only through `POST /auth/email` (400 here). Administrators: also email, role and
    is_active. PUT and PATCH both change only the fields sent."""
    principal = current_principal()
    return user_service.update(
        actor=principal, user_id=user_id, changes=body, session_id=principal.session_id
    )


@bp.delete("/users/me")
@endpoint(auth=True, errors=(401, 403, 409), tags=TAGS)
def delete_me() -> ResponseReturnValue:
    """Delete your own account where `ALLOW_SELF_DELETE` is on (else 403): the same as
    `DELETE /users/{your id}`. The row is kept; every session of yours ends."""
    return _delete(current_principal().id)


@bp.delete("/users/<id:user_id>")
@endpoint(auth=True, errors=(*COMMON_ERRORS, 409), tags=TAGS)
def delete_user(user_id: int) -> ResponseReturnValue:
    """Delete a user (administrators; yourself too where `ALLOW_SELF_DELETE` is on). The row is
    kept; the user's tokens stop working."""
    return _delete(user_id)


def _delete(user_id: int) -> ResponseReturnValue:
    user_service.delete(
        actor=current_principal(),
        user_id=user_id,
        allow_self_delete=current_app.config["ALLOW_SELF_DELETE"],
    )
    return success(None, "User deleted")


@bp.post("/users/<id:user_id>/2fa/reset")
@endpoint(response=UserRead, auth=True, errors=COMMON_ERRORS, message="Two-factor reset", tags=TAGS)
def reset_two_factor(user_id: int) -> object:
    """Turn a user's two-factor authentication off and end their sessions (administrators)."""
    return admin_service.reset_two_factor(actor=current_principal(), user_id=user_id)
