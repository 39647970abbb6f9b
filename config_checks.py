"""The rules between settings: what no environment can run with, and what staging and production
refuse. Each problem is a sentence naming the variables; `Config.validate()` lists them all."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config import Config

PLACEHOLDER_MARKERS = ("your-", "change-me", "changeme", "example", "secret-key-here", "dev-")
MIN_SECRET_LENGTH = 32
# OWASP's Password Storage Cheat Sheet minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
ARGON2_MIN_SAFE_MEMORY_COST = 19 * 1024
ARGON2_MIN_SAFE_TIME_COST = 2
# A valid Fernet key anyone can read: development and testing only, refused elsewhere.
DEVELOPMENT_FIELD_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWZpZWxkLWtleS0wMDAwMDAwMDA="


def is_placeholder_secret(value: str | None) -> bool:
    """True when a secret is missing, short, or one of the documented example values."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return True
    lowered = value.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def unsafe_settings(settings: Config) -> list[str]:
    """What staging and production refuse: development shortcuts, missing secrets and services."""
    problems: list[str] = []
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = getattr(settings, name)
        if not value:
            problems.append(f"{name} is not set")
        elif is_placeholder_secret(value):
            problems.append(
                f"{name} is a placeholder or shorter than {MIN_SECRET_LENGTH} characters "
                "(generate one: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
    if settings.REQUIRE_DATABASE_URL and not settings.DATABASE_URL:
        problems.append("DATABASE_URL is not set")
    if settings.SESSION_COOKIE_SAMESITE == "None" and not settings.SESSION_COOKIE_SECURE:
        problems.append("SESSION_COOKIE_SAMESITE=None requires SESSION_COOKIE_SECURE=true")
    if (
        settings.ARGON2_MEMORY_COST < ARGON2_MIN_SAFE_MEMORY_COST
        or settings.ARGON2_TIME_COST < ARGON2_MIN_SAFE_TIME_COST
    ):
        problems.append(
            "ARGON2_MEMORY_COST/ARGON2_TIME_COST are below OWASP's minimum for argon2id "
            f"({ARGON2_MIN_SAFE_MEMORY_COST} KiB, {ARGON2_MIN_SAFE_TIME_COST} iterations)"
        )
    problems.extend(_mail_problems(settings))
    problems.extend(_rate_limit_problems(settings))
    if settings.AUTH0_ISSUER_BASE_URL and not settings.AUTH0_ISSUER_BASE_URL.startswith("https://"):
        problems.append("AUTH0_ISSUER_BASE_URL must use https outside development and tests")
    problems.extend(_encryption_problems(settings))
    return problems


def inconsistencies(settings: Config) -> list[str]:
    """Settings that cannot work together, in any environment."""
    problems: list[str] = []
    if settings.ARGON2_MEMORY_COST < 8 * settings.ARGON2_PARALLELISM:
        # libargon2 refuses this combination: every hash would fail.
        problems.append(
            "ARGON2_MEMORY_COST must be at least 8 KiB per lane (8 * ARGON2_PARALLELISM)"
        )
    if settings.MAIL_USE_TLS and settings.MAIL_USE_SSL:
        problems.append(
            "MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (TLS from the start) exclude each other"
        )
    if settings.MAIL_QUEUE == "redis" and not settings.REDIS_URL:
        problems.append("MAIL_QUEUE=redis needs REDIS_URL")
    return problems


def auth0_problems(settings: Config) -> list[str]:
    """A half-configured Auth0: settings that cannot work without the others."""
    problems: list[str] = []
    client = (settings.CLIENT_ID, settings.CLIENT_SECRET)
    if not settings.AUTH0_DOMAIN:
        named = [
            name
            for name in ("AUTH0_AUDIENCE", "CLIENT_ID", "CLIENT_SECRET")
            if getattr(settings, name)
        ]
        if named:
            problems.append(f"{', '.join(named)} set but AUTH0_DOMAIN is not")
        return problems
    if any(client) and not all(client):
        missing = "CLIENT_SECRET" if settings.CLIENT_ID else "CLIENT_ID"
        problems.append(f"{missing} is not set (Sign in with Auth0 needs both client settings)")
    elif not all(client) and not settings.AUTH0_AUDIENCE:
        problems.append(
            "AUTH0_DOMAIN is set without CLIENT_ID and CLIENT_SECRET (browser sign-in) "
            "or AUTH0_AUDIENCE (API tokens): Auth0 would do nothing"
        )
    return problems


def _encryption_problems(settings: Config) -> list[str]:
    """FIELD_ENCRYPTION_KEY, when set, must be real Fernet keys, never the development one."""
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in (settings.FIELD_ENCRYPTION_KEY or "").split(",") if k.strip()]
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


def _rate_limit_problems(settings: Config) -> list[str]:
    """Rate limits count in shared storage, or in each process only when chosen explicitly:
    with 4 workers, 4 times the documented limit of guesses gets through."""
    per_process = settings.RATELIMIT_STORAGE_URI.startswith("memory://")
    chosen = "RATELIMIT_STORAGE_URI" in settings.model_fields_set
    if not settings.RATELIMIT_ENABLED or not per_process or chosen:
        return []
    return [
        "Rate limits would count in each process alone (REDIS_URL and RATELIMIT_STORAGE_URI "
        "are not set): set REDIS_URL (or RATELIMIT_STORAGE_URI) to a Redis shared by every "
        "worker and replica, or RATELIMIT_STORAGE_URI=memory:// to choose per-process counting"
    ]


def _mail_problems(settings: Config) -> list[str]:
    """Staging and production must deliver mail for real, or say explicitly that they don't."""
    problems: list[str] = []
    if settings.MAIL_BACKEND == "smtp" and not settings.MAIL_SERVER:
        problems.append("MAIL_SERVER is not set (or set MAIL_BACKEND=none to send no mail)")
    if settings.MAIL_BACKEND == "console":
        problems.append(
            "MAIL_BACKEND=console writes mails and their single-use links to the log; "
            "it is for development only"
        )
    if settings.MAIL_USERNAME and not (settings.MAIL_USE_TLS or settings.MAIL_USE_SSL):
        problems.append(
            "MAIL_USERNAME is set but neither MAIL_USE_TLS nor MAIL_USE_SSL is: "
            "the password would travel in clear"
        )
    if not settings.PUBLIC_BASE_URL:
        problems.append("PUBLIC_BASE_URL is not set (links in emails are built from it)")
    if settings.MAIL_QUEUE == "sync":
        problems.append(
            "MAIL_QUEUE=sync sends mail inside the request, whose duration then tells which "
            "emails have accounts; it is for tests only"
        )
    return problems
