"""Configuration: one class per environment, every setting read from the environment once, typed.

`load_config()` picks the class from `FLASK_CONFIG` or `FLASK_ENV` (refusing the two when they
disagree) and builds it from `os.environ`, after loading a `.env` file from the working directory
when there is one (variables already in the process environment keep their value).
Staging and production refuse placeholder secrets: `validate()` lists every problem at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from dotenv import load_dotenv

PLACEHOLDER_MARKERS = ("your-", "change-me", "changeme", "example", "secret-key-here", "dev-")
MIN_SECRET_LENGTH = 32
# OWASP's Password Storage Cheat Sheet minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
ARGON2_MIN_SAFE_MEMORY_COST = 19 * 1024
ARGON2_MIN_SAFE_TIME_COST = 2
DEVELOPMENT_SECRET = "dev-insecure-secret-key-change-me-0000000000"  # noqa: S105 - refused in prod
MAIL_BACKENDS = ("smtp", "console", "none")
MAIL_QUEUES = ("redis", "thread", "sync")
# The engine (Flask-SQLAlchemy bind) of single-statement reads, when the database has one.
READS_BIND = "reads"
# A valid Fernet key anyone can read: development and testing only, refused elsewhere.
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0wMDAwMDAwMDA="
# The variables that choose the configuration class; FLASK_ENV is the seed's name.
SELECTORS = ("FLASK_CONFIG", "FLASK_ENV")
# Always trusted Host names: the container health checks call http://127.0.0.1:$PORT.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class ConfigError(Exception):
    """The selected configuration is unsafe or incomplete."""

    def __init__(self, config_name: str, problems: list[str], *, headline: str = "") -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        headline = headline or f"the '{config_name}' configuration is unsafe or incomplete"
        super().__init__(f"{headline}:\n{listing}")


class Env:
    """Typed reads from an environment mapping; a malformed value is recorded, not fatal."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: list[str] = []

    def optional(self, name: str, default: str | None = None) -> str | None:
        value = self.environ.get(name, "").strip()
        return value if value else default

    def text(self, name: str, default: str) -> str:
        value = self.optional(name)
        return default if value is None else value

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"{name} must be an integer (got {raw!r})")
            return default
        if value < minimum:
            self.errors.append(f"{name} must be at least {minimum} (got {value})")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.optional(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        self.errors.append(f"{name} must be true or false (got {raw!r})")
        return default

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            self.errors.append(f"{name} must be one of {', '.join(choices)} (got {value!r})")
            return default
        return value

    def base_url(self, name: str, default: str | None) -> str | None:
        """An absolute http(s) URL without query or fragment, trailing slash removed."""
        value = self.optional(name)
        if value is None:
            return default
        parts = urlsplit(value)
        absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
        if not absolute or parts.query or parts.fragment:
            self.errors.append(
                f"{name} must be an absolute http(s) URL without query or fragment (got {value!r})"
            )
            return default
        return value.rstrip("/")


def normalize_database_url(url: str) -> str:
    """Route `postgres://` and `postgresql://` URLs to the psycopg 3 driver; others unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_placeholder_secret(value: str | None) -> bool:
    """True when a secret is missing, short, or one of the documented example values."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return True
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class Config:
    """Settings shared by every environment."""

    NAME: ClassVar[str] = "base"
    DEBUG: ClassVar[bool] = False
    TESTING: ClassVar[bool] = False
    # Staging and production refuse to start on any problem `validate()` finds.
    ENFORCE_SAFE_SETTINGS: ClassVar[bool] = True
    REQUIRE_DATABASE_URL: ClassVar[bool] = True
    DEFAULT_SESSION_COOKIE_SECURE: ClassVar[bool] = True
    DEFAULT_LOG_LEVEL: ClassVar[str] = "INFO"
    DEFAULT_LOG_FORMAT: ClassVar[str] = "json"
    DEFAULT_DATABASE_URL: ClassVar[str] = "sqlite:///flask_app.db"
    # argon2id cost: RFC 9106's second recommended ("low memory") profile, argon2-cffi's default.
    DEFAULT_ARGON2_TIME_COST: ClassVar[int] = 3
    DEFAULT_ARGON2_MEMORY_COST: ClassVar[int] = 64 * 1024  # KiB
    DEFAULT_ARGON2_PARALLELISM: ClassVar[int] = 4
    # Without MAIL_SERVER: staging and production must say how mail leaves (validate() insists).
    DEFAULT_MAIL_BACKEND: ClassVar[str] = "smtp"
    DEFAULT_PUBLIC_BASE_URL: ClassVar[str | None] = None
    # None: `redis` when REDIS_URL is set, else `thread` (services/mail_queue.py).
    DEFAULT_MAIL_QUEUE: ClassVar[str | None] = None
    # Answer only requests whose Host names this service (Flask's TRUSTED_HOSTS).
    CHECK_TRUSTED_HOSTS: ClassVar[bool] = True

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = Env(os.environ if environ is None else environ)
        self._env_errors = env.errors
        self.ENV_NAME = self.NAME
        self.APP_NAME = env.text("APP_NAME", "flask-backend-app")
        self.APP_VERSION = env.text("APP_VERSION", "1.0.0")

        self.SECRET_KEY = env.optional("SECRET_KEY", self._default_secret())
        self.JWT_SECRET_KEY = env.optional("JWT_SECRET_KEY", self._default_secret())

        self.DATABASE_URL = env.optional("DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(
            self.DATABASE_URL or self.DEFAULT_DATABASE_URL
        )
        self.SQLALCHEMY_ECHO = env.boolean("SQLALCHEMY_ECHO", False)
        self.SQLALCHEMY_POOL_SIZE = env.integer("SQLALCHEMY_POOL_SIZE", 20, minimum=1)
        self.SQLALCHEMY_MAX_OVERFLOW = env.integer("SQLALCHEMY_MAX_OVERFLOW", 30)
        self.SQLALCHEMY_POOL_TIMEOUT = env.integer("SQLALCHEMY_POOL_TIMEOUT", 30, minimum=1)
        self.SQLALCHEMY_POOL_RECYCLE = env.integer("SQLALCHEMY_POOL_RECYCLE", 3600, minimum=1)
        self.SQLALCHEMY_POOL_PRE_PING = env.boolean("SQLALCHEMY_POOL_PRE_PING", True)
        self._read_operations_settings(env)
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options()
        self.SQLALCHEMY_BINDS = self._binds()

        self._read_auth0_settings(env)

        self.LOG_LEVEL = env.choice(
            "LOG_LEVEL", self.DEFAULT_LOG_LEVEL, ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        )
        self.SESSION_LIFETIME_MINUTES = env.integer("SESSION_LIFETIME_MINUTES", 30, minimum=1)
        self.PERMANENT_SESSION_LIFETIME = timedelta(minutes=self.SESSION_LIFETIME_MINUTES)
        self.SESSION_COOKIE_SECURE = env.boolean(
            "SESSION_COOKIE_SECURE", self.DEFAULT_SESSION_COOKIE_SECURE
        )
        self.SESSION_COOKIE_HTTPONLY = env.boolean("SESSION_COOKIE_HTTPONLY", True)
        self.SESSION_COOKIE_SAMESITE = env.choice(
            "SESSION_COOKIE_SAMESITE", "Lax", ("Lax", "Strict", "None")
        )
        self.FORCE_HTTPS = env.boolean("FORCE_HTTPS", False)
        self.HSTS_MAX_AGE = env.integer("HSTS_MAX_AGE", 365 * 24 * 3600)
        # Trusted X-Forwarded-* hops (werkzeug ProxyFix); 0 trusts none. Set them to the number of
        # proxies in front of the app, never more: a client could forge the extra headers.
        self.PROXY_FIX_X_FOR = env.integer("PROXY_FIX_X_FOR", 0)
        self.PROXY_FIX_X_PROTO = env.integer("PROXY_FIX_X_PROTO", 0)
        self.PROXY_FIX_X_HOST = env.integer("PROXY_FIX_X_HOST", 0)
        self.PROXY_FIX_X_PORT = env.integer("PROXY_FIX_X_PORT", 0)
        self.PROXY_FIX_X_PREFIX = env.integer("PROXY_FIX_X_PREFIX", 0)
        # CSRF (Flask-WTF): checked by blueprints/security.py's own policy, not on every POST;
        # a token lives as long as the session that holds it.
        self.WTF_CSRF_CHECK_DEFAULT = False
        self.WTF_CSRF_TIME_LIMIT: int | None = None
        self.MAX_CONTENT_LENGTH = env.integer("MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1)

        self.REDIS_URL = env.optional("REDIS_URL")
        self.CACHE_TYPE = env.text("CACHE_TYPE", "redis" if self.REDIS_URL else "simple")
        self.CACHE_DEFAULT_TIMEOUT = env.integer("CACHE_DEFAULT_TIMEOUT", 300)
        # Keys of services/cache_service.py: give each app sharing a Redis database its own.
        self.CACHE_KEY_PREFIX = env.text("CACHE_KEY_PREFIX", f"{self.APP_NAME}:")

        self.AWS_REGION = env.optional("AWS_REGION")
        self.AWS_S3_BUCKET = env.optional("AWS_S3_BUCKET")
        self.SENTRY_DSN = env.optional("SENTRY_DSN")
        self.CLOUDWATCH_LOG_GROUP = env.optional("CLOUDWATCH_LOG_GROUP")
        # Comma-separated Fernet keys, newest first (models/encrypted.py, `flask keys`).
        self.FIELD_ENCRYPTION_KEY = env.optional(
            "FIELD_ENCRYPTION_KEY", self._default_field_encryption_key()
        )
        self.MFA_TOKEN_SECONDS = env.integer("MFA_TOKEN_SECONDS", 300, minimum=30)
        self.MFA_ISSUER = env.text("MFA_ISSUER", self.APP_NAME)

        self.ARGON2_TIME_COST = env.integer(
            "ARGON2_TIME_COST", self.DEFAULT_ARGON2_TIME_COST, minimum=1
        )
        self.ARGON2_MEMORY_COST = env.integer(
            "ARGON2_MEMORY_COST", self.DEFAULT_ARGON2_MEMORY_COST, minimum=8
        )
        self.ARGON2_PARALLELISM = env.integer(
            "ARGON2_PARALLELISM", self.DEFAULT_ARGON2_PARALLELISM, minimum=1
        )
        # Hashes computed at once per worker process; more than the cores only thrash them.
        self.PASSWORD_HASH_CONCURRENCY = env.integer("PASSWORD_HASH_CONCURRENCY", 2, minimum=1)
        if self.ARGON2_MEMORY_COST < 8 * self.ARGON2_PARALLELISM:
            # libargon2 refuses this combination: every hash would fail.
            env.errors.append(
                "ARGON2_MEMORY_COST must be at least 8 KiB per lane (8 * ARGON2_PARALLELISM)"
            )

        self.JWT_ACCESS_TOKEN_EXPIRES = env.integer("JWT_ACCESS_TOKEN_EXPIRES", 900, minimum=1)
        self.JWT_REFRESH_TOKEN_EXPIRES = env.integer(
            "JWT_REFRESH_TOKEN_EXPIRES", 7 * 24 * 3600, minimum=1
        )
        self.JWT_ISSUER = env.text("JWT_ISSUER", self.APP_NAME)
        self.JWT_AUDIENCE = env.text("JWT_AUDIENCE", f"{self.APP_NAME}-api")
        self.EMAIL_VERIFICATION_TOKEN_HOURS = env.integer(
            "EMAIL_VERIFICATION_TOKEN_HOURS", 48, minimum=1
        )
        self.PASSWORD_RESET_TOKEN_MINUTES = env.integer(
            "PASSWORD_RESET_TOKEN_MINUTES", 60, minimum=1
        )

        self.RATELIMIT_ENABLED = env.boolean("RATELIMIT_ENABLED", True)
        # When the limiter's Redis is down: fail open (count in process memory meanwhile) or
        # closed (answer 503 until Redis is back).
        self.RATELIMIT_FAIL_OPEN = env.boolean("RATELIMIT_FAIL_OPEN", True)
        self.RATELIMIT_SWALLOW_ERRORS = self.RATELIMIT_FAIL_OPEN
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = self.RATELIMIT_FAIL_OPEN
        chosen_storage = env.optional("RATELIMIT_STORAGE_URI")
        self.RATELIMIT_STORAGE_URI = chosen_storage or self.REDIS_URL or "memory://"
        # Counters in each process's memory only when chosen (RATELIMIT_STORAGE_URI=memory://).
        self._per_process_limits_chosen = chosen_storage is not None
        self.RATELIMIT_KEY_PREFIX = env.text("RATELIMIT_KEY_PREFIX", f"{self.APP_NAME}:rl")
        # A moving window: a fixed window resets on the minute and lets twice the limit through
        # around each boundary.
        self.RATELIMIT_STRATEGY = env.choice(
            "RATELIMIT_STRATEGY",
            "moving-window",
            ("moving-window", "fixed-window", "sliding-window-counter"),
        )
        self.RATELIMIT_LOGIN_PER_ADDRESS = env.text("RATELIMIT_LOGIN_PER_ADDRESS", "20/minute")
        self.RATELIMIT_LOGIN_PER_ACCOUNT = env.text(
            "RATELIMIT_LOGIN_PER_ACCOUNT", "5/minute;20/hour"
        )
        self.RATELIMIT_REFRESH = env.text("RATELIMIT_REFRESH", "60/minute")
        self.RATELIMIT_FORGOT_PASSWORD = env.text("RATELIMIT_FORGOT_PASSWORD", "5/minute;20/hour")
        self.RATELIMIT_REGISTER = env.text("RATELIMIT_REGISTER", "10/minute;50/hour")
        self._read_legacy_api_settings(env)
        # Wrong two-factor codes, per account (and the login per-address limit, per address).
        self.RATELIMIT_MFA = env.text("RATELIMIT_MFA", "5/minute;20/hour")

        self.FLASK_HOST = env.text("FLASK_HOST", "127.0.0.1")
        self.FLASK_PORT = env.integer("FLASK_PORT", 5000, minimum=1)

        self._read_mail_settings(env)

    def _read_legacy_api_settings(self, env: Env) -> None:
        """The old Node.js service's `/v1` contract (blueprints/v1_compat, docs/migration.md)."""
        self.LEGACY_API_ENABLED = env.boolean("LEGACY_API_ENABLED", True)
        # The old service's JWT_SECRET: its access tokens stay valid on /v1 until they expire;
        # imported refresh tokens must verify with it.
        self.LEGACY_JWT_SECRET = env.optional("LEGACY_JWT_SECRET")
        # true: /v1 applies the /api/v1 password policy instead of the old rule.
        self.LEGACY_STRICT_PASSWORD_POLICY = env.boolean("LEGACY_STRICT_PASSWORD_POLICY", False)

    def _read_mail_settings(self, env: Env) -> None:
        """Outgoing mail (services/email_service.py) and the base URL of the links it carries."""
        self.MAIL_SERVER = env.optional("MAIL_SERVER")
        self.MAIL_PORT = env.integer("MAIL_PORT", 587, minimum=1)
        self.MAIL_USE_TLS = env.boolean("MAIL_USE_TLS", True)
        self.MAIL_USE_SSL = env.boolean("MAIL_USE_SSL", False)
        if self.MAIL_USE_TLS and self.MAIL_USE_SSL:
            env.errors.append(
                "MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (TLS from the start) exclude each other"
            )
        self.MAIL_USERNAME = env.optional("MAIL_USERNAME")
        self.MAIL_PASSWORD = env.optional("MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = env.text(
            "MAIL_DEFAULT_SENDER", "Flask Backend <no-reply@localhost>"
        )
        self.MAIL_TIMEOUT = env.integer("MAIL_TIMEOUT", 10, minimum=1)
        default_backend = "smtp" if self.MAIL_SERVER else self.DEFAULT_MAIL_BACKEND
        self.MAIL_BACKEND = env.choice("MAIL_BACKEND", default_backend, MAIL_BACKENDS)
        self.PUBLIC_BASE_URL = env.base_url("PUBLIC_BASE_URL", self.DEFAULT_PUBLIC_BASE_URL)
        # Where mail is sent from: never inside the request, whose duration would tell which
        # emails have accounts (docs/decisions/0075-mail-queue-rq.md).
        default_queue = self.DEFAULT_MAIL_QUEUE or ("redis" if self.REDIS_URL else "thread")
        self.MAIL_QUEUE = env.choice("MAIL_QUEUE", default_queue, MAIL_QUEUES)
        if self.MAIL_QUEUE == "redis" and not self.REDIS_URL:
            env.errors.append("MAIL_QUEUE=redis needs REDIS_URL")
        self.MAIL_QUEUE_RETRIES = env.integer("MAIL_QUEUE_RETRIES", 5, minimum=0)
        # The first retry waits this long, each further one twice as long as the one before.
        self.MAIL_QUEUE_RETRY_SECONDS = env.integer("MAIL_QUEUE_RETRY_SECONDS", 30, minimum=0)
        self.TRUSTED_HOSTS = self._trusted_hosts(env)

    def _trusted_hosts(self, env: Env) -> list[str] | None:
        """Host names a request may carry: PUBLIC_BASE_URL's, the loopback names of container
        health checks, and the `TRUSTED_HOSTS` list (a leading dot admits subdomains). None, any
        host, in development and testing unless `TRUSTED_HOSTS` is set."""
        extra = [name.strip() for name in env.text("TRUSTED_HOSTS", "").split(",") if name.strip()]
        if bad := [name for name in extra if not HOST_NAME.fullmatch(name)]:
            env.errors.append(f"TRUSTED_HOSTS must list host names without port (got {bad})")
        if not (self.CHECK_TRUSTED_HOSTS or extra):
            return None
        public = urlsplit(self.PUBLIC_BASE_URL).hostname if self.PUBLIC_BASE_URL else None
        return [*([public] if public else []), *LOOPBACK_HOSTS, *extra]

    def _read_auth0_settings(self, env: Env) -> None:
        """Auth0 (docs/decisions/0050-auth0.md): RS256 API tokens and "Sign in with Auth0"."""
        self.AUTH0_DOMAIN = env.optional("AUTH0_DOMAIN")
        self.CLIENT_ID = env.optional("CLIENT_ID")
        self.CLIENT_SECRET = env.optional("CLIENT_SECRET")
        # The API identifier access tokens must name in `aud` (API tokens are off without it).
        self.AUTH0_AUDIENCE = env.optional("AUTH0_AUDIENCE")
        # Create a local `user` on first sight of an unknown subject with a verified email.
        self.AUTH0_AUTO_PROVISION = env.boolean("AUTH0_AUTO_PROVISION", False)
        default_issuer = f"https://{self.AUTH0_DOMAIN}" if self.AUTH0_DOMAIN else None
        issuer = env.base_url("AUTH0_ISSUER_BASE_URL", default_issuer)
        # Auth0 writes its issuer with a trailing slash; tokens must match it exactly.
        self.AUTH0_ISSUER_BASE_URL = f"{issuer}/" if issuer else None
        self.AUTH0_JWKS_TIMEOUT_SECONDS = env.integer("AUTH0_JWKS_TIMEOUT_SECONDS", 3, minimum=1)
        self.AUTH0_JWKS_CACHE_SECONDS = env.integer("AUTH0_JWKS_CACHE_SECONDS", 600, minimum=1)
        self.AUTH0_JWKS_MIN_REFRESH_SECONDS = env.integer(
            "AUTH0_JWKS_MIN_REFRESH_SECONDS", 30, minimum=0
        )
        self.AUTH0_LEEWAY_SECONDS = env.integer("AUTH0_LEEWAY_SECONDS", 30)

    def auth0_problems(self) -> list[str]:
        """A half-configured Auth0: settings that cannot work without the others."""
        problems: list[str] = []
        client = (self.CLIENT_ID, self.CLIENT_SECRET)
        if not self.AUTH0_DOMAIN:
            named = [
                name
                for name in ("AUTH0_AUDIENCE", "CLIENT_ID", "CLIENT_SECRET")
                if getattr(self, name)
            ]
            if named:
                problems.append(f"{', '.join(named)} set but AUTH0_DOMAIN is not")
            return problems
        if any(client) and not all(client):
            missing = "CLIENT_SECRET" if self.CLIENT_ID else "CLIENT_ID"
            problems.append(f"{missing} is not set (Sign in with Auth0 needs both client settings)")
        elif not all(client) and not self.AUTH0_AUDIENCE:
            problems.append(
                "AUTH0_DOMAIN is set without CLIENT_ID and CLIENT_SECRET (browser sign-in) "
                "or AUTH0_AUDIENCE (API tokens): Auth0 would do nothing"
            )
        return problems

    def _default_secret(self) -> str | None:
        """Development and testing run without secrets; other environments must set them."""
        return None

    def _default_field_encryption_key(self) -> str | None:
        """Development and testing encrypt with a fixed, public key; others must set theirs."""
        return None

    def _read_operations_settings(self, env: Env) -> None:
        """Probes, logs, metrics and error reporting (docs/deployment.md)."""
        self.HEALTH_CHECK_TIMEOUT_SECONDS = env.integer(
            "HEALTH_CHECK_TIMEOUT_SECONDS", 2, minimum=1
        )
        self.DATABASE_CONNECT_TIMEOUT_SECONDS = env.integer(
            "DATABASE_CONNECT_TIMEOUT_SECONDS", 10, minimum=1
        )
        self.DATABASE_STATEMENT_TIMEOUT_MS = env.integer(
            "DATABASE_STATEMENT_TIMEOUT_MS", 30_000, minimum=0
        )
        self.LOG_FORMAT = env.choice("LOG_FORMAT", self.DEFAULT_LOG_FORMAT, ("json", "text"))
        self.LOG_FILE_ENABLED = env.boolean("LOG_FILE_ENABLED", False)
        self.LOG_DIR = env.text("LOG_DIR", "logs")
        self.LOG_FILE_MAX_BYTES = env.integer("LOG_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
        self.LOG_FILE_BACKUP_COUNT = env.integer("LOG_FILE_BACKUP_COUNT", 5)
        self.METRICS_ENABLED = env.boolean("METRICS_ENABLED", True)
        self.METRICS_TOKEN = env.optional("METRICS_TOKEN")
        self.SENTRY_TRACES_SAMPLE_RATE_PERCENT = env.integer("SENTRY_TRACES_SAMPLE_RATE_PERCENT", 0)
        self.CLOUDWATCH_STREAM_NAME = env.optional("CLOUDWATCH_STREAM_NAME")
        self._read_tracing_settings(env)

    def _read_tracing_settings(self, env: Env) -> None:
        """OpenTelemetry (decision 0101): the standard variables; on only with an OTLP endpoint."""
        self.OTEL_SDK_DISABLED = env.boolean("OTEL_SDK_DISABLED", False)
        self.OTEL_EXPORTER_OTLP_ENDPOINT = env.base_url("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        self.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = env.base_url(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None
        )
        # Only the HTTP exporter is installed: gRPC would bring grpcio for the same spans.
        self.OTEL_EXPORTER_OTLP_PROTOCOL = env.choice(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", ("http/protobuf",)
        )
        self.OTEL_SERVICE_NAME = env.text("OTEL_SERVICE_NAME", self.APP_NAME)
        # Probes and scrapes come every few seconds: untraced unless this says otherwise.
        self.OTEL_PYTHON_FLASK_EXCLUDED_URLS = env.text(
            "OTEL_PYTHON_FLASK_EXCLUDED_URLS", r"^https?://[^/]+/(health|metrics)(/|\?|$)"
        )

    def _engine_options(self) -> dict[str, Any]:
        # Bound parameters (password hashes, token hashes, emails) never reach error logs.
        common = {"pool_pre_ping": self.SQLALCHEMY_POOL_PRE_PING, "hide_parameters": True}
        if not self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            return common
        return {
            **common,
            "pool_size": self.SQLALCHEMY_POOL_SIZE,
            "max_overflow": self.SQLALCHEMY_MAX_OVERFLOW,
            "pool_timeout": self.SQLALCHEMY_POOL_TIMEOUT,
            "pool_recycle": self.SQLALCHEMY_POOL_RECYCLE,
            # A database that does not answer must not hang a worker (or a probe) for minutes.
            "connect_args": {
                "connect_timeout": self.DATABASE_CONNECT_TIMEOUT_SECONDS,
                # A runaway query is cancelled by PostgreSQL itself (0 = no limit).
                "options": f"-c statement_timeout={self.DATABASE_STATEMENT_TIMEOUT_MS}",
            },
        }

    def _binds(self) -> dict[str, Any]:
        """On PostgreSQL, a second pool whose connections stay in autocommit: single-statement
        reads (`services.base_service.read_only`) use it without switching a connection's
        isolation level at every checkout and return (~100 µs a read). Same pool settings."""
        if not self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            return {}
        return {
            READS_BIND: {
                "url": self.SQLALCHEMY_DATABASE_URI,
                **self.SQLALCHEMY_ENGINE_OPTIONS,
                "isolation_level": "AUTOCOMMIT",
            }
        }

    def validate(self) -> list[str]:
        """Every problem with this configuration, in a readable sentence each."""
        problems = list(self._env_errors) + self.auth0_problems()
        if not self.ENFORCE_SAFE_SETTINGS:
            return problems
        for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
            value = getattr(self, name)
            if not value:
                problems.append(f"{name} is not set")
            elif is_placeholder_secret(value):
                problems.append(
                    f"{name} is a placeholder or shorter than {MIN_SECRET_LENGTH} characters "
                    "(generate one: python -c 'import secrets; print(secrets.token_hex(32))')"
                )
        if self.REQUIRE_DATABASE_URL and not self.DATABASE_URL:
            problems.append("DATABASE_URL is not set")
        if self.SESSION_COOKIE_SAMESITE == "None" and not self.SESSION_COOKIE_SECURE:
            problems.append("SESSION_COOKIE_SAMESITE=None requires SESSION_COOKIE_SECURE=true")
        if (
            self.ARGON2_MEMORY_COST < ARGON2_MIN_SAFE_MEMORY_COST
            or self.ARGON2_TIME_COST < ARGON2_MIN_SAFE_TIME_COST
        ):
            problems.append(
                "ARGON2_MEMORY_COST/ARGON2_TIME_COST are below OWASP's minimum for argon2id "
                f"({ARGON2_MIN_SAFE_MEMORY_COST} KiB, {ARGON2_MIN_SAFE_TIME_COST} iterations)"
            )
        problems.extend(self._mail_problems())
        problems.extend(self._rate_limit_problems())
        if self.AUTH0_ISSUER_BASE_URL and not self.AUTH0_ISSUER_BASE_URL.startswith("https://"):
            problems.append("AUTH0_ISSUER_BASE_URL must use https outside development and tests")
        problems.extend(self._encryption_problems())
        return problems

    def _encryption_problems(self) -> list[str]:
        """FIELD_ENCRYPTION_KEY, when set, must be real Fernet keys, never the development one."""
        from cryptography.fernet import Fernet

        keys = [k.strip() for k in (self.FIELD_ENCRYPTION_KEY or "").split(",") if k.strip()]
        problems: list[str] = []
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key.encode())
            except ValueError:
                problems.append(
                    f"FIELD_ENCRYPTION_KEY key #{position} is not a Fernet key (generate one: "
                    "flask keys generate)"
                )
        if DEVELOPMENT_FIELD_ENCRYPTION_KEY in keys:
            problems.append("FIELD_ENCRYPTION_KEY holds the public development key")
        return problems

    def _rate_limit_problems(self) -> list[str]:
        """Rate limits count in shared storage, or in each process only when chosen explicitly:
        with 4 workers, 4 times the documented limit of guesses gets through."""
        per_process = self.RATELIMIT_STORAGE_URI.startswith("memory://")
        if not self.RATELIMIT_ENABLED or not per_process or self._per_process_limits_chosen:
            return []
        return [
            "Rate limits would count in each process alone (REDIS_URL and RATELIMIT_STORAGE_URI "
            "are not set): set REDIS_URL (or RATELIMIT_STORAGE_URI) to a Redis shared by every "
            "worker and replica, or RATELIMIT_STORAGE_URI=memory:// to choose per-process counting"
        ]

    def _mail_problems(self) -> list[str]:
        """Staging and production must deliver mail for real, or say explicitly that they don't."""
        problems: list[str] = []
        if self.MAIL_BACKEND == "smtp" and not self.MAIL_SERVER:
            problems.append("MAIL_SERVER is not set (or set MAIL_BACKEND=none to send no mail)")
        if self.MAIL_BACKEND == "console":
            problems.append(
                "MAIL_BACKEND=console writes mails and their single-use links to the log; "
                "it is for development only"
            )
        if self.MAIL_USERNAME and not (self.MAIL_USE_TLS or self.MAIL_USE_SSL):
            problems.append(
                "MAIL_USERNAME is set but neither MAIL_USE_TLS nor MAIL_USE_SSL is: "
                "the password would travel in clear"
            )
        if not self.PUBLIC_BASE_URL:
            problems.append("PUBLIC_BASE_URL is not set (links in emails are built from it)")
        if self.MAIL_QUEUE == "sync":
            problems.append(
                "MAIL_QUEUE=sync sends mail inside the request, whose duration then tells which "
                "emails have accounts; it is for tests only"
            )
        return problems

    @classmethod
    def validate_required_config(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """The problems of this environment's configuration as the environment defines it now."""
        return cls(environ).validate()


class DevelopmentConfig(Config):
    NAME = "development"
    DEBUG = True
    ENFORCE_SAFE_SETTINGS = False
    REQUIRE_DATABASE_URL = False
    DEFAULT_SESSION_COOKIE_SECURE = False
    DEFAULT_LOG_LEVEL = "DEBUG"
    DEFAULT_MAIL_BACKEND = "console"
    DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    CHECK_TRUSTED_HOSTS = False
    DEFAULT_LOG_FORMAT = "text"

    def _default_secret(self) -> str | None:
        return DEVELOPMENT_SECRET

    def _default_field_encryption_key(self) -> str | None:
        return DEVELOPMENT_FIELD_ENCRYPTION_KEY


class TestingConfig(DevelopmentConfig):
    NAME = "testing"
    DEBUG = False
    TESTING = True
    DEFAULT_LOG_LEVEL = "WARNING"
    DEFAULT_DATABASE_URL = "sqlite:///flask_app_test.db"
    # Deliberately weak hashing so the suite stays fast; never outside tests.
    DEFAULT_ARGON2_TIME_COST = 1
    DEFAULT_ARGON2_MEMORY_COST = 1024
    DEFAULT_ARGON2_PARALLELISM = 1
    # Mail is sent inside the request, so a test reads it right after; tests of the queue itself
    # set MAIL_QUEUE=redis or thread.
    DEFAULT_MAIL_QUEUE = "sync"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(environ)
        # Tests never touch DATABASE_URL: a developer's .env must not point them at real data.
        test_url = (os.environ if environ is None else environ).get("TEST_DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(test_url or self.DEFAULT_DATABASE_URL)
        # Tests open many apps; a small pool keeps PostgreSQL's connection count low.
        self.SQLALCHEMY_POOL_SIZE = 2
        self.SQLALCHEMY_MAX_OVERFLOW = 5
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options()
        self.SQLALCHEMY_BINDS = self._binds()


class StagingConfig(Config):
    NAME = "staging"


class ProductionConfig(Config):
    NAME = "production"


CONFIGS: dict[str, type[Config]] = {
    cls.NAME: cls for cls in (DevelopmentConfig, TestingConfig, StagingConfig, ProductionConfig)
}


def selected_config_name(environ: Mapping[str, str] | None = None) -> str:
    """`FLASK_CONFIG` or `FLASK_ENV` (both may be set when they agree), else development.

    ConfigError when they name different configurations: guessing could run production settings
    as development or the reverse (a `.env` never overrides the process environment, but it can
    set the other variable)."""
    env = os.environ if environ is None else environ
    chosen = {name: env[name].strip().lower() for name in SELECTORS if env.get(name, "").strip()}
    if len(set(chosen.values())) > 1:
        settings = " and ".join(f"{name}={value}" for name, value in chosen.items())
        raise ConfigError(
            "",
            [
                f"{settings} name different configurations: set one of them, or both to the "
                "same name (the process environment wins over .env for each variable)"
            ],
            headline="the configuration to use is ambiguous",
        )
    return next(iter(chosen.values()), "development")


def load_config(name: str | None = None) -> Config:
    """Build the named (or environment-selected) configuration from the environment."""
    load_dotenv(".env", override=False)
    config_name = (name or selected_config_name()).lower()
    try:
        config_class = CONFIGS[config_name]
    except KeyError:
        known = ", ".join(CONFIGS)
        raise ConfigError(config_name, [f"unknown configuration (known: {known})"]) from None
    return config_class()
