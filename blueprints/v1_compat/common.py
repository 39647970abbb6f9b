"""The `/v1` blueprint and what its routes share: the old error shape, reading and validating
requests the way Joi did, the Bearer caller, the old user and token JSON, and `@documented`,
the declaration the `/v1` OpenAPI document is built from (blueprints/v1_compat/docs.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from blueprints.endpoint import summary_and_description
from blueprints.security import BEARER, bearer_token
from errors import (
    AppError,
    AuthenticationRequired,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    MethodNotAllowed,
    NotFound,
    ValidationError,
    register_path_errors,
)
from models import utcnow
from observability.logs import identify
from schemas.v1_compat import (
    OBJECT_ID,
    LegacyError,
    LegacyExpiringToken,
    LegacyTokens,
    LegacyUser,
    joi_messages,
)
from services import policy, token_service, user_service
from services.auth import authentication
from services.auth.authentication import Principal
from services.session_service import IssuedTokens

bp = Blueprint("v1_compat", __name__, url_prefix="/v1")

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V", bound=Callable[..., Any])
LEGACY_SPEC_ATTRIBUTE = "legacy_spec"
FORM_MIMETYPE = "application/x-www-form-urlencoded"
# The old service's words for these statuses, whatever the service said.
STATUS_MESSAGES = {
    401: "Please authenticate",
    403: "Forbidden",
    404: "Not found",
    429: "Too many requests, please try again later.",
}
KEPT_HEADERS = ("Retry-After", "WWW-Authenticate")


def legacy_error(error: AppError) -> tuple[int, str]:
    """An error's status and message in the old contract's terms."""
    if isinstance(error, EmailTaken):
        return 400, "Email already taken"  # the old service answered 400, not 409
    if isinstance(error, ValidationError):
        items = error.details.get("errors") or [{"error": error.message}]
        return 400, ", ".join(item["error"] for item in items)
    if isinstance(error, InvalidCredentials):
        return 401, "Incorrect email or password"
    if isinstance(error, MethodNotAllowed):
        return 404, "Not found"  # Express has no 405: an unrouted method is an unknown route
    named = isinstance(error, NotFound | InvalidToken | AuthenticationRequired)
    if named and error.message != error.default_message:
        return error.status, error.message  # "User not found", "Password reset failed", …
    if error.status in STATUS_MESSAGES:
        return error.status, STATUS_MESSAGES[error.status]
    if error.status >= 500:
        return error.status, HTTPStatus(error.status).phrase
    return error.status, error.message


def error_response(error: AppError) -> ResponseReturnValue:
    """`{"code", "message"}`: every error under `/v1`, routing 404s included."""
    status, message = legacy_error(error)
    response = answer(LegacyError(code=status, message=message), status)
    response.headers.update({k: v for k, v in error.headers.items() if k in KEPT_HEADERS})
    return response


@bp.record_once
def _own_error_shape(state: BlueprintSetupState) -> None:
    register_path_errors(state.app, bp.url_prefix or "/v1", error_response)


class RequestInput:
    """Validates the parts of a request and reports every failure at once, as Joi did."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def model(self, model: type[M], data: object) -> M:
        """`data` validated into `model` (a blank model when invalid; `check` then raises)."""
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            self.errors.extend(joi_messages(exc))
            return model.model_construct()

    def check(self) -> None:
        """Raise the 400 naming every failure collected so far."""
        if self.errors:
            raise ValidationError(self.errors)


def request_body() -> object:
    """The JSON or form body (Express parsed both); anything else reads as an empty body."""
    if request.mimetype == FORM_MIMETYPE:
        return request.form.to_dict()
    if not request.is_json or not request.get_data(cache=True):
        return {}
    return request.get_json()


def query_arguments() -> dict[str, Any]:
    """Query parameters; a repeated one arrived as an array in Express, which Joi refused."""
    return {
        name: values[0] if len(values) == 1 else values for name, values in request.args.lists()
    }


def authenticate() -> Principal:
    """The Bearer caller (this backend's token or the old service's), or 401."""
    token = bearer_token()
    if token is None:
        raise AuthenticationRequired()
    principal = authentication.authenticate_v1_token(token)
    g.principal, g.auth_method = principal, BEARER
    identify(principal.id)
    return principal


def user_id_from_path(actor: Principal, legacy_id: str) -> int:
    """The user a `:userId` names. A malformed id is 400, but, as in the old service, only
    after the caller proved the right to act on other users (else 403)."""
    if not OBJECT_ID.match(legacy_id):
        policy.ensure_self_or_admin(actor, user_service.NO_SUCH_USER)
        raise ValidationError.single("userId", '"userId" must be a valid mongo id')
    return user_service.id_for_legacy_id(legacy_id)


def legacy_user(user: object) -> LegacyUser:
    """The old user JSON of a `User` row or a read row."""
    return LegacyUser.model_validate(user, from_attributes=True)


def node_date(moment: datetime) -> str:
    """A date as JavaScript's `Date.toJSON()` writes it: `2026-01-01T00:00:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_tokens(tokens: IssuedTokens) -> LegacyTokens:
    """The old `{"access": {"token", "expires"}, "refresh": {"token", "expires"}}`."""
    now = utcnow()
    refresh_expires = now + token_service.refresh_token_lifetime()
    access_expires = now + timedelta(seconds=tokens.expires_in)
    return LegacyTokens(
        access=LegacyExpiringToken(token=tokens.access_token, expires=node_date(access_expires)),
        refresh=LegacyExpiringToken(token=tokens.refresh_token, expires=node_date(refresh_expires)),
    )


def answer(body: BaseModel, status: int = 200) -> Response:
    """A bare JSON body (no envelope), in the old field names."""
    response: Response = jsonify(body.model_dump(mode="json", by_alias=True))
    response.status_code = status
    return response


def no_content() -> ResponseReturnValue:
    """204, no body."""
    return Response(status=204)


@dataclass(frozen=True)
class LegacySpec:
    """What a `/v1` route takes and answers, for the `/v1` OpenAPI document. The view validates
    with the same models (`RequestInput`) and answers through `response` (`answer`)."""

    summary: str
    description: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: tuple[int, ...]
    tags: tuple[str, ...]


def documented(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    auth: bool = False,
    errors: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
) -> Callable[[V], V]:
    """Declare a `/v1` route's input and output for its OpenAPI document; the view is unchanged
    (it keeps validating in the order the old service did: caller, path, then input)."""

    def decorator(view: V) -> V:
        summary, description = summary_and_description(view)
        spec = LegacySpec(
            summary=summary,
            description=description,
            body=body,
            query=query,
            response=response,
            status=status,
            auth=auth,
            errors=errors,
            tags=tags,
        )
        setattr(view, LEGACY_SPEC_ATTRIBUTE, spec)
        return view

    return decorator
