"""Email addresses: the one normal form they are stored, compared and rate-limited in."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from domain.texts import N_

EMAIL_MAX_LENGTH = 320


def normalize_email(value: str) -> str:
    """The one form an address is stored and compared in, after checking its syntax (no DNS
    lookup); ValueError when it is no address.

    NFKC first, so compatibility forms (fullwidth letters and `@`, ligatures) read as their
    plain letters; then the local part is lower-cased and the domain mapped by IDNA's UTS #46
    (case-folded; Punycode `xn--` labels read as the Unicode they stand for). See decision 0080.
    """
    candidate = unicodedata.normalize("NFKC", value).strip()
    if len(candidate) > EMAIL_MAX_LENGTH:
        raise ValueError(N_("Email is too long"))
    try:
        # `test_environment` admits RFC 6761 `.test` domains (fuzzers and staging use them);
        # other special-use names (.local, .localhost, .invalid) stay refused.
        address = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(N_("Invalid email format")) from exc
    # Lower-casing can leave text NFKC would change again; normalising once more makes the
    # result a fixed point (normalising a stored email gives it back unchanged).
    local_part = unicodedata.normalize("NFKC", address.local_part.lower())
    normal = f"{local_part}@{address.domain}"
    if len(normal) > EMAIL_MAX_LENGTH:
        raise ValueError(N_("Email is too long"))
    return normal


def email_key(value: str) -> str:
    """`value` as `normalize_email` stores it, or, when it is no address, folded the same way
    as far as it goes: a key (rate limits) that every spelling of one account shares."""
    try:
        return normalize_email(value)
    except ValueError:
        return unicodedata.normalize("NFKC", value).strip().lower()
