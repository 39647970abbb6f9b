"""The redaction layer: what it scrubs from free text and from structured fields."""

import logging

import pytest

from observability.redaction import (
    REDACTED,
    RedactionFilter,
    could_hold_secrets,
    scrub_text,
    scrub_value,
)

pytestmark = pytest.mark.unit

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("authorization=Digest username=x, response=zz9", "zz9"),
        ("{'Authorization': 'Basic dXNlcjpwdw=='}", "dXNlcjpwdw=="),
        ("Cookie: session=s3cr3t; remember_token=r3m3mb3r", "r3m3mb3r"),
        ('{"cookie": "session=s3cr3t"}', "s3cr3t"),
        ("Set-Cookie: refresh_token=rt-999; HttpOnly", "rt-999"),
        ('{"email": "a@b.c", "password": "hunter2!"}', "hunter2!"),
        ("{'new_password': 'P@ss w0rd'}", "P@ss w0rd"),
        ("password=hunter2&next=/", "hunter2"),
        ("refresh_token: rt-abc-123", "rt-abc-123"),
        ("/auth/reset?token=reset-tok-1", "reset-tok-1"),
        (f"got {JWT} from client", JWT),
        ("postgresql://app:pg-pass-7@db:5432/app", "pg-pass-7"),
        ("[('X-Api-Key', 'key-123'), ('Host', 'h')]", "key-123"),
        ("client_secret = 'cs-000'", "cs-000"),
    ],
)
def test_scrub_text_removes_secrets(text, secret):
    scrubbed = scrub_text(text)
    assert secret not in scrubbed
    assert REDACTED in scrubbed


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("BEARER abc.def-123", "abc.def-123"),
        ("COOKIE: sid=s3cr3t", "s3cr3t"),
        ("PassWord=hunter2", "hunter2"),
        ("HTTPS://app:pg-pass-7@db/app", "pg-pass-7"),
        ("BASIC dXNlcjpwdw==", "dXNlcjpwdw=="),
    ],
)
def test_text_skipped_by_the_quick_check_cannot_hold_a_secret(text, secret):
    """Text without any rule's trigger is passed through unscanned; case does not hide one."""
    assert secret not in scrub_text(text)
    assert scrub_text("GET /api/v1/users/42 200 1.3ms") == "GET /api/v1/users/42 200 1.3ms"


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/users/42 200 1.3ms",
        "GET /AUTH/VERIFY-EMAIL/EYJHBGCIOIJ 200 1.0ms",
        "PaSsWoRd=x",
        "a PA\u017fSWORD=x",  # the long s: IGNORECASE folds it to "s", `lower` keeps it
        "api_\u212aey=1",  # the Kelvin sign, folded to "k"
        "Grüße aus /users/7",
        "X-API_KEY: 1",
    ],
)
def test_the_quick_check_finds_what_its_case_insensitive_pattern_finds(text):
    """The lowercase shortcut for ASCII text answers as the IGNORECASE pattern does."""
    from observability.redaction import _ANY_RULE_COULD_MATCH

    assert could_hold_secrets(text) == (_ANY_RULE_COULD_MATCH.search(text) is not None)


def test_scrub_text_keeps_harmless_text_and_is_idempotent():
    text = "GET /api/v1/users 200 12.5ms user=42"
    assert scrub_text(text) == text
    for secret_text in ("password=x token=y", "{'Authorization': 'Bearer x', 'Host': 'h'}"):
        once = scrub_text(secret_text)
        assert scrub_text(once) == once
        assert "'Host': 'h'" in once or "password" in once


def test_scrub_value_blanks_sensitive_keys_at_any_depth():
    value = {"user": {"email": "a@b.c", "password": "x"}, "tokens": ["Bearer zzz"], "n": 1}
    assert scrub_value(value) == {
        "user": {"email": "a@b.c", "password": REDACTED},
        "tokens": REDACTED,
        "n": 1,
    }
    assert scrub_value(("Bearer zzz", 2)) == [f"Bearer {REDACTED}", 2]


def test_the_filter_scrubs_message_arguments_and_extras():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "body=%s", ({"token": "t0k"},), None)
    record.password = "pw"
    record.payload = {"access_token": "at"}
    record.stack_info = "Authorization: Bearer qqq"
    assert RedactionFilter().filter(record) is True
    assert "t0k" not in record.getMessage()
    assert record.password == REDACTED
    assert record.payload == {"access_token": REDACTED}
    assert "qqq" not in record.stack_info


def test_the_filter_survives_a_broken_format_string():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%d token=%s", ("x",), None)
    RedactionFilter().filter(record)
    assert "token=" in record.getMessage()
