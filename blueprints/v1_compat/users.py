"""`/v1/users/...`: the old service's user management, by 24-hex ObjectId."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from blueprints.v1_compat.common import (
    RequestInput,
    answer,
    authenticate,
    bp,
    documented,
    legacy_user,
    no_content,
    query_arguments,
    request_body,
    user_id_from_path,
)
from domain import passwords
from schemas.user import UserCreate, UserListQuery, UserUpdate
from schemas.v1_compat import (
    CreateUserBody,
    LegacyUser,
    LegacyUserPage,
    ListUsersQuery,
    UpdateUserBody,
)
from services import user_service
from services.user_service import UpdateRules

TAGS = ("users",)


@bp.post("/users")
@documented(
    body=CreateUserBody, response=LegacyUser, status=201, auth=True, errors=(403,), tags=TAGS
)
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
    return answer(legacy_user(user), 201)


@bp.get("/users")
@documented(query=ListUsersQuery, response=LegacyUserPage, auth=True, errors=(403,), tags=TAGS)
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
    return answer(
        LegacyUserPage(
            results=[legacy_user(row) for row in page.items],
            page=page.page,
            limit=page.per_page,
            total_pages=page.pages,
            total_results=page.total,
        )
    )


@bp.get("/users/<user_id>")
@documented(response=LegacyUser, auth=True, errors=(400, 403, 404), tags=TAGS)
def get_user(user_id: str) -> ResponseReturnValue:
    """A user: yourself, or anyone for administrators."""
    actor = authenticate()
    row = user_service.get_for_actor(actor=actor, user_id=user_id_from_path(actor, user_id))
    return answer(legacy_user(row))


@bp.patch("/users/<user_id>")
@documented(body=UpdateUserBody, response=LegacyUser, auth=True, errors=(403, 404), tags=TAGS)
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
        rules=UpdateRules(
            password_policy=passwords.legacy_api_policy(),
            confirm_own_changes=False,
            direct_own_email=True,
        ),
    )
    return answer(legacy_user(user))


@bp.delete("/users/<user_id>")
@documented(status=204, auth=True, errors=(400, 403, 404), tags=TAGS)
def delete_user(user_id: str) -> ResponseReturnValue:
    """Delete a user (soft): yourself, or anyone for administrators."""
    actor = authenticate()
    user_service.delete(
        actor=actor, user_id=user_id_from_path(actor, user_id), allow_self_delete=True
    )
    return no_content()
