"""Domain exceptions and the one place that maps every failure to the contract's error codes.

Services raise `AppError` subclasses; HTTP-level failures (unknown path, wrong method, oversized
body) come from Werkzeug. Both end up in `register_errorhandlers`, which answers the JSON error
envelope for API clients and an HTML error page for browsers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from flask import (
    Flask,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sansio.app import App
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from domain.texts import N_
from envelope import error_body

logger = logging.getLogger(__name__)

JSON_PATH_PREFIXES = ("/api/", "/v1/")
PATH_RENDERERS_KEY = "path_error_renderers"

ErrorRenderer = Callable[["AppError"], ResponseReturnValue]


class AppError(Exception):
    """A failure the client should hear about, in the contract's terms."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = N_("An unexpected error occurred")
    # A wrong secret (password, code) that counts against the failed-attempt rate limits
    # (blueprints/rate_limits.py) whatever its status.
    failed_attempt: ClassVar[bool] = False

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    status, code, default_message = 400, "BAD_REQUEST", N_("The request body is not valid JSON")


class ValidationError(AppError):
    status, code, default_message = 400, "VALIDATION_ERROR", N_("Invalid input data")

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        first = errors[0] if errors else {"field": "", "error": self.default_message}
        details = {"field": first["field"], "error": first["error"], "errors": errors}
        super().__init__(message, details=details)

    @classmethod
    def single(cls, field: str, error: str) -> ValidationError:
        """A validation error about one field."""
        return cls([{"field": field, "error": error}])


class WrongCurrentPassword(ValidationError):
    """The current password confirming a change is wrong: a guess, counted as a failed attempt."""

    failed_attempt = True

    def __init__(self, field: str = "current_password") -> None:
        super().__init__([{"field": field, "error": N_("Current password is incorrect")}])


class AuthenticationRequired(AppError):
    status, code, default_message = 401, "AUTHENTICATION_REQUIRED", N_("Authentication required")


class InvalidToken(AppError):
    status, code, default_message = 401, "INVALID_TOKEN", N_("The token is invalid or expired")


class InvalidCredentials(AppError):
    status, code, default_message = 401, "INVALID_CREDENTIALS", N_("Invalid email or password")


class InvalidMfaCode(AppError):
    status, code, default_message = (
        401,
        "INVALID_MFA_CODE",
        N_("The two-factor code is wrong or was already used"),
    )


class MfaRequired(AppError):
    """A valid token of an account with two-factor authentication on that does not show a second
    factor (an Auth0 token without `amr: ["mfa"]`). RFC 9470's step-up challenge."""

    status, code, default_message = (
        401,
        "MFA_REQUIRED",
        N_(
            "This account has two-factor authentication on and the token does not show a second "
            "factor: sign in with multi-factor at Auth0, or with the password and a code here"
        ),
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message,
            headers={"WWW-Authenticate": 'Bearer error="insufficient_user_authentication"'},
        )


class Forbidden(AppError):
    status, code, default_message = 403, "FORBIDDEN", N_("You are not allowed to do this")


class PasskeyRefused(InvalidCredentials):
    """A passkey sign-in (or second step) that does not verify; `reason` says which check failed
    (it names no secret: challenge, unknown_passkey, owner, verification, sign_count)."""

    default_message = "The passkey was not accepted; start again, or sign in with your password"

    def __init__(
        self, reason: str, *, user_id: int | None = None, facts: dict[str, Any] | None = None
    ) -> None:
        super().__init__(details={"reason": reason})
        self.reason = reason
        self.user_id = user_id
        self.facts = facts or {}  # for the audit trail only


class RecentSignInRequired(Forbidden):
    """A change that needs a sign-in of the last few minutes (adding a passkey)."""

    default_message = "Sign in again first: this needs a recent sign-in"


class AccountDisabled(AppError):
    status, code, default_message = 403, "ACCOUNT_DISABLED", N_("This account is disabled")


class NotFound(AppError):
    status, code, default_message = 404, "NOT_FOUND", N_("The requested resource was not found")


class MethodNotAllowed(AppError):
    status, code, default_message = 405, "METHOD_NOT_ALLOWED", N_("Method not allowed")


class Conflict(AppError):
    status, code, default_message = 409, "CONFLICT", N_("The resource already exists")


class EmailTaken(Conflict):
    default_message = N_("Email already registered")


class PayloadTooLarge(AppError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", N_("The request body is too large")


class UnsupportedMediaType(AppError):
    status, code, default_message = (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        N_("Send the body as application/json"),
    )


class RateLimited(AppError):
    status, code, default_message = 429, "RATE_LIMITED", N_("Too many attempts, try again later")


class InternalError(AppError):
    pass


class ServiceUnavailable(AppError):
    status, code, default_message = (
        503,
        "SERVICE_UNAVAILABLE",
        N_("The service is temporarily unavailable"),
    )


class EmailDeliveryError(AppError):
    status, code, default_message = (
        503,
        "SERVICE_UNAVAILABLE",
        N_("Email could not be sent, try again later"),
    )


# Werkzeug's HTTP errors, by status, in the contract's terms.
HTTP_STATUS_ERRORS: dict[int, type[AppError]] = {
    error.status: error
    for error in (
        BadRequest,
        AuthenticationRequired,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        PayloadTooLarge,
        UnsupportedMediaType,
        RateLimited,
        InternalError,
        ServiceUnavailable,
    )
}


def wants_json() -> bool:
    """API paths, Bearer and JSON-body requests get JSON; elsewhere HTML when the client asks."""
    if request.path.startswith(JSON_PATH_PREFIXES) or request.path in ("/api", "/v1"):
        return True
    if "Authorization" in request.headers or request.is_json:
        return True
    # Browsers name text/html explicitly; a client sending */* or no Accept at all gets JSON.
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best != "text/html"


def register_path_errors(app: App, prefix: str, renderer: ErrorRenderer) -> None:
    """Let the API mounted at `prefix` (the old `/v1` contract) answer every error under it,
    routing 404s included, in its own shape."""
    app.extensions.setdefault(PATH_RENDERERS_KEY, {})[prefix] = renderer


def path_renderer() -> ErrorRenderer | None:
    """The renderer of the API whose URL space holds this request, if one registered."""
    renderers: dict[str, ErrorRenderer] = current_app.extensions.get(PATH_RENDERERS_KEY, {})
    for prefix, renderer in renderers.items():
        if request.path == prefix or request.path.startswith(f"{prefix}/"):
            return renderer
    return None


def error_response(error: AppError) -> ResponseReturnValue:
    """Render an `AppError` as the JSON envelope or as an HTML error page; a browser that is
    not signed in goes to the sign-in page instead, and comes back afterwards. An API with its
    own error shape (`register_path_errors`) renders the errors of its paths."""
    if (renderer := path_renderer()) is not None:
        return renderer(error)
    if isinstance(error, AuthenticationRequired) and not wants_json():
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.login_page", next=back), 303)
    if wants_json():
        response: Response = jsonify(error_body(error.code, error.message, error.details))
    else:
        html = render_template("errors/error.html", error=error)
        response = Response(html, mimetype="text/html")
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def from_http_exception(exc: HTTPException) -> AppError:
    """Translate a Werkzeug HTTP error; keep its safe description for 4xx."""
    status = exc.code or 500
    error_class = HTTP_STATUS_ERRORS.get(status, InternalError if status >= 500 else BadRequest)
    error = error_class()
    headers = dict(exc.get_headers())
    headers.pop("Content-Type", None)
    if status == 405 and "Allow" in headers:
        error.headers["Allow"] = headers["Allow"]
    if "Retry-After" in headers:
        error.headers["Retry-After"] = headers["Retry-After"]
    return error


def register_errorhandlers(app: Flask) -> None:
    """Route every failure through `error_response`."""

    @app.errorhandler(AppError)
    def handle_app_error(error: AppError) -> ResponseReturnValue:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc: HTTPException) -> ResponseReturnValue:
        return error_response(from_http_exception(exc))

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> ResponseReturnValue:
        if isinstance(exc, OperationalError | PoolTimeoutError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            logger.error("database unavailable: %s", type(exc).__name__, exc_info=exc)
            return error_response(ServiceUnavailable())
        if isinstance(exc, RedisError):
            # Only reached when the rate limiter is configured to fail closed.
            logger.error("redis unavailable: %s", type(exc).__name__)
            return error_response(ServiceUnavailable())
        logger.error("unhandled exception", exc_info=exc)
        return error_response(InternalError())
