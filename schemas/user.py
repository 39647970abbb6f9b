"""The user resource and the requests that create, change and list users."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from domain.texts import LocaleName
from schemas.common import (
    NO_NUL,
    Email,
    Name,
    NewPassword,
    Page,
    Password,
    PerPage,
    QueryBool,
    QueryModel,
    RequestModel,
    ResponseModel,
    Timestamp,
)

RoleName = Literal["user", "admin"]
SORT_FIELDS = ("id", "email", "name", "created_at", "last_login_at")


class UserRead(ResponseModel):
    """A user as every client sees it: no hash, token or internal column."""

    id: int
    email: str
    name: str
    role: RoleName
    is_active: bool
    email_verified: bool
    created_at: Timestamp
    updated_at: Timestamp
    last_login_at: Timestamp | None
    locale: LocaleName | None = Field(
        description="language of pages and mails; null follows the browser's Accept-Language"
    )


class UserCreate(RequestModel):
    """An administrator creates a user."""

    email: Email
    password: NewPassword
    name: Name
    role: RoleName = "user"


class UserUpdate(RequestModel):
    """A partial change (PUT and PATCH alike). `role`/`is_active` are for administrators."""

    name: Name | None = None
    email: Email | None = None
    password: NewPassword | None = None
    current_password: Password | None = None
    role: RoleName | None = None
    is_active: bool | None = None
    locale: LocaleName | None = Field(None, description="null: follow the browser's language")


class UserListQuery(QueryModel):
    """Pagination, sorting, search and filters of the user list."""

    page: Page = 1
    per_page: PerPage = 20
    sort: str = Field(
        "id",
        description="A field to sort by, ascending; with '-' in front, descending",
        json_schema_extra={"enum": [f"{sign}{name}" for name in SORT_FIELDS for sign in ("", "-")]},
    )
    q: str | None = Field(
        None, max_length=320, pattern=NO_NUL, description="substring of email or name"
    )
    role: RoleName | None = None
    is_active: QueryBool | None = None

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value.removeprefix("-") not in SORT_FIELDS:
            raise ValueError(f"sort must be one of {', '.join(SORT_FIELDS)}, optionally with '-'")
        return value


class Pagination(ResponseModel):
    page: int
    per_page: int
    total: int
    pages: int


class UserPage(ResponseModel):
    """One page of users."""

    items: list[UserRead]
    pagination: Pagination


class UserIdPath(RequestModel):
    user_id: int
