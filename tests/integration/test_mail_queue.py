"""Mail leaves the request path (issue 14, item 2): forgot-password takes as long for an unknown
email as for a real account; the mail goes after the response, or through the RQ worker on a real
Redis, to a real SMTP server, with retries and a dead letter when the server keeps refusing."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from rq.registry import FailedJobRegistry

from services import mail_queue
from tests.factories import PASSWORD, create_user, signed_in_user
from tests.fault_services import throwaway_redis
from tests.mail_server import (
    configured,
    first_link,
    running_smtp_server,
    smtp_settings,
    wait_for_messages,
)
from tests.ops_support import free_port
from tests.processes import app_server

pytestmark = pytest.mark.integration

KNOWN = "known@example.com"
UNKNOWN = "nobody@example.com"
NEW_PASSWORD = "another-Lantern-93-Quartz"
REFUSE = "451 4.3.0 Try again later"
# aiosmtpd's logger: the test's SMTP server logs the envelope; it is not the application.
TEST_SMTP_LOGGER = "mail.log"
NO_WAIT = {"MAIL_QUEUE_RETRIES": 2, "MAIL_QUEUE_RETRY_SECONDS": 0}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    """A private redis-server for this module's queue; emptied before each test that uses it."""
    with throwaway_redis() as server:
        yield server.url


@pytest.fixture
def queue_url(redis_server: str) -> str:
    redis.Redis.from_url(redis_server).flushdb()
    return redis_server


def forgot_password(client, email):
    return client.post("/api/v1/auth/forgot-password", json={"email": email})


def run_worker(app):
    """`flask mail worker --burst`: every job queued now, retries without backoff included."""
    result = app.test_cli_runner().invoke(args=["mail", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    return result


def dead_letters(caplog):
    return [r for r in caplog.records if getattr(r, "event", None) == "mail.dead_letter"]


def wait_for_dead_letter(caplog, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not (found := dead_letters(caplog)):
        if time.monotonic() > deadline:
            pytest.fail("no dead-letter log line")
        time.sleep(0.02)
    return found


@pytest.fixture(autouse=True)
def _log_everything(caplog):
    """Debug and up from every logger (RQ's included) so `logged_text` sees every line."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger=TEST_SMTP_LOGGER)


def logged_text(caplog):
    """Every record's message and extra fields (the test's own SMTP server aside), as one text
    to search for leaks."""
    return "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != TEST_SMTP_LOGGER
    )


def reset_token(mail):
    return parse_qs(urlsplit(first_link(mail, "/auth/reset-password")).query)["token"][0]


# --- timing -------------------------------------------------------------------------------------


def timed_post(http, url, body):
    started = time.perf_counter()
    response = http.post(url, json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 202
    return elapsed


def test_forgot_password_takes_as_long_for_a_known_as_for_an_unknown_email(app, database):
    """Before: the reset mail was sent inside the request, only for real accounts (one slow SMTP
    exchange more). Now both requests do the same; the known address still gets its mail."""
    delay, rounds, warm_up = 0.15, 12, 2
    create_user(app, email=KNOWN)
    with running_smtp_server(delay=delay) as smtp:
        settings = {
            **{name: str(value) for name, value in smtp_settings(smtp).items() if value},
            "MAIL_USE_TLS": "false",
            "MAIL_QUEUE": "thread",
            "RATELIMIT_ENABLED": "false",
        }
        with app_server(database.url, **settings) as base_url, httpx.Client(timeout=10) as http:
            url = f"{base_url}/api/v1/auth/forgot-password"
            timings: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
            for round_number in range(warm_up + rounds):
                for email in (KNOWN, UNKNOWN):
                    elapsed = timed_post(http, url, {"email": email})
                    if round_number >= warm_up:
                        timings[email].append(elapsed)
            mails = wait_for_messages(smtp, warm_up + rounds, timeout=30)
    known, unknown = (statistics.median(timings[email]) for email in (KNOWN, UNKNOWN))
    assert abs(known - unknown) < delay / 3, f"median known {known:.3f}s, unknown {unknown:.3f}s"
    assert known < delay, "the SMTP exchange is not part of the request"
    assert {tuple(mail.envelope_to) for mail in mails} == {(KNOWN,)}


# --- after the response, in this process (no Redis) ---------------------------------------------


def test_without_redis_the_mail_goes_after_the_response_is_sent(app, client, smtp_server):
    create_user(app, email=KNOWN)
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="thread"):
        response = forgot_password(client, KNOWN)
        assert response.status_code == 202
        assert smtp_server.messages == [], "nothing is sent before the response is closed"
        response.close()  # what the WSGI server does once the answer is out
        (mail,) = wait_for_messages(smtp_server, 1)
    assert mail.envelope_to == [KNOWN]
    reset = client.post(
        "/api/v1/auth/reset-password", json={"token": reset_token(mail), "password": NEW_PASSWORD}
    )
    assert reset.status_code == 200


def test_without_redis_a_refusing_server_is_retried_then_dead_lettered(app, client, caplog):
    create_user(app, email=KNOWN)
    with (
        running_smtp_server(refuse_with=REFUSE) as smtp,
        configured(app, **smtp_settings(smtp), MAIL_QUEUE="thread", **NO_WAIT),
    ):
        forgot_password(client, KNOWN).close()
        (record,) = wait_for_dead_letter(caplog)
    assert len(smtp.refused) == 3, "one attempt and two retries"
    assert record.levelname == "ERROR"
    assert (record.mail_job, record.attempt, record.error) == (
        "password_reset",
        3,
        "EmailDeliveryError",
    )
    assert record.recipient == "k***@example.com"
    assert KNOWN not in logged_text(caplog)


# --- the Redis queue and `flask mail worker` ----------------------------------------------------


def test_with_the_redis_queue_the_request_only_enqueues_and_the_worker_sends(
    app, client, smtp_server, queue_url, caplog
):
    create_user(app, email=KNOWN)
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="redis", REDIS_URL=queue_url):
        assert forgot_password(client, KNOWN).status_code == 202
        assert forgot_password(client, UNKNOWN).status_code == 202
        with app.app_context():
            queue = mail_queue.mail_queue(redis.Redis.from_url(queue_url))
        assert queue.count == 2, "the same job for any address"
        assert smtp_server.messages == []
        run_worker(app)
    (mail,) = smtp_server.messages
    assert mail.envelope_to == [KNOWN]
    assert queue.count == 0
    reset = client.post(
        "/api/v1/auth/reset-password", json={"token": reset_token(mail), "password": NEW_PASSWORD}
    )
    assert reset.status_code == 200
    assert KNOWN not in logged_text(caplog), "RQ's own lines name no address"


def test_the_worker_sends_the_verification_mail_of_a_new_account(
    app, client, smtp_server, queue_url
):
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="redis", REDIS_URL=queue_url):
        response = client.post(
            "/auth/register", json={"email": KNOWN, "password": PASSWORD, "name": "K"}
        )
        assert response.status_code == 201
        assert smtp_server.messages == []
        run_worker(app)
    (mail,) = smtp_server.messages
    token = parse_qs(urlsplit(first_link(mail, "/auth/verify-email")).query)["token"][0]
    assert client.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200


def test_the_worker_retries_a_refusing_server_then_dead_letters_the_job(
    app, client, queue_url, caplog
):
    create_user(app, email=KNOWN)
    with (
        running_smtp_server(refuse_with=REFUSE) as smtp,
        configured(app, **smtp_settings(smtp), MAIL_QUEUE="redis", REDIS_URL=queue_url, **NO_WAIT),
    ):
        forgot_password(client, KNOWN)
        run_worker(app)
        with app.app_context():
            queue = mail_queue.mail_queue(redis.Redis.from_url(queue_url))
    assert len(smtp.refused) == 3, "one attempt and two retries"
    retries = [r for r in caplog.records if getattr(r, "event", None) == "mail.retry"]
    assert [r.attempt for r in retries] == [1, 2]
    (record,) = dead_letters(caplog)
    assert (record.mail_job, record.attempt, record.recipient) == (
        "password_reset",
        3,
        "k***@example.com",
    )
    failed = FailedJobRegistry(queue=queue)
    assert failed.get_job_ids() == [record.job_id], "the job stays in the failed registry"
    assert KNOWN not in logged_text(caplog)


def test_an_unreachable_queue_sends_from_the_web_process(app, client, smtp_server, caplog):
    create_user(app, email=KNOWN)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="redis", REDIS_URL=nowhere):
        response = forgot_password(client, KNOWN)
        assert response.status_code == 202
        response.close()
        (mail,) = wait_for_messages(smtp_server, 1)
    assert mail.envelope_to == [KNOWN]
    assert "mail queue unreachable" in caplog.text


def test_send_verification_email_is_accepted_while_mail_is_down(app, client, caplog):
    """Before: 503 once the relay refused. Now the request is accepted, the job retried and then
    dead-lettered, like every mail."""
    session = signed_in_user(app, client)
    with (
        running_smtp_server(refuse_with=REFUSE) as smtp,
        configured(app, **smtp_settings(smtp), MAIL_QUEUE="thread", **NO_WAIT),
    ):
        response = client.post("/api/v1/auth/send-verification-email", headers=session.headers)
        assert response.status_code == 202
        response.close()
        (record,) = wait_for_dead_letter(caplog)
    assert record.mail_job == "verification"
    assert record.recipient == f"user {session.user_id}"


def test_the_worker_needs_the_redis_queue(app):
    with configured(app, MAIL_QUEUE="thread"):
        result = app.test_cli_runner().invoke(args=["mail", "worker", "--burst"])
    assert result.exit_code != 0
    assert "MAIL_QUEUE=redis" in result.output


def test_the_worker_sends_the_email_change_mails_and_no_token_waits_in_redis(
    app, client, smtp_server, queue_url
):
    signed = signed_in_user(app, client, email=KNOWN)
    with configured(app, **smtp_settings(smtp_server), MAIL_QUEUE="redis", REDIS_URL=queue_url):
        response = client.post(
            "/api/v1/auth/email",
            json={"new_email": "moved@example.com", "current_password": PASSWORD},
            headers=signed.headers,
        )
        assert response.status_code == 202
        with app.app_context():
            jobs = mail_queue.mail_queue(redis.Redis.from_url(queue_url)).jobs
        assert sorted(job.args[0] for job in jobs) == [
            "email_change_confirmation",
            "security_notice",
        ]
        assert not any("token" in name for job in jobs for name in job.args[1])
        assert smtp_server.messages == []
        run_worker(app)
    by_address = {mail.envelope_to[0]: mail for mail in smtp_server.messages}
    undo = first_link(by_address[KNOWN], "/auth/email/undo")
    confirm = first_link(by_address["moved@example.com"], "/auth/email/confirm")
    for link, path in ((confirm, "/api/v1/auth/email/confirm"), (undo, "/api/v1/auth/email/undo")):
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert client.post(path, json={"token": token}).status_code == 200
