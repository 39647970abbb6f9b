"""`EncryptedText`: a column encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

`FIELD_ENCRYPTION_KEY` holds one or more comma-separated Fernet keys, newest first: the first
encrypts, every key decrypts (MultiFernet), so keys rotate without downtime (`flask keys rotate`
re-encrypts stored rows under the newest key). The keys are read from the application config at
use time; nothing touches the database or the keys at import.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from errors import ServiceUnavailable

KEY_SETTING = "FIELD_ENCRYPTION_KEY"
_CACHE_KEY = "field_encryption"


class EncryptionUnavailable(ServiceUnavailable):
    """No usable FIELD_ENCRYPTION_KEY: encrypted fields can be neither read nor written (503)."""

    default_message = "Encrypted data is unavailable: FIELD_ENCRYPTION_KEY is missing or wrong"


def parse_keys(value: str | None) -> list[Fernet]:
    """The Fernet keys of a comma-separated setting, newest first; ValueError when malformed."""
    keys = [part.strip() for part in (value or "").split(",") if part.strip()]
    return [Fernet(key.encode()) for key in keys]


def field_cipher() -> MultiFernet:
    """The application's MultiFernet (built once per key setting), or EncryptionUnavailable."""
    setting = current_app.config.get(KEY_SETTING)
    cached = current_app.extensions.get(_CACHE_KEY)
    if cached is not None and cached[0] == setting:
        cipher: MultiFernet = cached[1]
        return cipher
    try:
        keys = parse_keys(setting)
    except ValueError as exc:
        raise EncryptionUnavailable(f"{KEY_SETTING} is not a list of Fernet keys") from exc
    if not keys:
        raise EncryptionUnavailable(f"{KEY_SETTING} is not set: encrypted fields are unavailable")
    cipher = MultiFernet(keys)
    current_app.extensions[_CACHE_KEY] = (setting, cipher)
    return cipher


def encrypt(plaintext: str) -> str:
    """Ciphertext of `plaintext` under the newest key."""
    return field_cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Plaintext of a stored value; EncryptionUnavailable when no configured key opens it."""
    try:
        return field_cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionUnavailable(
            f"Stored data cannot be decrypted with any key in {KEY_SETTING}"
        ) from exc


def rotate(ciphertext: str) -> str:
    """The same plaintext re-encrypted under the newest key."""
    try:
        return field_cipher().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise EncryptionUnavailable(
            f"Stored data cannot be decrypted with any key in {KEY_SETTING}"
        ) from exc


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with the configured Fernet keys; Python sees plaintext, the database never."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)
