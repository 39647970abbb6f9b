"""`GET /api/v1/users/<id>` answered in the request middleware, below Flask, when the request is
its common case: a valid Bearer token of this backend, a caller who may see the user, a user who
is there (decision 0144).

Issue 18 measured the hot read against a bare Flask app serving the same row: Flask's own
request context, routing, hooks and response object cost a get-by-id more than its token check,
its statement and its JSON together. Here the read runs the same functions the view runs
(`own_access_claims`, `read_for_caller`, `may_act_for`, `user_data`, `success_bytes`) in an
application context, and `RequestEnvelope` adds the same headers, metrics and access line it adds
to every answer, so the answer is the one Flask would send (`tests/integration/
test_shortcuts.py` holds every header and byte of the two equal).

Whatever is not that common case goes to Flask untouched: another method, any path the rule would
not match as it stands, a body, an `Origin` (CORS), an untrusted host, plain HTTP where HTTPS is
forced, no token or a bad, revoked or Auth0 one, a caller who may not look, a user who is not
there, and any error. Flask then answers it from the start (the 401, 403 and 404 in the
envelope, the error handlers). Nothing the shortcut did before handing over is seen: it writes
only once it answers (the session's `last_used_at` stamp, the caller's id for the access line).

The shortcut is off when tracing is on (a request's span is opened by Flask's instrumentation)
and when the URL map matches hosts.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from blueprints.api_users import user_data
from blueprints.security import parse_bearer
from envelope import success_bytes
from errors import AppError
from models.base import MAX_ID
from observability.logs import USER_ID_KEY
from observability.request_context import RequestEnvelope
from services import policy, session_activity, user_service
from services.auth import authentication

ENDPOINT = "api.get_user"
SECURE_SCHEME = "https"


class GetUserShortcut:
    """`GET /api/v1/users/<id>` for a caller who may see that user (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == ENDPOINT)
        self.route = rule.rule
        self.prefix = rule.rule.partition("<")[0]
        self.config = app.config  # read on each request, as Flask's own hooks read it

    def answer(self, environ: dict[str, Any]) -> bytes | None:
        """The body of the 200 Flask would answer to `environ`; None when Flask is to answer."""
        path: str = environ.get("PATH_INFO", "")
        if not path.startswith(self.prefix) or environ.get("REQUEST_METHOD") != "GET":
            return None
        user_id = self.user_id(path[len(self.prefix) :])
        header = environ.get("HTTP_AUTHORIZATION")
        token = None if header is None else parse_bearer(header)
        if user_id is None or token is None or not self.plain(environ):
            return None
        try:
            with self.app.app_context():
                return self.read(environ, token, user_id)
        except Exception:  # Flask answers it again, through its error handlers
            return None

    @staticmethod
    def user_id(digits: str) -> int | None:
        """The id the route's `<id:…>` converter reads from `digits`, where it reads one."""
        if not (digits.isascii() and digits.isdigit()):
            return None
        number = int(digits)
        return number if number <= MAX_ID else None

    def plain(self, environ: dict[str, Any]) -> bool:
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

    def read(self, environ: dict[str, Any], token: str, user_id: int) -> bytes | None:
        """The view's read (`api_users.get_user`), or None where it would not answer 200."""
        try:
            claims = authentication.own_access_claims(token)
            if claims is None:  # the Auth0 tenant's token
                return None
            principal, row = user_service.read_for_caller(caller=claims, user_id=user_id)
        except AppError:
            return None
        if row is None or not policy.may_act_for(principal, user_id):
            return None
        environ[USER_ID_KEY] = principal.id
        session_activity.note_use(principal.session_id)
        return success_bytes(user_data(row))


def register_shortcuts(app: Flask, *, traced: bool) -> None:
    """Let the request middleware answer get-by-id's common case itself (not when `traced`)."""
    envelope = app.extensions["request_envelope"]
    if traced or app.url_map.host_matching or not isinstance(envelope, RequestEnvelope):
        return
    envelope.shortcut = GetUserShortcut(app)
