"""A small OpenID Connect provider on 127.0.0.1 that stands in for an Auth0 tenant in tests.

It serves what the app uses, over real HTTP: the discovery document, the JWKS, the authorize
endpoint (redirects back at once with a code and the state, as if the user had signed in), the
token endpoint (checks the client, the redirect URI and the PKCE `code_verifier`; answers an
RS256 ID token and access token) and `/v2/logout`. Its RSA keys are real (`cryptography`); keys
can be rotated, and the JWKS can be made slow or failing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
AUDIENCE = "https://api.test.local/"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(
            uuid.uuid4().hex[:16], rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    nonce: str | None
    user: dict[str, Any]


@dataclass
class Provider:
    """The provider's state; its handler threads read it, tests change it."""

    base_url: str = ""
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    # The account the authorize endpoint "signs in" next.
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "auth0|browser-user",
            "email": "browser@example.com",
            "email_verified": True,
            "name": "Browser User",
        }
    )
    codes: dict[str, PendingCode] = field(default_factory=dict)
    jwks_requests: int = 0
    jwks_delay: float = 0.0
    jwks_status: int = 200
    # A body served instead of the keys (a broken or misconfigured endpoint).
    jwks_body: bytes | None = None
    # What the next ID tokens get on top of the signed-in account (`amr`, or a bad `nonce`,
    # `aud`, `iss`, `exp`), and the key that signs them when not the published one.
    id_token_claims: dict[str, Any] = field(default_factory=dict)
    id_token_key: SigningKey | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/"

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def rotate(self) -> SigningKey:
        """A new signing key, published first; the old one stays published."""
        self.keys.insert(0, SigningKey.generate())
        return self.key

    def sign(
        self,
        claims: dict[str, Any] | None = None,
        *,
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """An RS256 token with sensible access-token claims, overridden as asked."""
        key = key or self.key
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "auth0|api-user",
            "aud": [AUDIENCE, f"{self.issuer}userinfo"],
            "iat": now,
            "exp": now + 600,
            "scope": "openid profile email",
            "jti": uuid.uuid4().hex,
        }
        payload.update(claims or {})
        payload.update(overrides)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, key.private, algorithm="RS256", headers={"kid": key.kid, **(headers or {})}
        )

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}authorize",
            "token_endpoint": f"{self.issuer}oauth/token",
            "jwks_uri": f"{self.issuer}.well-known/jwks.json",
            "userinfo_endpoint": f"{self.issuer}userinfo",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            """Quiet."""

        def _json(self, status: int, body: Any) -> None:
            self._raw(status, json.dumps(body).encode())

        def _raw(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/.well-known/jwks.json":
                provider.jwks_requests += 1
                if provider.jwks_delay:
                    time.sleep(provider.jwks_delay)
                if provider.jwks_status != 200:
                    self._json(provider.jwks_status, {"error": "unavailable"})
                elif provider.jwks_body is not None:
                    self._raw(200, provider.jwks_body)
                else:
                    self._json(200, {"keys": [key.jwk() for key in provider.keys]})
            elif parts.path == "/authorize":
                self._authorize(query)
            elif parts.path == "/v2/logout":
                self._redirect(query.get("returnTo", "/"))
            else:
                self._json(404, {"error": "not_found"})

        def _authorize(self, query: dict[str, str]) -> None:
            provider.authorize_requests.append(query)
            if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                self._json(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            provider.codes[code] = PendingCode(
                client_id=query["client_id"],
                redirect_uri=query.get("redirect_uri", ""),
                challenge=query.get("code_challenge"),
                method=query.get("code_challenge_method"),
                nonce=query.get("nonce"),
                user=dict(provider.user),
            )
            back = {"code": code, "state": query.get("state", "")}
            self._redirect(f"{query.get('redirect_uri', '')}?{urlencode(back)}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                name: values[0]
                for name, values in parse_qs(self.rfile.read(length).decode()).items()
            }
            if urlsplit(self.path).path != "/oauth/token":
                self._json(404, {"error": "not_found"})
                return
            provider.token_requests.append(form)
            client_id, client_secret = self._client(form)
            pending = provider.codes.pop(form.get("code", ""), None)
            if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
                self._json(401, {"error": "invalid_client"})
                return
            if (
                pending is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != pending.redirect_uri
                or not _pkce_ok(pending, form.get("code_verifier"))
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            id_claims = {
                **pending.user,
                "aud": CLIENT_ID,
                "nonce": pending.nonce,
                **provider.id_token_claims,
            }
            self._json(
                200,
                {
                    "access_token": provider.sign(sub=pending.user["sub"]),
                    "id_token": provider.sign(
                        id_claims, key=provider.id_token_key, scope=None, jti=None
                    ),
                    "token_type": "Bearer",
                    "expires_in": 600,
                },
            )

        def _client(self, form: dict[str, str]) -> tuple[str | None, str | None]:
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                decoded = base64.b64decode(header[6:]).decode()
                client_id, _, secret = decoded.partition(":")
                return client_id, secret
            return form.get("client_id"), form.get("client_secret")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the app's fetch timeout) is expected here: stay quiet."""


def _pkce_ok(pending: PendingCode, verifier: str | None) -> bool:
    if pending.challenge is None or pending.method != "S256" or not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == pending.challenge


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider listening on 127.0.0.1 (a free port) until the block ends."""
    provider = Provider()
    server = _Server(("127.0.0.1", 0), _handler(provider))
    provider.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
