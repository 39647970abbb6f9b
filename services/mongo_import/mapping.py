"""How a Node.js user document maps onto a `users` row, and back.

The default is the Mongoose user of the old service; a TOML mapping file renames source fields
for other schemas (`[fields]` column = "sourceField"). Fields without a column are kept verbatim in
`legacy_attributes`; an email changed by normalisation keeps its original there too, so the
document can always be rebuilt exactly.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId

from domain.emails import normalize_email
from models import Role
from services.mongo_import.documents import from_stored, same_value, to_stored
from services.password_service import ARGON2ID_PREFIX, BCRYPT_PREFIXES

DEFAULT_FIELDS = {
    "name": "name",
    "email": "email",
    "password_hash": "password",
    "role": "role",
    "email_verified": "isEmailVerified",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}
# Added by the export only: the old service must act on them (see docs/migration.md).
PASSWORD_RESET_REQUIRED = "passwordResetRequired"  # noqa: S105 - a field name
IS_ACTIVE = "isActive"
NAME_MAX_LENGTH = 100
BCRYPT_LENGTH = 60
HASH_MAX_LENGTH = 255
# The columns an import writes and compares.
COLUMNS = (
    "legacy_id",
    "email",
    "name",
    "password_hash",
    "role",
    "email_verified",
    "created_at",
    "updated_at",
    "legacy_attributes",
)


class MappingFileError(Exception):
    """The mapping file is unreadable or names unknown columns."""


@dataclass(frozen=True)
class UserMapping:
    """Source field name of each mapped column (`_id` is always the ObjectId)."""

    fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))

    @classmethod
    def load(cls, path: Path | None) -> UserMapping:
        """The default mapping, with a TOML file's `[fields]` renames applied."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise MappingFileError(f"{path}: {exc}") from exc
        renames = data.get("fields", {})
        unknown = sorted(set(renames) - set(DEFAULT_FIELDS))
        if unknown or not all(isinstance(v, str) and v for v in renames.values()):
            raise MappingFileError(f"{path}: [fields] maps {', '.join(DEFAULT_FIELDS)} to names")
        fields = {**DEFAULT_FIELDS, **renames}
        if len(set(fields.values())) != len(fields) or "_id" in fields.values():
            raise MappingFileError(f"{path}: two columns read the same source field")
        return cls(fields)

    def to_values(self, document: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Column values for `document`, and every problem that makes it invalid."""
        problems: list[str] = []
        extras = {k: v for k, v in document.items() if k != "_id" and k not in self._sources}
        object_id = document.get("_id")
        if not isinstance(object_id, ObjectId):
            problems.append("_id: missing" if object_id is None else "_id: not an ObjectId")
        values: dict[str, Any] = {"legacy_id": str(object_id)}

        email = self._get(document, "email", str, problems)
        if email is not None:
            try:
                values["email"] = normalize_email(email)
            except ValueError as exc:
                problems.append(f"{self.fields['email']}: {exc}")
            else:
                if values["email"] != email:
                    extras[self.fields["email"]] = email  # the original, for the way back
        name = self._get(document, "name", str, problems)
        if name is not None and not (name.strip() and len(name) <= NAME_MAX_LENGTH):
            problems.append(f"{self.fields['name']}: must be 1 to {NAME_MAX_LENGTH} characters")
        values["name"] = name
        values["password_hash"] = self._get(document, "password_hash", str, problems)
        if values["password_hash"] is not None and not is_known_hash(values["password_hash"]):
            problems.append(f"{self.fields['password_hash']}: not a bcrypt or argon2id hash")
        values["role"] = self._get(document, "role", str, problems, Role.USER.value)
        if values["role"] not in {role.value for role in Role}:
            problems.append(f"{self.fields['role']}: must be one of user, admin")
        values["email_verified"] = self._get(document, "email_verified", bool, problems, False)
        created = self._get(document, "created_at", datetime, problems, _generation(object_id))
        values["created_at"] = created
        values["updated_at"] = self._get(document, "updated_at", datetime, problems, created)
        values["legacy_attributes"] = to_stored(extras)
        values["legacy_updated_at"] = values["updated_at"]
        return values, problems

    def _get(
        self,
        document: Mapping[str, Any],
        column: str,
        kind: type,
        problems: list[str],
        default: Any = ...,
    ) -> Any:
        source = self.fields[column]
        if source not in document:
            if default is ...:
                problems.append(f"{source}: missing")
                return None
            return default
        value = document[source]
        if not isinstance(value, kind):
            problems.append(f"{source}: expected {_KIND_NAMES[kind]}, got {type(value).__name__}")
            return None
        return value

    def to_document(self, values: Mapping[Any, Any]) -> dict[str, Any]:
        """The Node.js document for a row: old field names, original `_id`, nothing lost."""
        extras = from_stored(values["legacy_attributes"] or {})
        original = extras.pop(self.fields["email"], None)
        email = values["email"]
        if isinstance(original, str) and _normalised(original) == email:
            email = original
        document: dict[str, Any] = {"_id": ObjectId(values["legacy_id"])}
        document[self.fields["name"]] = values["name"]
        document[self.fields["email"]] = email
        if values["password_hash"] is not None:
            document[self.fields["password_hash"]] = values["password_hash"]
        document[self.fields["role"]] = values["role"]
        document[self.fields["email_verified"]] = values["email_verified"]
        document[self.fields["created_at"]] = values["created_at"]
        document[self.fields["updated_at"]] = values["updated_at"]
        document.update(extras)
        if not str(values["password_hash"] or "").startswith(BCRYPT_PREFIXES):
            document[PASSWORD_RESET_REQUIRED] = True
        if values.get("is_active") is False:
            document[IS_ACTIVE] = False
        return document

    @functools.cached_property
    def _sources(self) -> set[str]:
        return set(self.fields.values())


def differences(source: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> list[str]:
    """The source fields that `rebuilt` lacks or holds with another value or type."""
    return [
        key
        for key, value in source.items()
        if key not in rebuilt or not same_value(value, rebuilt[key])
    ]


def is_known_hash(password_hash: str) -> bool:
    """A bcrypt hash as bcryptjs writes it, or one of our argon2id hashes."""
    if password_hash.startswith(BCRYPT_PREFIXES):
        return len(password_hash) == BCRYPT_LENGTH
    return password_hash.startswith(ARGON2ID_PREFIX) and len(password_hash) <= HASH_MAX_LENGTH


def _normalised(email: str) -> str | None:
    try:
        return normalize_email(email)
    except ValueError:
        return None


def _generation(object_id: Any) -> datetime | None:
    return object_id.generation_time if isinstance(object_id, ObjectId) else None


_KIND_NAMES = {str: "a string", bool: "a boolean", datetime: "a date"}
