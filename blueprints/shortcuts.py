"""The user reads (`GET /api/v1/users/<id>` and the list `GET /api/v1/users`) answered in the
request middleware, below Flask, when a request is their common case: a valid Bearer token, a
caller who may see the answer, nothing unusual about the request (decision 0144).

Issue 18 measured the hot read against a bare Flask app serving the same row: Flask's own
request context, routing, hooks and response object cost a get-by-id more than its token check,
its statement and its JSON together. Here a read runs the same functions its view runs (the
token check, the statement, the policy, `users_data`, `success_bytes`) in an application context,
and `RequestEnvelope` adds the same headers, metrics and access line it adds to every answer, so
the answer is the one Flask would send (`tests/integration/test_shortcuts.py` holds every header
and byte of the two equal).

Whatever is not the common case goes to Flask untouched: another method, a path the rule would
not match as it stands, a query string that is not plain `name=value` pairs, a body, an `Origin`
(CORS), an untrusted host, plain HTTP where HTTPS is forced, a rate limit on the route, no token
or a bad, revoked or Auth0 one, a caller who may not look, a user who is not there, a query the
list refuses, and any error. Flask then answers it from the start (the 400, 401, 403 and 404 in
the envelope, the error handlers). Nothing a shortcut did before handing over is seen: it writes
only once it answers (the session's `last_used_at` stamp, the caller's id for the access line).

The shortcuts are off when tracing is on (a request's span is opened by Flask's instrumentation)
and when the URL map matches hosts.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from blueprints.api_users import user_data, users_data
from blueprints.endpoint import validate_model
from blueprints.rate_limits import LIMITED_ENDPOINTS, LimitedEndpoints
from blueprints.security import parse_bearer
from envelope import success_bytes
from errors import AppError
from models.base import MAX_ID
from observability.logs import USER_ID_KEY
from observability.request_context import RequestEnvelope
from schemas.user import UserListQuery
from services import session_activity, user_service
from services.auth import authentication
from services.auth.authentication import Principal

Environ = dict[str, Any]
SECURE_SCHEME = "https"
# Query strings read here: `name=value` pairs of plain characters, as the list's own links and
# clients write them; anything encoded or unusual is Flask's to decode.
PLAIN_QUERY_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-=&"
)


class Shortcut:
    """A GET route of `endpoint` answered here in its common case (see the module docstring)."""

    endpoint = ""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = app.config  # read on each request, as Flask's own hooks read it
        rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == self.endpoint)
        self.route = rule.rule
        # A rate limit on the route (one for every route, `RATELIMIT_DEFAULT`, included) is
        # Flask's to apply: the route is then never answered here.
        self.limited: LimitedEndpoints | None = app.extensions.get(LIMITED_ENDPOINTS)

    def answer(self, environ: Environ, path: str) -> bytes | None:
        """The body of the 200 Flask would answer to `environ` (for `path`, which this route's
        rule matches); None when Flask is to answer."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        header = environ.get("HTTP_AUTHORIZATION")
        token = None if header is None else parse_bearer(header)
        if token is None or not self.plain(environ):
            return None
        try:
            with self.app.app_context():
                if self.limited is not None and self.limited.of(self.endpoint):
                    return None  # Flask-Limiter's hooks count and refuse it
                return self.read(environ, path, token)
        except Exception:  # Flask answers it again, through its error handlers
            return None

    def plain(self, environ: Environ) -> bool:
        """No body, no `Origin`, a trusted host, and HTTPS where it is forced."""
        if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return False
        if "HTTP_TRANSFER_ENCODING" in environ or "HTTP_ORIGIN" in environ:
            return False
        if self.config["FORCE_HTTPS"] and environ.get("wsgi.url_scheme") != SECURE_SCHEME:
            return False
        try:
            get_host(environ, self.config["TRUSTED_HOSTS"])
        except SecurityError:
            return False
        return True

    def read(self, environ: Environ, path: str, token: str) -> bytes | None:
        """The view's work for the caller of `token`, or None where it would not answer 200."""
        raise NotImplementedError

    @staticmethod
    def answered(environ: Environ, principal: Principal, data: object) -> bytes:
        """The success body of `data`, once the caller is known to be answered."""
        environ[USER_ID_KEY] = principal.id
        session_activity.note_use(principal.session_id)
        return success_bytes(data)


class GetUser(Shortcut):
    """`api_users.get_user`: yourself, or anyone for administrators."""

    endpoint = "api.get_user"

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.prefix = self.route.partition("<")[0]

    def read(self, environ: Environ, path: str, token: str) -> bytes | None:
        """The read of the user the path names, with the token's revocation in its statement."""
        user_id = self.user_id(path[len(self.prefix) :])
        if user_id is None:
            return None
        try:
            claims = authentication.own_access_claims(token)
            if claims is None:  # the Auth0 tenant's token
                return None
            principal, found = user_service.read_for_caller(caller=claims, user_id=user_id)
            row = user_service.seen_by(principal, user_id, found)  # the view's 403 and 404
        except AppError:
            return None
        return self.answered(environ, principal, user_data(row))

    @staticmethod
    def user_id(digits: str) -> int | None:
        """The id the route's `<id:…>` converter reads from `digits`, where it reads one."""
        if not (digits.isascii() and digits.isdigit()):
            return None
        number = int(digits)
        return number if number <= MAX_ID else None


class ListUsers(Shortcut):
    """`api_users.list_users`: a page of users, for administrators."""

    endpoint = "api.list_users"

    def read(self, environ: Environ, path: str, token: str) -> bytes | None:
        """The page the query asks for, when the query is plain and valid."""
        arguments = plain_query(environ.get("QUERY_STRING", ""))
        if arguments is None:
            return None
        try:
            claims = authentication.own_access_claims(token)
            if claims is None:  # the Auth0 tenant's token
                return None
            query = cast(UserListQuery, validate_model(UserListQuery, arguments))
            # The token's revocation comes with the page's count lookup (decision 0151).
            principal, page = user_service.list_for_caller(caller=claims, query=query)
        except AppError:
            return None
        data = {"items": users_data(page.items), "pagination": page.pagination}
        return self.answered(environ, principal, data)


def plain_query(query_string: str) -> dict[str, str] | None:
    """The parameters of a query string of plain `name=value` pairs, each given once; None for
    any other (percent-encoded, `+`, repeated, empty or unnamed parts: Flask decodes those)."""
    if not query_string:
        return {}
    if not PLAIN_QUERY_CHARACTERS.issuperset(query_string):
        return None
    arguments: dict[str, str] = {}
    for part in query_string.split("&"):
        name, equals, value = part.partition("=")
        if not name or not equals or name in arguments:
            return None
        arguments[name] = value
    return arguments


class UserReads:
    """The shortcuts `RequestEnvelope` asks first, by path."""

    def __init__(self, app: Flask) -> None:
        self.by_id = GetUser(app)
        self.listing = ListUsers(app)

    def answer(self, environ: Environ) -> tuple[str, bytes] | None:
        """(route, body) of the 200 Flask would answer; None when Flask is to answer."""
        path: str = environ.get("PATH_INFO", "")
        if path == self.listing.route:
            shortcut: Shortcut = self.listing
        elif path.startswith(self.by_id.prefix):
            shortcut = self.by_id
        else:
            return None
        body = shortcut.answer(environ, path)
        return None if body is None else (shortcut.route, body)


def register_shortcuts(app: Flask, *, traced: bool) -> None:
    """Let the request middleware answer the user reads' common case (not when `traced`)."""
    envelope = app.extensions["request_envelope"]
    if traced or app.url_map.host_matching or not isinstance(envelope, RequestEnvelope):
        return
    envelope.shortcut = UserReads(app)
