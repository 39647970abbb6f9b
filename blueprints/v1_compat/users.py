"""`/v1/users/...`: the old service's user management, by 24-hex ObjectId."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from blueprints.v1_compat.common import (
    RequestInput,
    authenticate,
    bp,
    no_content,
    query_arguments,
    request_body,
    user_id_from_path,
    user_json,
)
from domain import passwords
from schemas.user import UserCreate, UserListQuery, UserUpdate
from schemas.v1_compat import CreateUserBody, ListUsersQuery, UpdateUserBody
from services import user_service
from services.user_service import UpdateRules


@bp.post("/users")
def create_user() -> ResponseReturnValue:
    """Create a user (administrators): 201 user."""
    actor = authenticate()
    given = RequestInput()
    body = given.model(CreateUserBody, request_body())
    given.check()
    user = user_service.create(
        actor=actor,
        data=UserCreate.model_validate(body.model_dump()),
        password_policy=passwords.legacy_api_policy(),
    )
    return jsonify(user_json(user)), 201


@bp.get("/users")
def list_users() -> ResponseReturnValue:
    """A page of users (administrators): `{"results", "page", "limit", "totalPages", …}`."""
    actor = authenticate()
    given = RequestInput()
    query = given.model(ListUsersQuery, query_arguments())
    given.check()
    page = user_service.list_users(
        actor=actor,
        # Already validated, to Joi's bounds: a page past `/api/v1`'s is still just empty here.
        query=UserListQuery.model_construct(
            page=query.page_number, per_page=query.page_size, role=query.role
        ),
        name=query.name,
        order_by=query.order(),
    )
    return jsonify(
        {
            "results": [user_json(row) for row in page.items],
            "page": page.page,
            "limit": page.per_page,
            "totalPages": page.pages,
            "totalResults": page.total,
        }
    )


@bp.get("/users/<user_id>")
def get_user(user_id: str) -> ResponseReturnValue:
    """A user: yourself, or anyone for administrators."""
    actor = authenticate()
    row = user_service.get_for_actor(actor=actor, user_id=user_id_from_path(actor, user_id))
    return jsonify(user_json(row))


@bp.patch("/users/<user_id>")
def update_user(user_id: str) -> ResponseReturnValue:
    """Change email, password or name: yourself, or anyone for administrators."""
    actor = authenticate()
    target_id = user_id_from_path(actor, user_id)
    given = RequestInput()
    body = given.model(UpdateUserBody, request_body())
    given.check()
    user = user_service.update(
        actor=actor,
        user_id=target_id,
        changes=UserUpdate.model_validate(body.model_dump(exclude_unset=True)),
        session_id=actor.session_id,
        rules=UpdateRules(password_policy=passwords.legacy_api_policy(), confirm_own_changes=False),
    )
    return jsonify(user_json(user))


@bp.delete("/users/<user_id>")
def delete_user(user_id: str) -> ResponseReturnValue:
    """Delete a user (soft): yourself, or anyone for administrators."""
    actor = authenticate()
    user_service.delete(
        actor=actor, user_id=user_id_from_path(actor, user_id), allow_self_delete=True
    )
    return no_content()
