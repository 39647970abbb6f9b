"""Data migration from and back to the Node.js/MongoDB service (the `flask migrate-data` CLI).

The work lives in `services/mongo_import/`; this module is the one entry point the commands call.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from services import audit_service
from services.mongo_import.export import ExportReport, export_users
from services.mongo_import.mapping import UserMapping
from services.mongo_import.report import ImportReport
from services.mongo_import.tokens import import_tokens
from services.mongo_import.users import DEFAULT_BATCH_SIZE, BatchHook, import_users

__all__ = ["ExportReport", "ImportReport", "export_mongo", "import_mongo"]


def import_mongo(
    users_path: Path,
    *,
    tokens_path: Path | None = None,
    mapping_path: Path | None = None,
    dry_run: bool = False,
    fail_on_reject: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    after_batch: BatchHook | None = None,
) -> ImportReport:
    """Import users (and tokens) from mongoexport/mongodump files; see `mongo_import.users`.

    With `fail_on_reject`, a dry run goes first and any invalid record aborts before a write.
    """
    mapping = UserMapping.load(mapping_path)
    if fail_on_reject and not dry_run:
        preview = import_mongo(
            users_path,
            tokens_path=tokens_path,
            mapping_path=mapping_path,
            dry_run=True,
            batch_size=batch_size,
        )
        if preview.all_rejected:
            preview.aborted = True
            return preview
    report = import_users(
        users_path,
        mapping=mapping,
        dry_run=dry_run,
        batch_size=batch_size,
        progress=progress,
        after_batch=after_batch,
    )
    if tokens_path is not None:
        report.tokens = import_tokens(
            tokens_path,
            dry_run=dry_run,
            batch_size=batch_size,
            pending_users=report.accepted_ids if dry_run else (),
        )
    if not dry_run:
        _record_import(users_path, report)
    return report


def _record_import(users_path: Path, report: ImportReport) -> None:
    """One audit event per import run that wrote (counts only, never a record's content)."""
    details = {
        "source": users_path.name,
        "read": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
        "conflicts": len(report.conflicts),
        "tokens_imported": report.tokens.imported if report.tokens else 0,
    }
    audit_service.record_alone(audit_service.DATA_IMPORTED, details=details)


def export_mongo(
    path: Path,
    *,
    mapping_path: Path | None = None,
    since: datetime | None = None,
    relaxed: bool = False,
    progress: bool = False,
) -> ExportReport:
    """Write users back as mongoimport-ready Extended JSON; see `mongo_import.export`."""
    return export_users(
        path,
        mapping=UserMapping.load(mapping_path),
        since=since,
        relaxed=relaxed,
        progress=progress,
    )
