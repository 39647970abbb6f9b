"""Import the tokens collection: live refresh tokens become sessions here, the rest is counted.

The old service stored each token (a JWT) in clear; we keep only its SHA-256, linked to the user
through an `AuthSession` of kind `legacy`, with its original expiry, so the token can be presented
once (`POST /api/v1/auth/refresh`, or `/v1/auth/refresh-tokens`) and is rotated then, if it
still verifies as the old service's JWT (`services.auth.signin.refresh`).
Expired, blacklisted, password-reset and email-verification tokens are skipped and counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from sqlalchemy import insert, select

from models import AuthSession, RefreshToken, User, db, utcnow
from services import session_service, token_service
from services.base_service import unit_of_work
from services.mongo_import.documents import SourceDocument, read_documents
from services.mongo_import.report import Rejected, TokenReport

TOKENS = "tokens"
REFRESH = "refresh"


def import_tokens(
    path: Path,
    *,
    dry_run: bool = False,
    batch_size: int = 1000,
    now: datetime | None = None,
    pending_users: Collection[str] = (),
) -> TokenReport:
    """Import the live refresh tokens of a tokens file; everything else is counted and skipped.

    `pending_users`: ObjectIds a dry run would have imported, so their tokens count as kept.
    """
    now = now or utcnow()
    pending = dict.fromkeys(pending_users, 0)
    report = TokenReport()
    batch: list[tuple[SourceDocument, dict[str, Any]]] = []
    for source in read_documents(path):
        report.read += 1
        token = _accepted(source, report, now)
        if token is not None:
            batch.append((source, token))
        if len(batch) >= batch_size:
            _apply_batch(batch, report, dry_run=dry_run, pending=pending)
            batch = []
    if batch:
        _apply_batch(batch, report, dry_run=dry_run, pending=pending)
    return report


def _accepted(source: SourceDocument, report: TokenReport, now: datetime) -> dict[str, Any] | None:
    """The token's fields when it is a live refresh token; None when rejected or skipped."""
    document = source.document
    if document is None:
        report.rejected.append(Rejected(TOKENS, source, [str(source.error)]))
        return None
    problems = [
        f"{name}: missing or not {kind.__name__}"
        for name, kind in (("token", str), ("user", ObjectId), ("type", str), ("expires", datetime))
        if not isinstance(document.get(name), kind)
    ]
    if not isinstance(document.get("blacklisted", False), bool):
        problems.append("blacklisted: not bool")
    if problems:
        report.rejected.append(Rejected(TOKENS, source, problems))
        return None
    if document["type"] != REFRESH:
        report.skipped[document["type"]] += 1
    elif document.get("blacklisted", False):
        report.skipped["blacklisted"] += 1
    elif document["expires"] <= now:
        report.skipped["expired"] += 1
    else:
        return document
    return None


def _apply_batch(
    batch: Sequence[tuple[SourceDocument, dict[str, Any]]],
    report: TokenReport,
    *,
    dry_run: bool,
    pending: dict[str, int],
) -> None:
    """Insert the batch's new tokens (one session each) in one transaction, then check them."""
    with unit_of_work():
        owners = pending | dict(
            db.session.execute(
                select(User.legacy_id, User.id).where(
                    User.legacy_id.in_({str(token["user"]) for _, token in batch}),
                    User.deleted_at.is_(None),
                )
            ).all()
        )
        hashes = {token_service.hash_token(token["token"]) for _, token in batch}
        present = set(
            db.session.scalars(
                select(RefreshToken.token_hash).where(RefreshToken.token_hash.in_(hashes))
            )
        )
        sessions, tokens, expected = [], [], {}
        for source, token in batch:
            token_hash = token_service.hash_token(token["token"])
            user_id = owners.get(str(token["user"]))
            if user_id is None:
                report.rejected.append(
                    Rejected(TOKENS, source, ["user: no imported user with this _id"])
                )
                continue
            expected[token_hash] = (user_id, token["expires"])
            if token_hash in present:
                report.unchanged += 1
                continue
            present.add(token_hash)
            report.imported += 1
            session_id = legacy_session_id(token_hash)
            created = (
                token.get("createdAt") if isinstance(token.get("createdAt"), datetime) else utcnow()
            )
            sessions.append(
                {
                    "id": session_id,
                    "user_id": user_id,
                    "kind": session_service.LEGACY_KIND,
                    "created_at": created,
                }
            )
            tokens.append(
                {
                    "session_id": session_id,
                    "token_hash": token_hash,
                    "created_at": created,
                    "expires_at": token["expires"],
                }
            )
        if not dry_run and tokens:
            db.session.execute(insert(AuthSession), sessions)
            db.session.execute(insert(RefreshToken), tokens)
    if not dry_run:
        _verify(expected, report)


def _verify(expected: dict[str, tuple[int, datetime]], report: TokenReport) -> None:
    """Each kept token is in the database, with its user and its expiry."""
    rows = db.session.execute(
        select(RefreshToken.token_hash, AuthSession.user_id, RefreshToken.expires_at)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash.in_(list(expected)))
    ).all()
    found = {token_hash: (user_id, expires) for token_hash, user_id, expires in rows}
    db.session.rollback()  # end the read transaction
    for token_hash, wanted in expected.items():
        if found.get(token_hash) == wanted:
            report.verified += 1
        else:
            report.mismatches.append(token_hash[:12])


def legacy_session_id(token_hash: str) -> str:
    """A session id derived from the token, so importing it again finds the same session."""
    return hashlib.sha256(f"legacy-session:{token_hash}".encode()).hexdigest()[:32]
