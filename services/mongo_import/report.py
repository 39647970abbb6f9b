"""What an import or export did: counts, rejects, conflicts and the verification result."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.mongo_import.documents import SourceDocument, to_stored


@dataclass(frozen=True)
class Rejected:
    """A source document that was not imported, and why."""

    collection: str
    source: SourceDocument
    reasons: list[str]

    @property
    def object_id(self) -> str | None:
        """The document's `_id` as text, when it has one."""
        document = self.source.document or {}
        return str(document["_id"]) if "_id" in document else None

    def as_json(self) -> dict[str, Any]:
        """One line of the reject file: enough to find, fix and re-import the document."""
        document = to_stored(self.source.document) if self.source.document is not None else None
        return {
            "collection": self.collection,
            "_id": self.object_id,
            **self.source.position,
            "reasons": self.reasons,
            "document": document,
        }


@dataclass
class TokenReport:
    """The tokens collection: what was kept, skipped or rejected."""

    read: int = 0
    imported: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)
    verified: int = 0
    mismatches: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary."""
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return [
            f"tokens read {self.read}: imported {self.imported}, unchanged {self.unchanged}, "
            f"rejected {len(self.rejected)}; skipped: {skipped}",
            f"tokens verified {self.verified}, mismatches {len(self.mismatches)}",
        ]


@dataclass
class ImportReport:
    """A users import (and optionally its tokens): counts and the proof of recoverability."""

    source: str
    dry_run: bool
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    normalised: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    verified: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    aborted: bool = False
    tokens: TokenReport | None = None
    # ObjectIds the run inserted, updated or found unchanged (what a dry run would hold).
    accepted_ids: set[str] = field(default_factory=set)

    @property
    def all_rejected(self) -> list[Rejected]:
        """Rejected users and tokens."""
        return self.rejected + (self.tokens.rejected if self.tokens else [])

    @property
    def ok(self) -> bool:
        """True when the run was not aborted and every accepted document verified."""
        token_mismatches = self.tokens.mismatches if self.tokens else []
        return not (self.aborted or self.mismatches or token_mismatches)

    def lines(self) -> list[str]:
        """Human-readable summary."""
        accepted = self.inserted + self.updated + self.unchanged
        mode = " (dry run: nothing written)" if self.dry_run else ""
        lines = [
            f"users read {self.read}{mode}: inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, older than the database {self.stale}, "
            f"conflicts {len(self.conflicts)}, rejected {len(self.rejected)}",
            f"emails normalised (original kept) {self.normalised}",
            f"verified {self.verified}/{accepted} documents field by field, "
            f"mismatches {len(self.mismatches)}",
        ]
        if self.tokens:
            lines += self.tokens.lines()
        return lines

    def as_json(self) -> dict[str, Any]:
        """The whole report as JSON (for `--report`)."""
        data = asdict(self)
        data.pop("accepted_ids")
        data["rejected"] = [item.as_json() for item in self.rejected]
        if self.tokens:
            data["tokens"]["rejected"] = [item.as_json() for item in self.tokens.rejected]
        return data


def write_rejects(path: Path, rejected: list[Rejected]) -> None:
    """The reject file: one JSON object a line."""
    with path.open("w", encoding="utf-8") as stream:
        for item in rejected:
            stream.write(json.dumps(item.as_json(), default=str) + "\n")
