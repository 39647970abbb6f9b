"""`flask mail worker`: run the mail jobs queued on Redis (MAIL_QUEUE=redis)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from services import mail_queue

mail_cli = AppGroup("mail", help="Outgoing mail: the worker that sends what requests queued.")


@mail_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit (tests, cron).")
def run_worker(burst: bool) -> None:
    """Send queued mail with retries and backoff; failed jobs end in RQ's failed registry."""
    config = current_app.config
    if config["MAIL_QUEUE"] != "redis":
        raise click.ClickException(
            f"MAIL_QUEUE is {config['MAIL_QUEUE']!r}: the web processes send mail themselves; "
            "a worker needs MAIL_QUEUE=redis (the default when REDIS_URL is set)"
        )
    worker = mail_queue.worker(mail_queue.worker_connection(config["REDIS_URL"]))
    # The scheduler moves retries whose backoff has passed back onto the queue.
    worker.work(burst=burst, with_scheduler=True)
