"""`flask audit …`: retention and export of the audit trail (decision 0131)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from cli.problems import reported
from schemas.audit import AuditEventQuery
from services import audit_service
from services.audit_service import MIN_RETENTION_DAYS, EventFilter
from services.policy import OPERATOR

audit_cli = AppGroup("audit", help="The audit trail: prune old events, export them.")


@audit_cli.command("prune")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(MIN_RETENTION_DAYS),
    help="Days to keep (default: AUDIT_RETENTION_DAYS).",
)
def prune(older_than: int | None) -> None:
    """Delete audit events older than the retention period; the pruning is itself audited."""
    days = older_than or current_app.config["AUDIT_RETENTION_DAYS"]
    with reported():
        deleted = audit_service.prune(actor=OPERATOR, older_than_days=days)
    click.echo(f"Pruned {deleted} audit event(s) older than {days} day(s).")


@audit_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--since", help="ISO 8601 time: events at or after it (UTC when no zone).")
@click.option("--until", help="ISO 8601 time: events before it.")
@click.option("--user", "user_id", help="Events by or about this user id.")
@click.option("--type", "event_type", help="Events of this type (e.g. auth.login_failed).")
def export(
    path: Path, since: str | None, until: str | None, user_id: str | None, event_type: str | None
) -> None:
    """Write audit events, oldest first, as JSON lines to PATH ('-': standard output)."""
    arguments = {"since": since, "until": until, "user_id": user_id, "type": event_type}
    with reported():
        query = AuditEventQuery.model_validate({k: v for k, v in arguments.items() if v})
        lines = audit_service.export(actor=OPERATOR, events=EventFilter.of(query))
    count = 0
    with click.open_file(str(path), "w", encoding="utf-8") as output:
        for line in lines:
            output.write(line)
            count += 1
    click.echo(f"Exported {count} audit event(s) to {path}.", err=str(path) == "-")
