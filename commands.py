"""`flask` command groups (database commands come from Flask-Migrate as `flask db`)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

config_cli = AppGroup("config", help="Inspect and validate the configuration.")


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


def register_commands(app: Flask) -> None:
    """Attach the command groups to the application's CLI."""
    app.cli.add_command(config_cli)
