"""Export users for the Node.js service: mongoimport-ready Extended JSON, old field names,
original `_id`s, so a rollback loses no user created or changed here.

argon2id hashes cannot become bcrypt again: such users carry `passwordResetRequired: true`, and
disabled ones `isActive: false`; the old service must honour both (docs/migration.md). Users
deleted here are listed in a second file, `<PATH>.deleted.jsonl`, to be removed there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bson import ObjectId
from sqlalchemy import select
from tqdm import tqdm

from models import User, db
from services.mongo_import.documents import to_json_line
from services.mongo_import.mapping import COLUMNS, PASSWORD_RESET_REQUIRED, UserMapping

EXPORT_COLUMNS = [getattr(User, name) for name in COLUMNS] + [User.is_active]


@dataclass
class ExportReport:
    """What an export wrote."""

    path: Path
    written: int = 0
    password_reset_required: int = 0
    deleted: int = 0
    deleted_path: Path | None = None

    def lines(self) -> list[str]:
        """Human-readable summary."""
        lines = [
            f"users written {self.written} to {self.path}",
            f"marked {PASSWORD_RESET_REQUIRED} (argon2id, no bcrypt hash) "
            f"{self.password_reset_required}",
        ]
        if self.deleted_path is not None:
            lines.append(f"users deleted here {self.deleted}: ids in {self.deleted_path}")
        return lines


def deleted_path_for(path: Path) -> Path:
    """Where the ids of deleted users go, beside the export."""
    return path.with_name(path.name + ".deleted.jsonl")


def export_users(
    path: Path,
    *,
    mapping: UserMapping,
    since: datetime | None = None,
    relaxed: bool = False,
    progress: bool = False,
) -> ExportReport:
    """Write live users (changed since `since`, when given) as JSON lines for mongoimport."""
    report = ExportReport(path)
    statement = select(*EXPORT_COLUMNS).where(User.deleted_at.is_(None)).order_by(User.id)
    if since is not None:
        statement = statement.where(User.updated_at >= since)
    rows = db.session.execute(statement.execution_options(yield_per=1000)).mappings()
    with path.open("w", encoding="utf-8") as stream:
        for row in tqdm(rows, unit="user", desc="export", disable=not progress):
            document = mapping.to_document(row)
            report.written += 1
            report.password_reset_required += int(PASSWORD_RESET_REQUIRED in document)
            stream.write(to_json_line(document, relaxed=relaxed) + "\n")
    deleted = select(User.legacy_id).where(User.deleted_at.is_not(None)).order_by(User.id)
    if since is not None:
        deleted = deleted.where(User.deleted_at >= since)
    deleted_ids = list(db.session.scalars(deleted))
    db.session.rollback()  # end the read transaction
    if deleted_ids:
        report.deleted = len(deleted_ids)
        report.deleted_path = deleted_path_for(path)
        with report.deleted_path.open("w", encoding="utf-8") as stream:
            for object_id in deleted_ids:
                stream.write(to_json_line({"_id": ObjectId(object_id)}, relaxed=relaxed) + "\n")
    return report
