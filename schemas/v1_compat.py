"""Requests and answers of the old Node.js service's `/v1` contract, in its field names and with
its validation messages (Joi's wording, `"field"` quoted), so old clients see what they saw."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from domain import passwords
from domain.emails import normalize_email
from schemas.common import NAME_MAX_LENGTH, ResponseModel

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
ROLES = ("user", "admin")
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
# Joi's `number()` refused what JavaScript cannot hold exactly; so do we (it also keeps the
# offset, at most (2^53 - 2) * 100, within a BIGINT).
MAX_SAFE_INTEGER = 2**53 - 1
# `sortBy` names the old Mongo fields; each maps to a column of `user_service.ORDER_COLUMNS`.
SORT_FIELDS = {
    "id": "legacy_id",
    "_id": "legacy_id",
    "name": "name",
    "email": "email",
    "role": "role",
    "isEmailVerified": "email_verified",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


class LegacyRequest(BaseModel):
    """A `/v1` body or query: unknown keys refused, empty and NUL strings refused, like Joi."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_empty(cls, value: Any, info: ValidationInfo) -> Any:
        label = cls.model_fields[str(info.field_name)].alias or info.field_name
        if value == "":
            raise ValueError(f'"{label}" is not allowed to be empty')
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(f'"{label}" contains an invalid value')
        return value


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except ValueError:
        raise ValueError('"email" must be a valid email') from None


def _password(value: str) -> str:
    problems = passwords.password_problems_under(value, policy=passwords.legacy_api_policy())
    if problems:
        raise ValueError(", ".join(problems))
    return value


def _name(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError('"name" is not allowed to be empty')
    if len(stripped) > NAME_MAX_LENGTH:
        raise ValueError(
            f'"name" length must be less than or equal to {NAME_MAX_LENGTH} characters long'
        )
    return stripped


LegacyEmail = Annotated[str, Field(max_length=1024), AfterValidator(_email)]
LegacyPassword = Annotated[str, Field(max_length=1024), AfterValidator(_password)]
LegacyName = Annotated[str, Field(max_length=1024), AfterValidator(_name)]
LegacyToken = Annotated[str, Field(max_length=4096)]
LegacyRole = Literal["user", "admin"]


class RegisterBody(LegacyRequest):
    email: LegacyEmail
    password: LegacyPassword
    name: LegacyName


class LoginBody(LegacyRequest):
    email: LegacyEmail
    password: Annotated[str, Field(max_length=1024)]


class RefreshTokenBody(LegacyRequest):
    refresh_token: LegacyToken = Field(alias="refreshToken")


class ForgotPasswordBody(LegacyRequest):
    email: LegacyEmail


class PasswordBody(LegacyRequest):
    password: LegacyPassword


class TokenQuery(LegacyRequest):
    token: LegacyToken


class CreateUserBody(LegacyRequest):
    email: LegacyEmail
    password: LegacyPassword
    name: LegacyName
    role: LegacyRole


class UpdateUserBody(LegacyRequest):
    email: LegacyEmail | None = None
    password: LegacyPassword | None = None
    name: LegacyName | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateUserBody:
        if not self.model_fields_set:
            raise ValueError('"value" must have at least 1 key')
        return self


class ListUsersQuery(LegacyRequest):
    name: Annotated[str, Field(max_length=1024)] | None = None
    role: LegacyRole | None = None
    sort_by: Annotated[str, Field(max_length=1024)] | None = Field(None, alias="sortBy")
    limit: int | None = None
    page: int | None = None

    @field_validator("limit", "page")
    @classmethod
    def _safe_number(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f'"{info.field_name}" must be a safe number')
        return value

    @property
    def page_number(self) -> int:
        """The page asked for; like the old service, anything below 1 means the first."""
        return self.page if self.page is not None and self.page > 0 else 1

    @property
    def page_size(self) -> int:
        """The page size asked for (default 10; at most 100, a deliberate difference)."""
        if self.limit is None or self.limit <= 0:
            return DEFAULT_LIMIT
        return min(self.limit, MAX_LIMIT)

    def order(self) -> list[tuple[str, bool]]:
        """`sortBy=field:desc,field2:asc` as (column, descending) pairs; unknown fields are
        ignored (Mongo sorted on a missing field as if it were equal); default `createdAt`."""
        keys = []
        for option in (self.sort_by or "").split(","):
            field, _, direction = option.strip().partition(":")
            if field in SORT_FIELDS:
                keys.append((SORT_FIELDS[field], direction == "desc"))
        return keys or [("created_at", False)]


def joi_messages(exc: PydanticValidationError) -> list[dict[str, str]]:
    """Pydantic's errors in Joi's words, as the `[{"field", "error"}]` list `ValidationError`
    takes (the `/v1` error joins the `error`s with ", ")."""
    items = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "value"
        kind = error["type"]
        if kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        elif kind == "missing":
            message = f'"{field}" is required'
        elif kind == "extra_forbidden":
            message = f'"{field}" is not allowed'
        elif kind == "literal_error":
            message = f'"{field}" must be one of [{", ".join(ROLES)}]'
        elif kind.startswith("int_"):
            message = f'"{field}" must be a number'
        elif kind in ("model_type", "dict_type"):
            message = '"value" must be of type object'
        elif kind == "string_too_long":
            limit = (error.get("ctx") or {}).get("max_length")
            message = f'"{field}" length must be less than or equal to {limit} characters long'
        elif kind == "string_type":
            message = f'"{field}" must be a string'
        else:
            message = f'"{field}" {error["msg"]}'
        items.append({"field": field, "error": message})
    return items


class LegacyUser(ResponseModel):
    """The old user JSON: the ObjectId as `id`, then name, email, role and verification."""

    id: str = Field(validation_alias="legacy_id", pattern=OBJECT_ID.pattern)
    name: str
    email: str
    role: str
    is_email_verified: bool = Field(
        validation_alias="email_verified", serialization_alias="isEmailVerified"
    )


class LegacyExpiringToken(BaseModel):
    """A token and when it stops working (JavaScript's `Date.toJSON()`)."""

    token: str
    expires: str = Field(examples=["2026-01-01T00:00:00.000Z"])


class LegacyTokens(BaseModel):
    """The old token pair."""

    access: LegacyExpiringToken
    refresh: LegacyExpiringToken


class LegacyAuth(BaseModel):
    """A signed-in account: the user and its tokens."""

    user: LegacyUser
    tokens: LegacyTokens


class LegacyUserPage(BaseModel):
    """A page of users, in the old (mongoose-paginate) field names."""

    results: list[LegacyUser]
    page: int
    limit: int
    total_pages: int = Field(serialization_alias="totalPages")
    total_results: int = Field(serialization_alias="totalResults")


class LegacyError(BaseModel):
    """Every `/v1` error: the HTTP status again, and the old service's message."""

    code: int
    message: str
