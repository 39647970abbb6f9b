"""Password hashing and checking: the one place that hashes and verifies passwords.

New hashes are argon2id, with the cost taken from the Flask config (`ARGON2_*`) when an app
context exists, else RFC 9106's low-memory profile. bcrypt hashes imported from the old Node.js
service still verify; `needs_rehash` tells the caller to replace them (and argon2 hashes of an
older cost) at the next successful login. `check_password` enforces the rules of
`domain/passwords.py` (this backend's, or the old service's for `/v1`) as a VALIDATION_ERROR.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

import bcrypt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

from domain import passwords
from errors import ValidationError, WrongCurrentPassword

DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST = 64 * 1024  # KiB
DEFAULT_PARALLELISM = 4

ARGON2ID_PREFIX = "$argon2id$"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# bcrypt (and Node's bcrypt/bcryptjs) read only the first 72 bytes; pyca/bcrypt refuses more.
BCRYPT_MAX_BYTES = 72


_DUMMY_PASSWORD = "not a real password: only spends the time a real verification takes"  # noqa: S105


class Argon2Parameters(NamedTuple):
    """The cost of one argon2id hash."""

    time_cost: int
    memory_cost: int
    parallelism: int


def current_parameters() -> Argon2Parameters:
    """The configured argon2id cost, or the defaults outside an app context."""
    if not has_app_context():
        return Argon2Parameters(DEFAULT_TIME_COST, DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM)
    config = current_app.config
    return Argon2Parameters(
        int(config.get("ARGON2_TIME_COST", DEFAULT_TIME_COST)),
        int(config.get("ARGON2_MEMORY_COST", DEFAULT_MEMORY_COST)),
        int(config.get("ARGON2_PARALLELISM", DEFAULT_PARALLELISM)),
    )


@functools.lru_cache(maxsize=8)
def _hasher(parameters: Argon2Parameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_cost,
        parallelism=parameters.parallelism,
        type=Type.ID,
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(parameters: Argon2Parameters) -> str:
    # Made once per cost, so the dummy verification costs exactly what a real one does.
    return _hasher(parameters).hash(_DUMMY_PASSWORD)


def _encode(password: str) -> bytes:
    """UTF-8 bytes of the NFKC form (NIST SP 800-63B), never failing on lone surrogates."""
    return unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=4)
def _slots(concurrency: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(concurrency)


@contextlib.contextmanager
def hashing_slot() -> Iterator[None]:
    """Wait for one of the worker's `PASSWORD_HASH_CONCURRENCY` hashing slots.

    A hash is pure CPU and memory bandwidth (argon2id: 64 MiB, 4 lanes): sixteen at once on two
    cores finish no sooner than two at a time, they only thrash the caches. Queuing them keeps
    sign-in throughput at what the bare hash allows and leaves the other threads' reads alone
    (decisions 0043, 0146).
    """
    concurrency = current_app.config["PASSWORD_HASH_CONCURRENCY"] if has_app_context() else 1
    with _slots(int(concurrency)):
        yield


def hash_password(password: str) -> str:
    """An argon2id hash of `password` at the current cost."""
    hasher = _hasher(current_parameters())
    with hashing_slot():
        return hasher.hash(_encode(password))


def dummy_verify() -> None:
    """Spend one hash computation, so an unknown account answers as slowly as a known one."""
    parameters = current_parameters()
    dummy = _dummy_hash(parameters)
    with contextlib.suppress(VerifyMismatchError), hashing_slot():
        _hasher(parameters).verify(dummy, _DUMMY_PASSWORD + "!")


def check_current_password(
    password_hash: str | None, current_password: str, *, field: str = "current_password"
) -> None:
    """Confirm a change of one's own account with its password (sent in `field`);
    `WrongCurrentPassword` if wrong."""
    if not verify_password(password_hash, current_password):
        raise WrongCurrentPassword(field)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches the argon2 or bcrypt `password_hash`; never raises."""
    if password_hash and password_hash.startswith("$argon2"):
        return _verify_argon2(password_hash, password)
    if password_hash and password_hash.startswith(BCRYPT_PREFIXES):
        return _verify_bcrypt(password_hash, password)
    dummy_verify()
    return False


def _verify_argon2(password_hash: str, password: str) -> bool:
    hasher = _hasher(current_parameters())
    try:
        with hashing_slot():
            return hasher.verify(password_hash, _encode(password))
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        dummy_verify()
        return False


def _verify_bcrypt(password_hash: str, password: str) -> bool:
    # The old service hashed the raw UTF-8 bytes (no normalisation), truncated at 72 bytes.
    candidate = password.encode("utf-8", "surrogatepass")[:BCRYPT_MAX_BYTES]
    # `$2y$` (PHP's name) is the same algorithm as `$2b$`.
    stored = ("$2b$" + password_hash[4:]) if password_hash.startswith("$2y$") else password_hash
    try:
        with hashing_slot():
            return bcrypt.checkpw(candidate, stored.encode("ascii"))
    except ValueError:  # malformed hash or salt; UnicodeEncodeError is a ValueError too
        dummy_verify()
        return False


def needs_rehash(password_hash: str) -> bool:
    """True unless `password_hash` is argon2id at exactly the current cost (bcrypt always is)."""
    if not password_hash.startswith(ARGON2ID_PREFIX):
        return True
    try:
        return _hasher(current_parameters()).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def check_password(
    password: str,
    *,
    email: str | None = None,
    field: str = "password",
    policy: passwords.PasswordPolicy = passwords.PasswordPolicy.CURRENT,
) -> None:
    """Raise `ValidationError` listing every problem of `password` under `policy`."""
    problems = passwords.password_problems_under(password, email=email, policy=policy)
    if problems:
        raise ValidationError([{"field": field, "error": problem} for problem in problems])
