"""`flask` command groups (database commands come from Flask-Migrate as `flask db`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from cli.audit import audit_cli
from cli.mail import mail_cli
from cli.migrate_data import migrate_data_cli
from cli.problems import fail
from cli.users import users_cli
from models.encrypted import KEY_SETTING, EncryptionUnavailable
from services import key_service

config_cli = AppGroup("config", help="Inspect and validate the configuration.")
keys_cli = AppGroup("keys", help="Field-encryption keys (FIELD_ENCRYPTION_KEY).")


@config_cli.command("validate")
def validate_config() -> None:
    """Exit non-zero with every problem when the selected configuration is unsafe."""
    settings = current_app.extensions["app_config"]
    problems = settings.validate()
    if problems:
        click.echo(f"The '{settings.NAME}' configuration has {len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"The '{settings.NAME}' configuration is valid.")


@keys_cli.command("generate")
def generate_key() -> None:
    """Print a new Fernet key (put it first in FIELD_ENCRYPTION_KEY, keep the old ones after)."""
    click.echo(key_service.generate_key())


@keys_cli.command("rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
def rotate_keys(batch_size: int) -> None:
    """Re-encrypt every encrypted field under the newest key, in committed batches.
    Afterwards the older keys can be removed from FIELD_ENCRYPTION_KEY."""
    try:
        done = key_service.rotate_all(
            batch_size, on_batch=lambda name, count: click.echo(f"  {name}: {count}")
        )
    except EncryptionUnavailable as exc:
        fail([exc.message])
    for name, count in done.items():
        click.echo(f"Re-encrypted {count} value(s) of {name} under the newest key.")


@keys_cli.command("check")
@click.option(
    "--sample",
    type=click.IntRange(1),
    default=key_service.DEFAULT_CHECK_SAMPLE,
    show_default=True,
    help="Values tried per column: this many of the oldest and of the newest rows.",
)
@click.option("--all", "check_all", is_flag=True, help="Try every stored value instead.")
def check_keys(sample: int, check_all: bool) -> None:
    """Exit non-zero when FIELD_ENCRYPTION_KEY cannot open stored encrypted values (tried with
    the configured keys; the container entrypoint runs this before starting the server)."""
    try:
        results = key_service.check_stored_values(None if check_all else sample)
    except EncryptionUnavailable as exc:
        fail([exc.message])
    except SQLAlchemyError as exc:
        # Not migrated yet, or the database is down: nothing to decide here; readiness says so,
        # and reading encrypted data without a key still answers 503.
        click.echo(f"Field encryption: not checked ({type(exc).__name__}).", err=True)
        return
    unreadable = [item for item in results if item.unreadable]
    if unreadable:
        fail(
            [
                f"{item.name}: {item.unreadable} of {item.checked} value(s) tried cannot be "
                f"decrypted with any key in {KEY_SETTING}"
                for item in unreadable
            ]
        )
    checked = sum(item.checked for item in results)
    click.echo(f"Field encryption: OK ({checked} stored value(s) decrypted).")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the application's CLI."""
    app.cli.add_command(config_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(migrate_data_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(audit_cli)
