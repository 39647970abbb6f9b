"""Building blocks shared by every schema: strict request models, emails, timestamps, envelopes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from envelope import iso_timestamp
from services.password_service import MAX_LENGTH, MIN_LENGTH

T = TypeVar("T")

EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 100


class RequestModel(BaseModel):
    """A request body or query: unknown fields and NUL characters are rejected."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it a 400, never a 500.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Must not contain NUL characters")
        return value


class ResponseModel(BaseModel):
    """A response resource built from a model instance."""

    model_config = ConfigDict(from_attributes=True)


def normalize_email(value: str) -> str:
    """Trim and lower-case an address after checking its syntax (no DNS lookup)."""
    candidate = value.strip()
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise ValueError("Email is too long")
    try:
        # `test_environment` admits RFC 6761 `.test` domains (fuzzers and staging use them);
        # other special-use names (.local, .localhost, .invalid) stay refused.
        validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError("Invalid email format") from exc
    return candidate.lower()


def _strip_name(value: str) -> str:
    stripped = value.strip()
    if not 1 <= len(stripped) <= NAME_MAX_LENGTH:
        raise ValueError(f"Name must be 1 to {NAME_MAX_LENGTH} characters")
    return stripped


Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH * 2, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
# Documents for clients what `RequestModel` enforces: no NUL character in any string.
NO_NUL = r"^[^\x00]*$"
# 1 to 100 characters with at least one that is not white space; stored trimmed. The schema
# documents the rule; `_strip_name` enforces it with a message people can read.
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
    AfterValidator(_strip_name),
]
# A password being checked (login, current password): any length the old service allowed; the
# bound only refuses megabyte strings before hashing.
Password = Annotated[str, Field(min_length=1, max_length=1024, pattern=NO_NUL)]
# A password being set. The rules are enforced by password_service.check_password (one source
# of truth, with its own messages); the schema documents the length bounds for clients.
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
