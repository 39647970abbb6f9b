"""Building blocks shared by every schema: strict request models, emails, timestamps, envelopes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from envelope import iso_timestamp

T = TypeVar("T")

EMAIL_MAX_LENGTH = 320


class RequestModel(BaseModel):
    """A request body or query: unknown fields are rejected, strings trimmed of nothing."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response resource built from a model instance."""

    model_config = ConfigDict(from_attributes=True)


def normalize_email(value: str) -> str:
    """Trim and lower-case an address after checking its syntax (no DNS lookup)."""
    candidate = value.strip()
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise ValueError("Email is too long")
    try:
        validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("Invalid email format") from exc
    return candidate.lower()


def _strip_name(value: str) -> str:
    stripped = value.strip()
    if not 1 <= len(stripped) <= 100:
        raise ValueError("Name must be 1 to 100 characters")
    return stripped


Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH * 2, json_schema_extra={"format": "email"}),
    AfterValidator(normalize_email),
]
Name = Annotated[str, Field(max_length=400), AfterValidator(_strip_name)]
# Length and list checks live in password_service.check_password (one source of truth);
# the schema only bounds the input so a 1 MB string is refused before hashing.
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Timestamp = Annotated[datetime, PlainSerializer(iso_timestamp, return_type=str)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]


class Envelope(BaseModel, Generic[T]):
    """The success envelope."""

    success: bool = True
    data: T
    message: str = "Operation completed successfully"
    timestamp: str


class ErrorItem(BaseModel):
    field: str
    error: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(
        description="Always an object; for VALIDATION_ERROR: field, error and errors[]"
    )


class ErrorEnvelope(BaseModel):
    """The error envelope."""

    success: bool = False
    error: ErrorDetail
    timestamp: str
