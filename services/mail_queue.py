"""Mail leaves the request path: named jobs that render and send mail, run where `MAIL_QUEUE` says.

`redis`   RQ jobs on `REDIS_URL`, run by `flask mail worker`; retried with backoff, then
          dead-lettered (an ERROR log line, and the job stays in RQ's failed registry).
`thread`  this process, once the response has been sent (`call_on_close`), retried the same way;
          what is still pending when the process dies is lost. The default without Redis.
`sync`    inside the request, one attempt: for tests that read the mail right after a request.

A job's arguments are an email address or a user id, never a link: the job itself issues the
single-use token, so no token rests in Redis, and a request does the same work for a real account
as for an unknown address (docs/decisions/0075-mail-queue-rq.md). Logs name a job by its name, id
and masked recipient; its arguments never reach a log.

A job submitted in a request also carries that request's language (`locale`): the mail falls back
to it when the recipient has no saved language (services/email_service.py, `mail_locale`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

import redis
from flask import Flask, after_this_request, current_app, has_request_context
from rq import Queue, Retry, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from werkzeug.wrappers import Response

from models import db
from services.email_service import job_locale, masked_address, request_locale

logger = logging.getLogger(__name__)

JobArguments = Mapping[str, str | int]
JobFunction = Callable[..., None]
# The reserved job argument that carries the language of the request a job came from.
LOCALE_ARGUMENT = "locale"
F = TypeVar("F", bound=JobFunction)
JOB_TIMEOUT_SECONDS = 120
# How long a dead-lettered job stays in RQ's failed registry for inspection or `rq requeue`.
FAILED_JOB_SECONDS = 14 * 24 * 3600
THREADS = 2

_jobs: dict[str, JobFunction] = {}
_executors: dict[int, ThreadPoolExecutor] = {}
_executor_lock = threading.Lock()


def job(name: str) -> Callable[[F], F]:
    """Register a function as mail job `name`; its keyword arguments must be JSON strings/ints."""

    def register(function: F) -> F:
        _jobs[name] = function
        return function

    return register


def submit(name: str, **arguments: str | int) -> None:
    """Run mail job `name` outside the request, as `MAIL_QUEUE` says."""
    if name not in _jobs:
        raise KeyError(f"no mail job named {name!r}")
    if (locale := request_locale()) is not None:
        arguments[LOCALE_ARGUMENT] = locale
    mode = current_app.config["MAIL_QUEUE"]
    if mode == "sync":
        _run(name, arguments, attempt=1, retries=0)
        return
    if mode == "redis":
        try:
            enqueue(name, arguments)
        except redis.RedisError as exc:
            # The mail still goes, from this process; a queue outage must not lose it.
            logger.warning(
                "mail queue unreachable (%s): job %r runs in this process", type(exc).__name__, name
            )
        else:
            return
    _after_response(name, arguments)


def perform(name: str, arguments: JobArguments) -> None:
    """Run job `name` once (the worker's entry point, inside its application context)."""
    try:
        _call(name, arguments)
    finally:
        # The worker keeps one application context for its life: no session outlives a job.
        db.session.remove()


def enqueue(name: str, arguments: JobArguments) -> Job:
    """Put job `name` on the Redis queue, with the configured retries and backoff."""
    config = current_app.config
    delays = retry_delays(config)
    queue = mail_queue(_enqueue_connection(config["REDIS_URL"]))
    return queue.enqueue_call(
        perform,
        args=(name, dict(arguments)),
        description=f"mail job {name}",
        timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=0,
        failure_ttl=FAILED_JOB_SECONDS,
        retry=Retry(max=len(delays), interval=delays) if delays else None,
    )


def mail_queue(connection: redis.Redis) -> Queue:
    """The application's mail queue on `connection` (JSON payloads, never pickles)."""
    name = f"{current_app.config['APP_NAME']}:mail"
    return Queue(name, connection=connection, serializer=JSONSerializer)


def worker(connection: redis.Redis) -> MailWorker:
    """A worker for the mail queue that runs jobs in this process and application context."""
    return MailWorker([mail_queue(connection)], connection=connection, serializer=JSONSerializer)


def worker_connection(url: str) -> redis.Redis:
    """A connection without a read timeout: the worker blocks on the queue for minutes."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def retry_delays(config: Mapping[str, Any]) -> list[int]:
    """Seconds before each retry: MAIL_QUEUE_RETRY_SECONDS, doubling, MAIL_QUEUE_RETRIES times."""
    first = config["MAIL_QUEUE_RETRY_SECONDS"]
    return [first * 2**retry for retry in range(config["MAIL_QUEUE_RETRIES"])]


class MailWorker(SimpleWorker):
    """RQ's in-process worker, logging failures without the job's arguments.

    RQ's own failure line carries the arguments (an email address) as log extras, and its job
    descriptions are logged on every start: neither is kept.
    """

    log_job_description = False

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """Log the failure: a retry to come, or the dead letter after the last attempt."""
        name, arguments = _job_call(job)
        total = len(job.retry_intervals or [])
        left = job.retries_left or 0
        _log_failure(
            name,
            arguments,
            error=exc_info[1],
            attempt=total - left + 1,
            retries=total,
            job_id=job.id,
        )


def _job_call(job: Job) -> tuple[str, JobArguments]:
    try:
        name, arguments = job.args
    except (ValueError, TypeError):
        return "?", {}
    return str(name), arguments if isinstance(arguments, dict) else {}


def _after_response(name: str, arguments: JobArguments) -> None:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    retries = len(retry_delays(app.config))

    def start() -> None:
        _executor().submit(_attempt, app, name, arguments, attempt=1, retries=retries)

    if not has_request_context():
        start()
        return

    @after_this_request
    def start_when_sent(response: Response) -> Response:
        # The server calls close() once the last byte is out: the client has its answer.
        response.call_on_close(start)
        return response


def _attempt(app: Flask, name: str, arguments: JobArguments, *, attempt: int, retries: int) -> None:
    """One in-process try; a failure schedules the next one on a timer, or was the last."""
    with app.app_context():
        if _run(name, arguments, attempt=attempt, retries=retries) or attempt > retries:
            return
        delay = retry_delays(app.config)[attempt - 1]
    timer = threading.Timer(
        delay,
        lambda: _executor().submit(
            _attempt, app, name, arguments, attempt=attempt + 1, retries=retries
        ),
    )
    timer.daemon = True
    timer.start()


def _run(name: str, arguments: JobArguments, *, attempt: int, retries: int) -> bool:
    """Run the job once in the current application context; log a failure. True on success."""
    try:
        _call(name, arguments)
    except Exception as exc:  # a job run here has no caller to raise to: every failure is logged
        _log_failure(name, arguments, error=exc, attempt=attempt, retries=retries, job_id=None)
        return False
    return True


def _call(name: str, arguments: JobArguments) -> None:
    """Run job `name`; its mails fall back to the language of the request it came from."""
    values = dict(arguments)
    locale = values.pop(LOCALE_ARGUMENT, None)
    with job_locale(str(locale) if locale is not None else None):
        _jobs[name](**values)


def _log_failure(
    name: str,
    arguments: JobArguments,
    *,
    error: BaseException | None,
    attempt: int,
    retries: int,
    job_id: str | None,
) -> None:
    fields = {
        "mail_job": name,
        "job_id": job_id,
        "attempt": attempt,
        "attempts_allowed": retries + 1,
        "error": type(error).__name__,
        "recipient": _recipient(arguments),
    }
    if attempt > retries:
        logger.error(
            "mail job %r dead-lettered after %d attempt(s): %s",
            name,
            attempt,
            fields["error"],
            extra={"event": "mail.dead_letter", **fields},
        )
    else:
        logger.warning(
            "mail job %r failed (attempt %d of %d): %s; retrying",
            name,
            attempt,
            retries + 1,
            fields["error"],
            extra={"event": "mail.retry", **fields},
        )


def _recipient(arguments: JobArguments) -> str:
    """Who the mail was for, as far as a log may say: a masked address or a user id."""
    if isinstance(email := arguments.get("email"), str):
        return masked_address(email)
    return f"user {arguments.get('user_id', '?')}"


def _executor() -> ThreadPoolExecutor:
    """This process's mail threads (a forked worker process starts its own)."""
    pid = os.getpid()
    with _executor_lock:
        executor = _executors.get(pid)
        if executor is None:
            _executors.clear()
            executor = _executors[pid] = ThreadPoolExecutor(THREADS, thread_name_prefix="mail")
        return executor


@lru_cache(maxsize=4)
def _enqueue_connection(url: str) -> redis.Redis:
    # Short timeouts: an unreachable queue must not hold the request for long.
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
