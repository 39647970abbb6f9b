"""`flask migrate-data`: move users from the Node.js service's MongoDB, and back (a rollback)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from services import migration_service
from services.mongo_import.documents import UnreadableFile
from services.mongo_import.mapping import MappingFileError
from services.mongo_import.report import write_rejects

migrate_data_cli = AppGroup(
    "migrate-data", help="Import users from the Node.js service's MongoDB, export them back."
)

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
NEW_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)
SHOWN_PROBLEMS = 20


@migrate_data_cli.command("import-mongo")
@click.argument("path", type=EXISTING_FILE)
@click.option("--tokens", "tokens_path", type=EXISTING_FILE, help="The tokens collection too.")
@click.option("--mapping", "mapping_path", type=EXISTING_FILE, help="TOML field mapping.")
@click.option("--dry-run", is_flag=True, help="Validate and compare; write nothing.")
@click.option(
    "--on-invalid",
    type=click.Choice(["reject", "fail"]),
    default="reject",
    show_default=True,
    help="reject: import the rest, write invalid records to the reject file; "
    "fail: write nothing if any record is invalid.",
)
@click.option(
    "--reject-file", type=NEW_FILE, help="Default: PATH.rejects.jsonl (not on a dry run)."
)
@click.option("--report", "report_path", type=NEW_FILE, help="Write the full report as JSON.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=1000, show_default=True)
@click.option("--progress/--no-progress", default=None, help="Default: when on a terminal.")
def import_mongo(
    path: Path,
    tokens_path: Path | None,
    mapping_path: Path | None,
    dry_run: bool,
    on_invalid: str,
    reject_file: Path | None,
    report_path: Path | None,
    batch_size: int,
    progress: bool | None,
) -> None:
    """Import a users collection exported by mongoexport (JSON) or mongodump (.bson)."""
    try:
        report = migration_service.import_mongo(
            path,
            tokens_path=tokens_path,
            mapping_path=mapping_path,
            dry_run=dry_run,
            fail_on_reject=on_invalid == "fail",
            batch_size=batch_size,
            progress=sys.stderr.isatty() if progress is None else progress,
        )
    except (UnreadableFile, MappingFileError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines():
        click.echo(line)
    if tokens_path is not None and not current_app.config.get("LEGACY_JWT_SECRET"):
        click.echo(
            "warning: LEGACY_JWT_SECRET is not set: imported refresh tokens are refused "
            "until it holds the old service's JWT_SECRET",
            err=True,
        )
    for conflict in report.conflicts[:SHOWN_PROBLEMS]:
        click.echo(f"  conflict (changed on both sides, neither overwritten): {conflict}")
    rejected = report.all_rejected
    for item in rejected[:SHOWN_PROBLEMS]:
        where = item.source.describe()
        click.echo(
            f"  rejected {item.collection} {item.object_id} ({where}): {'; '.join(item.reasons)}"
        )
    if rejected and (reject_file or not dry_run):
        target = reject_file or path.with_name(path.name + ".rejects.jsonl")
        write_rejects(target, rejected)
        click.echo(f"rejected records written to {target}")
    if report_path is not None:
        report_path.write_text(json.dumps(report.as_json(), indent=2, default=str) + "\n")
    if report.aborted:
        click.echo("nothing imported: invalid records and --on-invalid fail", err=True)
    for mismatch in report.mismatches[:SHOWN_PROBLEMS]:
        click.echo(f"  NOT RECOVERABLE {mismatch}", err=True)
    if not report.ok:
        raise SystemExit(1)


@migrate_data_cli.command("export-mongo")
@click.argument("path", type=NEW_FILE)
@click.option("--since", type=str, help="Only users created or changed since (ISO 8601, UTC).")
@click.option("--mapping", "mapping_path", type=EXISTING_FILE, help="TOML field mapping.")
@click.option("--relaxed", is_flag=True, help="Relaxed Extended JSON instead of canonical.")
@click.option("--progress/--no-progress", default=None, help="Default: when on a terminal.")
def export_mongo(
    path: Path, since: str | None, mapping_path: Path | None, relaxed: bool, progress: bool | None
) -> None:
    """Write users as mongoimport-ready Extended JSON lines for the Node.js service."""
    try:
        report = migration_service.export_mongo(
            path,
            mapping_path=mapping_path,
            since=_parse_time(since) if since else None,
            relaxed=relaxed,
            progress=sys.stderr.isatty() if progress is None else progress,
        )
    except MappingFileError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.lines():
        click.echo(line)


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--since") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
