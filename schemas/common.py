"""Building blocks shared by every schema: strict request models, emails, timestamps, envelopes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from domain.emails import EMAIL_MAX_LENGTH, normalize_email
from domain.passwords import MAX_LENGTH, MIN_LENGTH
from domain.texts import N_
from envelope import iso_timestamp
from models.base import MAX_ID

T = TypeVar("T")

NAME_MAX_LENGTH = 100
# Pages of a list: the bound keeps the offset, (page - 1) * per_page, a number the database
# takes (PostgreSQL refused larger ones with "integer out of range", a 500).
MAX_PAGE = 2**31 - 1
MAX_PER_PAGE = 100


class RequestModel(BaseModel):
    """A request body: unknown fields and NUL characters are rejected, and every value must
    have the type the contract names (strict: JSON `0` is no boolean, `"5"` no integer)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it a 400, never a 500.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError(N_("Must not contain NUL characters"))
        return value


class QueryModel(RequestModel):
    """Query parameters. They arrive as text, so fields read their type from text, each by its
    own strict rule (decimal digits for `Page`/`PerPage`/`RowId`, `QueryBool`, `IsoDateTime`),
    never by Pydantic's lax guesses."""

    model_config = ConfigDict(strict=False)


class ResponseModel(BaseModel):
    """A response resource built from a model instance."""

    model_config = ConfigDict(from_attributes=True)


def stripped_name(max_length: int) -> Callable[[str], str]:
    """A validator that trims a name and holds it to 1 to `max_length` characters."""

    def strip(value: str) -> str:
        stripped = value.strip()
        if not 1 <= len(stripped) <= max_length:
            raise ValueError(N_("Name must be 1 to %(length)s characters") % {"length": max_length})
        return stripped

    return strip


Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH * 2, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
# Documents for clients what `RequestModel` enforces: no NUL character in any string.
NO_NUL = r"^[^\x00]*$"
# 1 to 100 characters with at least one that is not white space; stored trimmed. The schema
# documents the rule; `stripped_name` enforces it with a message people can read.
Name = Annotated[
    str,
    Field(
        max_length=1024,
        json_schema_extra={
            "minLength": 1,
            "maxLength": NAME_MAX_LENGTH,
            "pattern": r"^[^\x00]*\S[^\x00]*$",
        },
    ),
    AfterValidator(stripped_name(NAME_MAX_LENGTH)),
]
# A password being checked (login, current password): any length the old service allowed; the
# bound only refuses megabyte strings before hashing.
Password = Annotated[str, Field(min_length=1, max_length=1024, pattern=NO_NUL)]
# A password being set. The rules are enforced by domain.passwords (one source of truth, with
# its own messages); the schema documents the length bounds for clients.
NewPassword = Annotated[
    str,
    Field(
        max_length=1024,
        pattern=NO_NUL,
        json_schema_extra={"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH},
        description="12 to 128 characters; not a common password; not the email",
    ),
]
# RFC 3339 in UTC with a `Z` (envelope.iso_timestamp), as the document says.
DATE_TIME = {"type": "string", "format": "date-time"}
Timestamp = Annotated[
    datetime,
    PlainSerializer(iso_timestamp, return_type=str),
    WithJsonSchema(DATE_TIME, mode="serialization"),
]

DECIMAL = re.compile(r"-?[0-9]+")
# A date, or a date and time with an optional fraction and zone (RFC 3339's profile of ISO 8601);
# Pydantic then checks the values. Its lax mode also read numbers as Unix times ("0.5").
ISO_8601 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)


def _decimal_text(value: Any) -> Any:
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise ValueError("Must be a whole number in decimal digits")
    return value


def _true_or_false(value: Any) -> Any:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise ValueError("Must be true or false")
        return value == "true"
    return value


def _iso_8601_text(value: Any) -> Any:
    if isinstance(value, str) and not ISO_8601.fullmatch(value):
        raise ValueError("Must be an ISO 8601 date or date-time, e.g. 2026-01-01T00:00:00Z")
    return value


QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_text)]
# The bounds come before the text check so that the JSON schema shows them as minimum/maximum.
Page = Annotated[int, Field(ge=1, le=MAX_PAGE), BeforeValidator(_decimal_text)]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE), BeforeValidator(_decimal_text)]
# An id a row can have; a larger one is refused rather than looked up.
RowId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_decimal_text)]
Token = Annotated[str, Field(min_length=1, max_length=4096, pattern=NO_NUL)]
# A token that travels in a link's query string (`/auth/verify-email?token=…`): URL-safe
# characters only (ours are `secrets.token_urlsafe`, the old service's JWTs), and short enough
# that the request line stays under the server's limit (gunicorn: 4094 bytes, then a 414).
LinkToken = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_.~-]+$")]


class EnvelopeModel(BaseModel):
    """An envelope as answered: every field is always present (`required` in the document)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class Envelope(EnvelopeModel, Generic[T]):
    """The success envelope."""

    success: Literal[True] = True
    data: T
    message: str = "Operation completed successfully"
    timestamp: str = Field(json_schema_extra={"format": "date-time"})


class FormDescription(BaseModel):
    """What a form page tells a JSON client: where to post which fields, with a CSRF token."""

    action: str
    method: Literal["POST"] = "POST"
    fields: list[str]
    csrf_token: str


class ErrorItem(BaseModel):
    field: str
    error: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(
        description="Always an object; for VALIDATION_ERROR: field, error and errors[]"
    )


class ErrorEnvelope(EnvelopeModel):
    """The error envelope."""

    success: Literal[False] = False
    error: ErrorDetail
    timestamp: str = Field(json_schema_extra={"format": "date-time"})
