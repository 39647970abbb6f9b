"""Configuration: one typed settings model (pydantic-settings), one subclass per environment.

Every setting is one annotated field of `Config`, named like its environment variable: type,
default, and the validators of its type. A subclass changes defaults by declaring the field again.
Values come from the process environment, then a `.env` file in the working directory (the process
environment wins), or only from the mapping given to the constructor (`ProductionConfig({...})`).
A malformed value never stops the build: its default is kept and `validate()` names it, with every
other problem, at once. Staging and production refuse placeholder secrets and unsafe settings.
`load_config()` picks the class from `FLASK_CONFIG` or `FLASK_ENV` (refusing the two when they
disagree). Adding a setting: one field here, one line in `.env.example` (a test checks both ways).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AfterValidator, Field, PrivateAttr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

import config_checks
from config_checks import DEVELOPMENT_FIELD_ENCRYPTION_KEY

DEVELOPMENT_SECRET = "dev-insecure-secret-key-change-me-0000000000"  # noqa: S105 - refused in prod
# The engine (Flask-SQLAlchemy bind) of single-statement reads, when the database has one.
READS_BIND = "reads"
# The variables that choose the configuration class; FLASK_ENV is the seed's name.
SELECTORS = ("FLASK_CONFIG", "FLASK_ENV")
ENV_FILE = ".env"
# Always trusted Host names: the container health checks call http://127.0.0.1:$PORT.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
HOST_NAME = re.compile(r"\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")
# A browser origin: scheme, host name (or bracketed IPv6 address) and optional port; no path.
ORIGIN = re.compile(r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


def _base_url(value: str | None) -> str | None:
    """An absolute http(s) URL without query or fragment, trailing slash removed."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"must be an absolute http(s) URL without query or fragment (got {value!r})"
        )
    return value.rstrip("/")


def _issuer(value: str | None) -> str | None:
    """Auth0 writes its issuer with a trailing slash; tokens must match it exactly."""
    base = _base_url(value)
    return f"{base}/" if base else None


def _origins(value: str) -> str:
    """A comma-separated list of exact origins, `scheme://host[:port]`, each lower-cased.

    Not `*` (every site) nor `null` (sandboxed frames and files, any page can claim it): a browser
    origin is allowed by name (docs/decisions/0133-cors.md)."""
    origins = [origin.strip().lower() for origin in value.split(",") if origin.strip()]
    bad = [origin for origin in origins if not ORIGIN.fullmatch(origin)]
    if bad:
        raise ValueError(f"must list origins such as https://app.example.com (got {bad})")
    return ",".join(origins)


def _legacy_origins(value: str) -> str:
    """`*`, as the old service answered every origin, or a list of exact origins."""
    return "*" if value.strip() == "*" else _origins(value)


def _host_names(value: str) -> str:
    """A comma-separated list of host names without port (a leading dot admits subdomains)."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    if bad := [name for name in names if not HOST_NAME.fullmatch(name)]:
        raise ValueError(f"must list host names without port (got {bad})")
    return ",".join(names)


# The types settings are declared with: whole numbers 0 or more (`Count`), 1 or more (`Positive`).
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]
BaseUrl = Annotated[str | None, AfterValidator(_base_url)]
IssuerUrl = Annotated[str | None, AfterValidator(_issuer)]
HostNames = Annotated[str, AfterValidator(_host_names)]
Origins = Annotated[str, AfterValidator(_origins)]
LegacyOrigins = Annotated[str, AfterValidator(_legacy_origins)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
MailBackend = Literal["smtp", "console", "none"]
MailQueue = Literal["redis", "thread", "sync"]
MAIL_BACKENDS: tuple[str, ...] = get_args(MailBackend)
MAIL_QUEUES: tuple[str, ...] = get_args(MailQueue)


class ConfigError(Exception):
    """The selected configuration is unsafe or incomplete."""

    def __init__(self, config_name: str, problems: list[str], *, headline: str = "") -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        headline = headline or f"the '{config_name}' configuration is unsafe or incomplete"
        super().__init__(f"{headline}:\n{listing}")


def normalize_database_url(url: str) -> str:
    """Route `postgres://` and `postgresql://` URLs to the psycopg 3 driver; others unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class _MappingSource(EnvSettingsSource):
    """The environment source, reading a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._environ)


class Config(BaseSettings):
    """Settings shared by every environment, read once and typed."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, case_sensitive=True, env_ignore_empty=True, extra="ignore"
    )

    NAME: ClassVar[str] = "base"
    DEBUG: ClassVar[bool] = False
    TESTING: ClassVar[bool] = False
    # Staging and production refuse to start on any problem `validate()` finds.
    ENFORCE_SAFE_SETTINGS: ClassVar[bool] = True
    REQUIRE_DATABASE_URL: ClassVar[bool] = True
    DEFAULT_DATABASE_URL: ClassVar[str] = "sqlite:///flask_app.db"
    # CSRF (Flask-WTF): checked by blueprints/security.py's own policy, not on every POST;
    # a token lives as long as the session that holds it.
    WTF_CSRF_CHECK_DEFAULT: ClassVar[bool] = False
    WTF_CSRF_TIME_LIMIT: ClassVar[int | None] = None
    # Answer only requests whose Host names this service (Flask's TRUSTED_HOSTS, derived below).
    CHECK_TRUSTED_HOSTS: ClassVar[bool] = True

    # A field whose default depends on others is declared after them (`default_factory=lambda s:`
    # receives the fields validated so far).
    APP_NAME: str = "flask-backend-app"
    APP_VERSION: str = "1.0.0"
    FLASK_HOST: str = "127.0.0.1"
    FLASK_PORT: Positive = 5000

    # Development and testing run without secrets; other environments must set them.
    SECRET_KEY: str | None = None
    JWT_SECRET_KEY: str | None = None

    # --- Database ---------------------------------------------------------------------------
    DATABASE_URL: str | None = None
    SQLALCHEMY_ECHO: bool = False
    SQLALCHEMY_POOL_SIZE: Positive = 20
    SQLALCHEMY_MAX_OVERFLOW: Count = 30
    SQLALCHEMY_POOL_TIMEOUT: Positive = 30
    SQLALCHEMY_POOL_RECYCLE: Positive = 3600
    SQLALCHEMY_POOL_PRE_PING: bool = True
    DATABASE_CONNECT_TIMEOUT_SECONDS: Positive = 10
    # A runaway query is cancelled by PostgreSQL itself (0 = no limit).
    DATABASE_STATEMENT_TIMEOUT_MS: Count = 30_000

    # --- Operations: probes, logs, metrics, error reporting (docs/deployment.md) -------------
    HEALTH_CHECK_TIMEOUT_SECONDS: Positive = 2
    LOG_LEVEL: LogLevel = "INFO"
    LOG_FORMAT: Literal["json", "text"] = "json"
    LOG_FILE_ENABLED: bool = False
    LOG_DIR: str = "logs"
    LOG_FILE_MAX_BYTES: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    LOG_FILE_BACKUP_COUNT: Count = 5
    METRICS_ENABLED: bool = True
    METRICS_TOKEN: str | None = None
    SENTRY_DSN: str | None = None
    SENTRY_TRACES_SAMPLE_RATE_PERCENT: Count = 0
    CLOUDWATCH_LOG_GROUP: str | None = None
    CLOUDWATCH_STREAM_NAME: str | None = None
    AWS_REGION: str | None = None
    AWS_S3_BUCKET: str | None = None
    # Tracing (decision 0101): the standard OTEL_* variables; on only with an OTLP endpoint.
    OTEL_SDK_DISABLED: bool = False
    OTEL_EXPORTER_OTLP_ENDPOINT: BaseUrl = None
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: BaseUrl = None
    # Only the HTTP exporter is installed: gRPC would bring grpcio for the same spans.
    OTEL_EXPORTER_OTLP_PROTOCOL: Literal["http/protobuf"] = "http/protobuf"
    OTEL_SERVICE_NAME: str = Field(default_factory=lambda s: s.get("APP_NAME"))
    # Probes and scrapes come every few seconds: untraced unless this says otherwise.
    OTEL_PYTHON_FLASK_EXCLUDED_URLS: str = r"^https?://[^/]+/(health|metrics)(/|\?|$)"

    # --- Auth0 (docs/decisions/0050-auth0.md): RS256 API tokens and "Sign in with Auth0" -----
    AUTH0_DOMAIN: str | None = None
    CLIENT_ID: str | None = None
    CLIENT_SECRET: str | None = None
    # The API identifier access tokens must name in `aud` (API tokens are off without it).
    AUTH0_AUDIENCE: str | None = None
    # Create a local `user` on first sight of an unknown subject with a verified email.
    AUTH0_AUTO_PROVISION: bool = False
    AUTH0_ISSUER_BASE_URL: IssuerUrl = Field(
        default_factory=lambda s: f"https://{s['AUTH0_DOMAIN']}" if s.get("AUTH0_DOMAIN") else None
    )
    AUTH0_JWKS_TIMEOUT_SECONDS: Positive = 3
    AUTH0_JWKS_CACHE_SECONDS: Positive = 600
    AUTH0_JWKS_MIN_REFRESH_SECONDS: Count = 30
    AUTH0_LEEWAY_SECONDS: Count = 30

    # --- Requests, sessions and cookies ------------------------------------------------------
    SESSION_LIFETIME_MINUTES: Positive = 30
    SESSION_COOKIE_SECURE: bool = True
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict", "None"] = "Lax"
    FORCE_HTTPS: bool = False
    HSTS_MAX_AGE: Count = 365 * 24 * 3600
    # Trusted X-Forwarded-* hops (werkzeug ProxyFix); 0 trusts none. Set them to the number of
    # proxies in front of the app, never more: a client could forge the extra headers.
    PROXY_FIX_X_FOR: Count = 0
    PROXY_FIX_X_PROTO: Count = 0
    PROXY_FIX_X_HOST: Count = 0
    PROXY_FIX_X_PORT: Count = 0
    PROXY_FIX_X_PREFIX: Count = 0
    MAX_CONTENT_LENGTH: Positive = 1024 * 1024
    # Host names a request may carry besides PUBLIC_BASE_URL's and the loopback names (read from
    # `TRUSTED_HOSTS`; the list Flask checks is the `TRUSTED_HOSTS` property below).
    EXTRA_TRUSTED_HOSTS: HostNames = Field("", alias="TRUSTED_HOSTS")

    # --- Cross-origin requests (web_cors.py, docs/security.md "Cross-origin requests") ----------
    # Browser origins whose pages may call /api/v1 (Bearer tokens only, never cookies); empty: none.
    CORS_ORIGINS: Origins = ""
    # The old /v1 API answered every origin (`*`); a list of origins narrows it.
    LEGACY_CORS_ORIGINS: LegacyOrigins = "*"
    # How long a browser may reuse a preflight's answer (Chromium honours at most 7200).
    CORS_MAX_AGE: Count = 7200

    # --- Redis and the cache -----------------------------------------------------------------
    REDIS_URL: str | None = None
    CACHE_TYPE: str = Field(default_factory=lambda s: "redis" if s.get("REDIS_URL") else "simple")
    CACHE_DEFAULT_TIMEOUT: Count = 300
    # Keys of services/cache_service.py: give each app sharing a Redis database its own.
    CACHE_KEY_PREFIX: str = Field(default_factory=lambda s: f"{s.get('APP_NAME')}:")

    # --- Passwords, second factors, field encryption -----------------------------------------
    # argon2id cost: RFC 9106's second recommended ("low memory") profile, argon2-cffi's default.
    ARGON2_TIME_COST: Positive = 3
    ARGON2_MEMORY_COST: Annotated[int, Field(ge=8)] = 64 * 1024  # KiB
    ARGON2_PARALLELISM: Positive = 4
    # Hashes computed at once per worker process; with a worker per core, one each keeps every
    # core hashing, and more only thrash the caches (decision 0146).
    PASSWORD_HASH_CONCURRENCY: Positive = 1
    # Comma-separated Fernet keys, newest first (models/encrypted.py, `flask keys`).
    FIELD_ENCRYPTION_KEY: str | None = None
    MFA_TOKEN_SECONDS: Annotated[int, Field(ge=30)] = 300
    MFA_ISSUER: str = Field(default_factory=lambda s: s.get("APP_NAME"))

    # --- Passkeys (WebAuthn, docs/passkeys.md): the relying party is PUBLIC_BASE_URL's host -----
    # The name authenticators show beside the account.
    PASSKEY_RP_NAME: str = Field(default_factory=lambda s: s.get("APP_NAME"))
    # How long the challenge of a passkey ceremony may be answered (single use).
    PASSKEY_CHALLENGE_SECONDS: Annotated[int, Field(ge=30)] = 300
    # Adding a passkey needs a sign-in at most this old (seconds).
    PASSKEY_RECENT_SIGN_IN_SECONDS: Annotated[int, Field(ge=30)] = 600
    # Passkey options (a stored challenge each) per client address.
    RATELIMIT_PASSKEY_OPTIONS: str = "30/minute"

    # --- Tokens ------------------------------------------------------------------------------
    JWT_ACCESS_TOKEN_EXPIRES: Positive = 900
    JWT_REFRESH_TOKEN_EXPIRES: Positive = 7 * 24 * 3600
    JWT_ISSUER: str = Field(default_factory=lambda s: s.get("APP_NAME"))
    JWT_AUDIENCE: str = Field(default_factory=lambda s: f"{s.get('APP_NAME')}-api")
    EMAIL_VERIFICATION_TOKEN_HOURS: Positive = 48
    PASSWORD_RESET_TOKEN_MINUTES: Positive = 60
    # How long the link that confirms a new email address works (the undo link: 7 days).
    EMAIL_CHANGE_TOKEN_HOURS: Positive = 24

    # --- Audit trail retention (`flask audit prune`, docs/admin.md) ------------------------
    AUDIT_RETENTION_DAYS: Annotated[int, Field(ge=1)] = 365

    # --- Rate limits -------------------------------------------------------------------------
    RATELIMIT_ENABLED: bool = True
    # When the limiter's Redis is down: fail open (count in process memory meanwhile) or
    # closed (answer 503 until Redis is back).
    RATELIMIT_FAIL_OPEN: bool = True
    # Counters in each process's memory only when chosen (RATELIMIT_STORAGE_URI=memory://).
    RATELIMIT_STORAGE_URI: str = Field(default_factory=lambda s: s.get("REDIS_URL") or "memory://")
    RATELIMIT_KEY_PREFIX: str = Field(default_factory=lambda s: f"{s.get('APP_NAME')}:rl")
    # A moving window: a fixed window resets on the minute and lets twice the limit through
    # around each boundary.
    RATELIMIT_STRATEGY: Literal["moving-window", "fixed-window", "sliding-window-counter"] = (
        "moving-window"
    )
    RATELIMIT_LOGIN_PER_ADDRESS: str = "20/minute"
    RATELIMIT_LOGIN_PER_ACCOUNT: str = "5/minute;20/hour"
    RATELIMIT_REFRESH: str = "60/minute"
    RATELIMIT_FORGOT_PASSWORD: str = "5/minute;20/hour"  # noqa: S105 - a rate, not a password
    RATELIMIT_REGISTER: str = "10/minute;50/hour"
    # Wrong two-factor codes, per account (and the login per-address limit, per address).
    RATELIMIT_MFA: str = "5/minute;20/hour"

    # --- The old Node.js service's `/v1` contract (blueprints/v1_compat, docs/migration.md) --
    LEGACY_API_ENABLED: bool = True
    # The old service's JWT_SECRET: its access tokens stay valid on /v1 until they expire;
    # imported refresh tokens must verify with it.
    LEGACY_JWT_SECRET: str | None = None
    # true: /v1 applies the /api/v1 password policy instead of the old rule.
    LEGACY_STRICT_PASSWORD_POLICY: bool = False

    # --- Self-service (docs/api.md, "Self-service and sessions") ----------------------------
    # true: users may delete their own account (DELETE /api/v1/users/me or their own id).
    ALLOW_SELF_DELETE: bool = False

    # --- Outgoing mail (services/email_service.py) and the base URL of its links -------------
    MAIL_SERVER: str | None = None
    MAIL_PORT: Positive = 587
    MAIL_USE_TLS: bool = True
    MAIL_USE_SSL: bool = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER: str = "Flask Backend <no-reply@localhost>"
    MAIL_TIMEOUT: Positive = 10
    # Without MAIL_SERVER: staging and production must say how mail leaves (validate() insists).
    MAIL_BACKEND: MailBackend = "smtp"
    PUBLIC_BASE_URL: BaseUrl = None
    # Where mail is sent from: never inside the request, whose duration would tell which
    # emails have accounts (docs/decisions/0075-mail-queue-rq.md).
    MAIL_QUEUE: MailQueue = Field(
        default_factory=lambda s: "redis" if s.get("REDIS_URL") else "thread"
    )
    MAIL_QUEUE_RETRIES: Count = 5
    # The first retry waits this long, each further one twice as long as the one before.
    MAIL_QUEUE_RETRY_SECONDS: Count = 30

    # Values the environment gave that could not be read (their defaults are used instead).
    _env_errors: list[str] = PrivateAttr(default_factory=list)

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        """Read the process environment and `.env`, or only `environ` when given."""
        values = self._read_variables(environ)
        errors: list[str] = []
        while True:
            try:
                super().__init__(**values)
                break
            except ValidationError as invalid:
                # Defaults computed from other fields wait until those are valid (next round).
                found = [e for e in invalid.errors() if e["type"] != "default_factory_not_called"]
                names = {str(error["loc"][0]) for error in found}
                if not names <= values.keys():
                    raise  # a declared default is invalid: a mistake in this file
                errors.extend(self._describe(error) for error in found)
                for name in names:
                    del values[name]
        self._env_errors = errors

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`__init__` reads the environment itself (`_read_variables`) and passes the values."""
        return (init_settings,)

    @classmethod
    def _read_variables(cls, environ: Mapping[str, str] | None) -> dict[str, Any]:
        """The variables naming a field, stripped, the empty ones left out; `.env` comes first
        so that the process environment overrides it."""
        if environ is None:
            sources = [DotEnvSettingsSource(cls), EnvSettingsSource(cls)]
        else:
            sources = [_MappingSource(cls, environ)]
        values: dict[str, Any] = {}
        for source in sources:
            values.update(source())
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        return {name: value for name, value in stripped.items() if value not in ("", None)}

    @classmethod
    def _describe(cls, error: ErrorDetails) -> str:
        """A sentence naming the variable, what it must be and what it was."""
        name, got, kind = str(error["loc"][0]), error["input"], error["type"]
        context = error.get("ctx", {})
        if kind in ("int_parsing", "int_from_float", "int_type"):
            return f"{name} must be an integer (got {got!r})"
        if kind == "greater_than_equal":
            return f"{name} must be at least {context['ge']} (got {got})"
        if kind == "bool_parsing":
            return f"{name} must be true or false (got {got!r})"
        if kind == "literal_error":
            choices = ", ".join(get_args(cls.model_fields[name].annotation))
            return f"{name} must be one of {choices} (got {got!r})"
        if kind == "value_error":
            return f"{name} {context['error']}"
        return f"{name}: {error['msg']} (got {got!r})"

    # --- Derived settings --------------------------------------------------------------------

    @property
    def ENV_NAME(self) -> str:  # noqa: N802 - Flask reads upper-case attributes
        return self.NAME

    @property
    def PERMANENT_SESSION_LIFETIME(self) -> timedelta:  # noqa: N802
        return timedelta(minutes=self.SESSION_LIFETIME_MINUTES)

    @property
    def RATELIMIT_SWALLOW_ERRORS(self) -> bool:  # noqa: N802
        return self.RATELIMIT_FAIL_OPEN

    @property
    def RATELIMIT_IN_MEMORY_FALLBACK_ENABLED(self) -> bool:  # noqa: N802
        return self.RATELIMIT_FAIL_OPEN

    @property
    def TRUSTED_HOSTS(self) -> list[str] | None:  # noqa: N802
        """Host names a request may carry: PUBLIC_BASE_URL's, the loopback names of container
        health checks, and the `TRUSTED_HOSTS` list. None, any host, in development and testing
        unless `TRUSTED_HOSTS` is set."""
        extra = [name for name in self.EXTRA_TRUSTED_HOSTS.split(",") if name]
        if not (self.CHECK_TRUSTED_HOSTS or extra):
            return None
        public = urlsplit(self.PUBLIC_BASE_URL).hostname if self.PUBLIC_BASE_URL else None
        return [*([public] if public else []), *LOOPBACK_HOSTS, *extra]

    @property
    def SQLALCHEMY_DATABASE_URI(self) -> str:  # noqa: N802
        return normalize_database_url(self.DATABASE_URL or self.DEFAULT_DATABASE_URL)

    @property
    def SQLALCHEMY_ENGINE_OPTIONS(self) -> dict[str, Any]:  # noqa: N802
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
                "options": f"-c statement_timeout={self.DATABASE_STATEMENT_TIMEOUT_MS}",
            },
        }

    @property
    def SQLALCHEMY_BINDS(self) -> dict[str, Any]:  # noqa: N802
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
                # Nothing to roll back on return: every statement committed itself.
                "pool_reset_on_return": None,
                # With SQLALCHEMY_POOL_PRE_PING, this pool pings only connections that sat idle
                # (base_service.ping_when_idle): a ping on every checkout doubled a read's round
                # trips (decision 0124).
                "pool_pre_ping": False,
            }
        }

    # --- Checks ------------------------------------------------------------------------------

    def validate(self) -> list[str]:  # type: ignore[override]  # BaseModel.validate: deprecated
        """Every problem with this configuration, in a readable sentence each."""
        problems = self._env_errors + config_checks.inconsistencies(self) + self.auth0_problems()
        if self.ENFORCE_SAFE_SETTINGS:
            problems += config_checks.unsafe_settings(self)
        return problems

    def auth0_problems(self) -> list[str]:
        """A half-configured Auth0: settings that cannot work without the others."""
        return config_checks.auth0_problems(self)

    @classmethod
    def validate_required_config(cls, environ: Mapping[str, str] | None = None) -> list[str]:
        """The problems of this environment's configuration as the environment defines it now."""
        return cls(environ).validate()


class DevelopmentConfig(Config):
    NAME = "development"
    DEBUG = True
    CHECK_TRUSTED_HOSTS = False
    ENFORCE_SAFE_SETTINGS = False
    REQUIRE_DATABASE_URL = False

    SECRET_KEY: str | None = DEVELOPMENT_SECRET
    JWT_SECRET_KEY: str | None = DEVELOPMENT_SECRET
    LOG_LEVEL: LogLevel = "DEBUG"
    LOG_FORMAT: Literal["json", "text"] = "text"
    SESSION_COOKIE_SECURE: bool = False
    # Development and testing encrypt with a fixed, public key; others must set theirs.
    FIELD_ENCRYPTION_KEY: str | None = DEVELOPMENT_FIELD_ENCRYPTION_KEY
    MAIL_BACKEND: MailBackend = Field(
        default_factory=lambda s: "smtp" if s.get("MAIL_SERVER") else "console"
    )
    PUBLIC_BASE_URL: BaseUrl = "http://127.0.0.1:5000"


class TestingConfig(DevelopmentConfig):
    NAME = "testing"
    DEBUG = False
    TESTING = True
    DEFAULT_DATABASE_URL = "sqlite:///flask_app_test.db"

    LOG_LEVEL: LogLevel = "WARNING"
    # Deliberately weak hashing so the suite stays fast; never outside tests.
    ARGON2_TIME_COST: Positive = 1
    ARGON2_MEMORY_COST: Annotated[int, Field(ge=8)] = 1024
    ARGON2_PARALLELISM: Positive = 1
    # Mail is sent inside the request, so a test reads it right after; tests of the queue itself
    # set MAIL_QUEUE=redis or thread.
    MAIL_QUEUE: MailQueue = "sync"
    # Tests never touch DATABASE_URL: a developer's .env must not point them at real data.
    TEST_DATABASE_URL: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        # Tests open many apps; a small pool keeps PostgreSQL's connection count low.
        self.SQLALCHEMY_POOL_SIZE, self.SQLALCHEMY_MAX_OVERFLOW = 2, 5

    @property
    def SQLALCHEMY_DATABASE_URI(self) -> str:  # noqa: N802
        return normalize_database_url(self.TEST_DATABASE_URL or self.DEFAULT_DATABASE_URL)


class StagingConfig(Config):
    NAME = "staging"


class ProductionConfig(Config):
    NAME = "production"


CONFIGS: dict[str, type[Config]] = {
    cls.NAME: cls for cls in (DevelopmentConfig, TestingConfig, StagingConfig, ProductionConfig)
}


def selected_config_name(environ: Mapping[str, str] | None = None) -> str:
    """`FLASK_CONFIG` or `FLASK_ENV` (both may be set when they agree), else development.

    Read from `environ`, else from the process environment over `.env`. ConfigError when they
    name different configurations: guessing could run production settings as development or the
    reverse (a `.env` never overrides the process environment, but it can set the other one)."""
    env = {**dotenv_values(ENV_FILE), **os.environ} if environ is None else environ
    chosen = {name: value.lower() for name in SELECTORS if (value := (env.get(name) or "").strip())}
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
    config_name = (name or selected_config_name()).lower()
    try:
        config_class = CONFIGS[config_name]
    except KeyError:
        known = ", ".join(CONFIGS)
        raise ConfigError(config_name, [f"unknown configuration (known: {known})"]) from None
    return config_class()
