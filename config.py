"""Configuration: one class per environment, every setting read from the environment once, typed.

`load_config()` picks the class from `FLASK_CONFIG` (or `FLASK_ENV`) and builds it from
`os.environ`, after loading a `.env` file from the working directory when there is one.
Staging and production refuse placeholder secrets: `validate()` lists every problem at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from dotenv import load_dotenv

PLACEHOLDER_MARKERS = ("your-", "change-me", "changeme", "example", "secret-key-here", "dev-")
MIN_SECRET_LENGTH = 32
DEVELOPMENT_SECRET = "dev-insecure-secret-key-change-me-0000000000"  # noqa: S105 - refused in prod


class ConfigError(Exception):
    """The selected configuration is unsafe or incomplete."""

    def __init__(self, config_name: str, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"the '{config_name}' configuration is unsafe or incomplete:\n{listing}")


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

        self.AUTH0_DOMAIN = env.optional("AUTH0_DOMAIN")
        self.CLIENT_ID = env.optional("CLIENT_ID")
        self.CLIENT_SECRET = env.optional("CLIENT_SECRET")

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
        self.MAX_CONTENT_LENGTH = env.integer("MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1)

        self.REDIS_URL = env.optional("REDIS_URL")
        self.CACHE_TYPE = env.text("CACHE_TYPE", "redis" if self.REDIS_URL else "simple")
        self.CACHE_DEFAULT_TIMEOUT = env.integer("CACHE_DEFAULT_TIMEOUT", 300)

        self.AWS_REGION = env.optional("AWS_REGION")
        self.AWS_S3_BUCKET = env.optional("AWS_S3_BUCKET")
        self.SENTRY_DSN = env.optional("SENTRY_DSN")
        self.CLOUDWATCH_LOG_GROUP = env.optional("CLOUDWATCH_LOG_GROUP")
        self.FIELD_ENCRYPTION_KEY = env.optional("FIELD_ENCRYPTION_KEY")

        self.FLASK_HOST = env.text("FLASK_HOST", "127.0.0.1")
        self.FLASK_PORT = env.integer("FLASK_PORT", 5000, minimum=1)

    def _default_secret(self) -> str | None:
        """Development and testing run without secrets; other environments must set them."""
        return None

    def _read_operations_settings(self, env: Env) -> None:
        """Probes, logs, metrics and error reporting (docs/deployment.md)."""
        self.HEALTH_CHECK_TIMEOUT_SECONDS = env.integer(
            "HEALTH_CHECK_TIMEOUT_SECONDS", 2, minimum=1
        )
        self.DATABASE_CONNECT_TIMEOUT_SECONDS = env.integer(
            "DATABASE_CONNECT_TIMEOUT_SECONDS", 10, minimum=1
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

    def _engine_options(self) -> dict[str, Any]:
        if not self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            return {"pool_pre_ping": self.SQLALCHEMY_POOL_PRE_PING, "hide_parameters": True}
        return {
            "pool_size": self.SQLALCHEMY_POOL_SIZE,
            "max_overflow": self.SQLALCHEMY_MAX_OVERFLOW,
            "pool_timeout": self.SQLALCHEMY_POOL_TIMEOUT,
            "pool_recycle": self.SQLALCHEMY_POOL_RECYCLE,
            "pool_pre_ping": self.SQLALCHEMY_POOL_PRE_PING,
            # A database that does not answer must not hang a worker (or a probe) for minutes.
            "connect_args": {"connect_timeout": self.DATABASE_CONNECT_TIMEOUT_SECONDS},
            # SQL parameters (password hashes, token digests) never reach logs or error texts.
            "hide_parameters": True,
        }

    def validate(self) -> list[str]:
        """Every problem with this configuration, in a readable sentence each."""
        problems = list(self._env_errors)
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
    DEFAULT_LOG_FORMAT = "text"

    def _default_secret(self) -> str | None:
        return DEVELOPMENT_SECRET


class TestingConfig(DevelopmentConfig):
    NAME = "testing"
    DEBUG = False
    TESTING = True
    DEFAULT_LOG_LEVEL = "WARNING"
    DEFAULT_DATABASE_URL = "sqlite:///flask_app_test.db"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(environ)
        # Tests never touch DATABASE_URL: a developer's .env must not point them at real data.
        test_url = (os.environ if environ is None else environ).get("TEST_DATABASE_URL")
        self.SQLALCHEMY_DATABASE_URI = normalize_database_url(test_url or self.DEFAULT_DATABASE_URL)
        # Tests open many apps; a small pool keeps PostgreSQL's connection count low.
        self.SQLALCHEMY_POOL_SIZE = 2
        self.SQLALCHEMY_MAX_OVERFLOW = 5
        self.SQLALCHEMY_ENGINE_OPTIONS = self._engine_options()


class StagingConfig(Config):
    NAME = "staging"


class ProductionConfig(Config):
    NAME = "production"


CONFIGS: dict[str, type[Config]] = {
    cls.NAME: cls for cls in (DevelopmentConfig, TestingConfig, StagingConfig, ProductionConfig)
}


def selected_config_name(environ: Mapping[str, str] | None = None) -> str:
    """`FLASK_CONFIG`, else `FLASK_ENV`, else development."""
    env = os.environ if environ is None else environ
    return (env.get("FLASK_CONFIG") or env.get("FLASK_ENV") or "development").strip().lower()


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
