"""The password rules: lengths, the common-password list, and the old service's rule for `/v1`.

Schemas document the bounds from here and services enforce them through `password_problems_under`
(`services/password_service.check_password` turns the problems into a VALIDATION_ERROR).
"""

from __future__ import annotations

import functools
import gzip
import re
import unicodedata
from enum import StrEnum
from pathlib import Path

from flask import current_app

from domain.texts import N_

MIN_LENGTH = 12
MAX_LENGTH = 128
LEGACY_MIN_LENGTH = 8

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")


class PasswordPolicy(StrEnum):
    """Which rule a new password must pass: this backend's, or the old service's (`/v1`)."""

    CURRENT = "current"
    LEGACY = "legacy"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The offline list of common / breached passwords (lower-cased), loaded once per process."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def _comparable(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def is_common_password(password: str) -> bool:
    """True when `password` is on the common-password list, ignoring case and outer spaces."""
    return _comparable(password) in common_passwords()


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Every way `password` breaks the policy (empty when it is acceptable)."""
    problems: list[str] = []
    length = len(password)  # code points, as the contract counts
    if length < MIN_LENGTH:
        problems.append(
            N_("Password must be at least %(length)s characters") % {"length": MIN_LENGTH}
        )
    elif length > MAX_LENGTH:
        problems.append(
            N_("Password must be at most %(length)s characters") % {"length": MAX_LENGTH}
        )
    if is_common_password(password):
        problems.append(N_("Password is too common"))
    if email and email.strip() and _comparable(password) == _comparable(email):
        problems.append(N_("Password must not be the same as the email"))
    return problems


def password_problems_under(
    password: str, *, email: str | None = None, policy: PasswordPolicy = PasswordPolicy.CURRENT
) -> list[str]:
    """Every way `password` breaks `policy`: this backend's rules, or the old service's."""
    if policy is PasswordPolicy.LEGACY:
        return legacy_password_problems(password)
    return password_problems(password, email=email)


def legacy_api_policy() -> PasswordPolicy:
    """The policy `/v1` applies: the old rule, unless `LEGACY_STRICT_PASSWORD_POLICY` is on."""
    if current_app.config.get("LEGACY_STRICT_PASSWORD_POLICY", False):
        return PasswordPolicy.CURRENT
    return PasswordPolicy.LEGACY


def legacy_password_problems(password: str) -> list[str]:
    """The old Node.js service's rule (at least 8, one letter, one digit), in its own words."""
    # JavaScript counts UTF-16 code units and stops at the first failing rule; so do we.
    if len(password.encode("utf-16-le", "surrogatepass")) // 2 < LEGACY_MIN_LENGTH:
        return [f"password must be at least {LEGACY_MIN_LENGTH} characters"]
    if not (_LETTER.search(password) and _DIGIT.search(password)):
        return ["password must contain at least 1 letter and 1 number"]
    return []
