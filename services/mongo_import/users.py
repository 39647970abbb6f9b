"""Import the users collection: validate everything, then upsert by ObjectId in batches.

One transaction per batch and nothing per row, so a run killed halfway leaves whole batches, and
running it again converges on the state of one clean run. Rows are compared before writing:
unchanged documents cost nothing, a document older than the row is skipped, and a document
changed in MongoDB while the row changed here too is reported as a conflict, never applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from tqdm import tqdm

from models import User, db
from services.base_service import unit_of_work
from services.mongo_import.documents import SourceDocument, read_documents
from services.mongo_import.mapping import COLUMNS, UserMapping, differences
from services.mongo_import.report import ImportReport, Rejected

USERS = "users"
DEFAULT_BATCH_SIZE = 1000
# What a row needs to be compared with a document and rebuilt as one.
ROW_COLUMNS = [getattr(User, name) for name in COLUMNS] + [
    User.id,
    User.is_active,
    User.updated_at,
    User.legacy_updated_at,
]

BatchHook = Callable[[int], None]


@dataclass(frozen=True)
class Candidate:
    """A valid source document and the column values it maps to."""

    source: SourceDocument
    values: dict[str, Any]

    @property
    def document(self) -> dict[str, Any]:
        """The source document (always present for a candidate)."""
        assert self.source.document is not None  # noqa: S101 - invariant of read_candidates
        return self.source.document


def import_users(
    path: Path,
    *,
    mapping: UserMapping,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
    after_batch: BatchHook | None = None,
) -> ImportReport:
    """Import (or, on a dry run, only check) a users file; the report proves what happened."""
    report = ImportReport(source=str(path), dry_run=dry_run)
    candidates = read_candidates(path, mapping, report, progress=progress)
    with tqdm(total=len(candidates), unit="user", desc="import", disable=not progress) as bar:
        for number, batch in enumerate(_chunks(candidates, batch_size), start=1):
            with unit_of_work():
                accepted = _apply_batch(batch, report, dry_run=dry_run)
            _verify(accepted, mapping, report, dry_run=dry_run)
            bar.update(len(batch))
            if after_batch is not None:
                after_batch(number)
    return report


def read_candidates(
    path: Path, mapping: UserMapping, report: ImportReport, *, progress: bool = False
) -> list[Candidate]:
    """Every valid document of the file; the rest go to `report.rejected` with their reasons."""
    candidates: list[Candidate] = []
    sources = tqdm(read_documents(path), unit="doc", desc="read", disable=not progress)
    for source in sources:
        report.read += 1
        if source.document is None:
            report.rejected.append(Rejected(USERS, source, [str(source.error)]))
            continue
        values, problems = mapping.to_values(source.document)
        if problems:
            report.rejected.append(Rejected(USERS, source, problems))
        else:
            candidates.append(Candidate(source, values))
    kept = _without_duplicates(candidates, report)
    email_field = mapping.fields["email"]
    report.normalised = sum(email_field in c.values["legacy_attributes"] for c in kept)
    return kept


def _without_duplicates(candidates: list[Candidate], report: ImportReport) -> list[Candidate]:
    """Drop every document sharing an `_id` or a normalised email: which one is right is a
    decision for a person, so none of them is imported."""
    by_key: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_key["_id", candidate.values["legacy_id"]].append(candidate)
        by_key["email", candidate.values["email"]].append(candidate)
    reasons: dict[int, list[str]] = defaultdict(list)
    for (kind, key), group in by_key.items():
        if len(group) < 2:
            continue
        for candidate in group:
            others = [c.source.describe() for c in group if c is not candidate]
            what = "same _id" if kind == "_id" else f"same email {key!r} once normalised"
            reasons[id(candidate)].append(f"duplicate: {what} as {', '.join(others)}")
    kept = []
    for candidate in candidates:
        if id(candidate) in reasons:
            report.rejected.append(Rejected(USERS, candidate.source, reasons[id(candidate)]))
        else:
            kept.append(candidate)
    return kept


def _apply_batch(
    batch: Sequence[Candidate], report: ImportReport, *, dry_run: bool
) -> list[Candidate]:
    """Classify a batch against the database and write it; returns the documents now held."""
    ids = [c.values["legacy_id"] for c in batch]
    rows = {
        row["legacy_id"]: row
        for row in db.session.execute(
            select(*ROW_COLUMNS).where(User.legacy_id.in_(ids))
        ).mappings()
    }
    owners = dict(
        db.session.execute(
            select(User.email, User.legacy_id).where(
                User.email.in_([c.values["email"] for c in batch]), User.deleted_at.is_(None)
            )
        ).all()
    )
    inserts, updates, accepted = [], [], []
    for candidate in batch:
        values = candidate.values
        row = rows.get(values["legacy_id"])
        outcome = "insert" if row is None else classify(row, values)
        owner = owners.get(values["email"], values["legacy_id"])
        if outcome in {"insert", "update"} and owner != values["legacy_id"]:
            reason = f"email: already used by another account (_id {owner})"
            report.rejected.append(Rejected(USERS, candidate.source, [reason]))
            continue
        if outcome == "conflict":
            report.conflicts.append(_conflict(candidate, row))
            continue
        if outcome == "stale":
            report.stale += 1
            continue
        accepted.append(candidate)
        report.accepted_ids.add(values["legacy_id"])
        if outcome == "insert":
            report.inserted += 1
            inserts.append({**values, "is_active": True})
        elif outcome == "update":
            report.updated += 1
            updates.append({**values, "id": row["id"]})  # type: ignore[index]
        else:
            report.unchanged += 1
    if not dry_run:
        if inserts:
            db.session.execute(insert(User), inserts)
        if updates:
            db.session.execute(update(User), updates)
    return accepted


def classify(row: Mapping[Any, Any], values: Mapping[Any, Any]) -> str:
    """`unchanged`, `update`, `stale` (the database is newer) or `conflict` (both changed).

    `legacy_updated_at` is the common ancestor: the source's `updatedAt` as last imported. A row
    that never came from MongoDB has none, so any newer document for it is a conflict.
    """
    if all(row[column] == values[column] for column in COLUMNS):
        return "unchanged"
    base = row["legacy_updated_at"]
    incoming = values["updated_at"]
    if base is not None and row["updated_at"] == base:
        return "update" if incoming >= base else "stale"
    return "conflict" if incoming > (base or row["updated_at"]) else "stale"


def _conflict(candidate: Candidate, row: Mapping[Any, Any] | None) -> dict[str, Any]:
    assert row is not None  # noqa: S101 - only rows can conflict
    return {
        "_id": candidate.values["legacy_id"],
        **candidate.source.position,
        "source_updated_at": candidate.values["updated_at"].isoformat(),
        "database_updated_at": row["updated_at"].isoformat(),
        "last_imported_updated_at": (
            row["legacy_updated_at"].isoformat() if row["legacy_updated_at"] else None
        ),
    }


def _verify(
    accepted: list[Candidate], mapping: UserMapping, report: ImportReport, *, dry_run: bool
) -> None:
    """Rebuild each accepted document from the database (or, on a dry run, from the values that
    would be written) and compare it with the source, field by field."""
    if dry_run:
        rows: dict[str, Mapping[Any, Any]] = {c.values["legacy_id"]: c.values for c in accepted}
    else:
        ids = [c.values["legacy_id"] for c in accepted]
        statement = select(*ROW_COLUMNS).where(User.legacy_id.in_(ids))
        rows = {row["legacy_id"]: row for row in db.session.execute(statement).mappings()}
        db.session.rollback()  # end the read transaction
    for candidate in accepted:
        row = rows.get(candidate.values["legacy_id"])
        missing = (
            ["_id"] if row is None else differences(candidate.document, mapping.to_document(row))
        )
        if missing:
            report.mismatches.append({"_id": candidate.values["legacy_id"], "fields": missing})
        else:
            report.verified += 1


def _chunks(items: Sequence[Candidate], size: int) -> Iterator[Sequence[Candidate]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
