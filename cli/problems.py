"""How a command reports what went wrong: each problem on its own line, exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from pydantic import ValidationError as PydanticValidationError

from blueprints.endpoint import pydantic_errors
from errors import AppError


def fail(problems: list[str]) -> NoReturn:
    """Print the problems to stderr and exit with status 1."""
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise SystemExit(1)


@contextmanager
def reported() -> Iterator[None]:
    """Turn what the services and schemas refuse into `fail`, with the API's messages."""
    try:
        yield
    except PydanticValidationError as exc:
        fail([f"{item['field']}: {item['error']}" for item in pydantic_errors(exc)])
    except AppError as exc:
        problems = exc.details.get("errors", [])
        fail([f"{p['field']}: {p['error']}" for p in problems] or [exc.message])
