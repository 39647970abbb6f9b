"""Outgoing email, delivered to a real local SMTP server (aiosmtpd): no mocks."""

import logging
import shutil
import socket
import ssl
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.smtp import AuthResult

import config as config_module
from app import create_app
from config import DevelopmentConfig, ProductionConfig, StagingConfig
from errors import EmailDeliveryError
from services import mail_queue
from services.email_service import (
    send_email,
    send_password_reset_email,
    send_verification_email,
)
from tests.mail_server import configured, first_link, running_smtp_server, smtp_settings

pytestmark = pytest.mark.unit

TOKEN = "tok en/with+odd=chars&more"
ENCODED_TOKEN = "tok%20en%2Fwith%2Bodd%3Dchars%26more"
SAFE_PRODUCTION = {
    "SECRET_KEY": "3f1c9a7be2d04c56a8f1e0b9d7c6a5b4e3f2a1b0c9d8e7f6",
    "JWT_SECRET_KEY": "6f7e8d9c0b1a2f3e4b5a6c7d9b0e1f8a65c6d40e2be7a9c1f3",
    "DATABASE_URL": "postgresql://app:pw@db:5432/app",
    "MAIL_SERVER": "smtp.example.com",
    "PUBLIC_BASE_URL": "https://accounts.example.com",
    # Counted per process, chosen explicitly: an app built here must not bind the tests' shared
    # limiter to a Redis that does not exist.
    "RATELIMIT_STORAGE_URI": "memory://",
}


def closed_port():
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accept_mailer(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: only mailer / s3cret-password gets in."""
    ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret-password"
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


# --- delivery over SMTP ---------------------------------------------------------------------


def test_verification_mail_arrives_with_text_and_html_parts(mail_app, smtp_server):
    with mail_app.app_context():
        send_verification_email(to="ada@example.com", name="Ada Lovelace", token=TOKEN, locale=None)

    [mail] = smtp_server.messages
    assert mail.envelope_from == "no-reply@localhost"
    assert mail.envelope_to == ["ada@example.com"]
    assert mail.message["To"] == "ada@example.com"
    assert mail.message["From"] == "Flask Backend <no-reply@localhost>"
    assert mail.message["Subject"] == "Confirm your email address"
    assert mail.message["Message-ID"].endswith("@localhost>")
    assert mail.message["Date"]
    assert mail.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    for body in (mail.text, mail.html):
        assert "Hello Ada Lovelace," in body
        assert "ignore this mail" in body
    assert mail.login is None


def test_verification_link_uses_public_base_url_and_url_encodes_the_token(mail_app, smtp_server):
    with (
        configured(mail_app, PUBLIC_BASE_URL="https://accounts.example.com"),
        mail_app.app_context(),
    ):
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    [mail] = smtp_server.messages
    link = first_link(mail, "/auth/verify-email")
    assert link == f"https://accounts.example.com/auth/verify-email?token={ENCODED_TOKEN}"
    assert parse_qs(urlsplit(link).query) == {"token": [TOKEN]}
    assert f'href="{link}"' in mail.html


def test_reset_mail_carries_the_reset_link_and_its_expiry(mail_app, smtp_server):
    with (
        configured(mail_app, PUBLIC_BASE_URL="https://accounts.example.com/"),
        mail_app.app_context(),
    ):
        send_password_reset_email(
            to="ada@example.com", name="Ada", token=TOKEN, expires_minutes=30, locale=None
        )

    [mail] = smtp_server.messages
    assert mail.envelope_to == ["ada@example.com"]
    assert mail.message["Subject"] == "Reset your password"
    link = first_link(mail, "/auth/reset-password")
    assert link == f"https://accounts.example.com/auth/reset-password?token={ENCODED_TOKEN}"
    for body in (mail.text, mail.html):
        assert "Hello Ada," in body
        assert "expires in 30 minutes" in body
        assert "your password stays as it is" in body
    assert f'href="{link}"' in mail.html


def test_html_part_escapes_the_name_and_text_part_keeps_it(mail_app, smtp_server):
    name = "<script>alert('x')</script>"
    with mail_app.app_context():
        send_verification_email(to="ada@example.com", name=name, token=TOKEN, locale=None)

    [mail] = smtp_server.messages
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in mail.html
    assert f"Hello {name}," in mail.text


def test_successful_delivery_is_logged_without_body_or_full_address(mail_app, smtp_server, caplog):
    caplog.set_level(logging.DEBUG, logger="services.email_service")
    with mail_app.app_context():
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert len(smtp_server.messages) == 1
    assert "email 'verify_email' sent to a***@example.com" in caplog.text
    assert TOKEN not in caplog.text
    assert ENCODED_TOKEN not in caplog.text


def test_unreachable_server_raises_delivery_error_and_logs_no_token(app, caplog):
    caplog.set_level(logging.DEBUG, logger="services.email_service")
    settings = {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": closed_port(),
        "MAIL_USE_TLS": False,
        "MAIL_TIMEOUT": 2,
    }
    with configured(app, **settings), app.app_context(), pytest.raises(EmailDeliveryError) as exc:
        send_password_reset_email(
            to="ada@example.com", name="Ada", token=TOKEN, expires_minutes=5, locale=None
        )

    assert exc.value.status == 503
    assert exc.value.code == "SERVICE_UNAVAILABLE"
    assert exc.value.message == "Email could not be sent, try again later"
    assert "email 'reset_password' to a***@example.com not sent: ConnectionRefusedError" in (
        caplog.text
    )
    assert TOKEN not in caplog.text
    assert ENCODED_TOKEN not in caplog.text
    assert "ada@example.com" not in caplog.text


def test_starttls_required_but_not_offered_refuses_to_send_in_clear(app, smtp_server, caplog):
    settings = smtp_settings(smtp_server, MAIL_USE_TLS=True)
    with configured(app, **settings), app.app_context(), pytest.raises(EmailDeliveryError):
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert smtp_server.messages == []
    assert "SMTPNotSupportedError" in caplog.text


def test_implicit_tls_against_a_plain_server_fails_cleanly(app, smtp_server):
    settings = smtp_settings(smtp_server, MAIL_USE_SSL=True)
    with configured(app, **settings), app.app_context(), pytest.raises(EmailDeliveryError):
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert smtp_server.messages == []


def test_smtp_backend_without_mail_server_raises_delivery_error(app, caplog):
    with (
        configured(app, MAIL_BACKEND="smtp", MAIL_SERVER=None),
        app.app_context(),
        pytest.raises(EmailDeliveryError),
    ):
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert "MAIL_SERVER is not set" in caplog.text


# --- authentication ---------------------------------------------------------------------------


def test_login_is_used_when_a_username_is_configured(app):
    with running_smtp_server(authenticator=accept_mailer, auth_require_tls=False) as server:
        settings = smtp_settings(server, MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret-password")
        with configured(app, **settings), app.app_context():
            send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    [mail] = server.messages
    assert mail.login == "mailer"


def test_rejected_login_raises_delivery_error_and_logs_no_password(app, caplog):
    with running_smtp_server(authenticator=accept_mailer, auth_require_tls=False) as server:
        settings = smtp_settings(server, MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong-password")
        with configured(app, **settings), app.app_context(), pytest.raises(EmailDeliveryError):
            send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert server.messages == []
    assert "SMTPAuthenticationError (SMTP 535)" in caplog.text
    assert "wrong-password" not in caplog.text


@pytest.fixture
def trusted_tls_context(tmp_path, monkeypatch):
    """A server TLS context with a self-signed certificate for 127.0.0.1 that clients trust."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [openssl, "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    # ssl.create_default_context() reads SSL_CERT_FILE: the client trusts this certificate.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_upgrades_the_connection_before_logging_in(app, trusted_tls_context):
    with running_smtp_server(
        tls_context=trusted_tls_context, require_starttls=True, authenticator=accept_mailer
    ) as server:
        settings = smtp_settings(
            server, MAIL_USE_TLS=True, MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret-password"
        )
        with configured(app, **settings), app.app_context():
            send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    [mail] = server.messages
    assert mail.login == "mailer"
    assert first_link(mail, "/auth/verify-email").endswith(ENCODED_TOKEN)


def test_starttls_refuses_a_certificate_it_does_not_trust(
    app, trusted_tls_context, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    with running_smtp_server(tls_context=trusted_tls_context, require_starttls=True) as server:
        settings = smtp_settings(server, MAIL_USE_TLS=True)
        with configured(app, **settings), app.app_context(), pytest.raises(EmailDeliveryError):
            send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert server.messages == []
    assert "SSLCertVerificationError" in caplog.text


# --- other backends -----------------------------------------------------------------------------


def test_console_backend_prints_the_mail_and_sends_nothing(app, smtp_server, capsys):
    settings = smtp_settings(smtp_server, MAIL_BACKEND="console")
    with configured(app, **settings), app.app_context():
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert smtp_server.messages == []
    logged = capsys.readouterr().err
    assert "To: ada@example.com" in logged
    assert "Subject: Confirm your email address" in logged
    assert f"/auth/verify-email?token={ENCODED_TOKEN}" in logged


def test_none_backend_sends_nothing(app, smtp_server, caplog):
    caplog.set_level(logging.DEBUG, logger="services.email_service")
    settings = smtp_settings(smtp_server, MAIL_BACKEND="none")
    with configured(app, **settings), app.app_context():
        send_verification_email(to="ada@example.com", name="Ada", token=TOKEN, locale=None)

    assert smtp_server.messages == []
    assert TOKEN not in caplog.text
    assert ENCODED_TOKEN not in caplog.text


def test_send_email_renders_any_template_pair(mail_app, smtp_server):
    with mail_app.app_context():
        send_email(
            to="ada@example.com",
            locale=None,
            subject="Just checking",
            template="reset_password",
            context={"name": "Ada", "link": "https://x.example/r", "expires_minutes": 1},
        )

    [mail] = smtp_server.messages
    assert mail.message["Subject"] == "Just checking"
    assert first_link(mail, "/r") == "https://x.example/r"


def test_mail_app_restores_the_configuration_after_the_test(app, smtp_server):
    before = {name: app.config.get(name) for name in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    with configured(app, **smtp_settings(smtp_server), MAIL_EXTRA="x"):
        assert app.config["MAIL_PORT"] == smtp_server.port
    assert {name: app.config.get(name) for name in before} == before
    assert "MAIL_EXTRA" not in app.config
    assert before["MAIL_BACKEND"] == "console"


# --- configuration --------------------------------------------------------------------------


def test_development_defaults_log_mail_and_link_to_localhost():
    config = DevelopmentConfig({})
    assert config.MAIL_BACKEND == "console"
    assert config.PUBLIC_BASE_URL == "http://127.0.0.1:5000"
    assert (config.MAIL_PORT, config.MAIL_USE_TLS, config.MAIL_USE_SSL) == (587, True, False)
    assert config.MAIL_TIMEOUT == 10
    assert config.MAIL_DEFAULT_SENDER == "Flask Backend <no-reply@localhost>"
    assert config.validate() == []


def test_a_mail_server_selects_the_smtp_backend():
    config = DevelopmentConfig(
        {"MAIL_SERVER": "smtp.example.com", "PUBLIC_BASE_URL": "https://a.example.com/"}
    )
    assert config.MAIL_BACKEND == "smtp"
    assert config.PUBLIC_BASE_URL == "https://a.example.com"


@pytest.mark.parametrize("config_class", [ProductionConfig, StagingConfig])
def test_production_without_mail_server_or_public_base_url_lists_both(config_class):
    environ = {
        k: v for k, v in SAFE_PRODUCTION.items() if k not in ("MAIL_SERVER", "PUBLIC_BASE_URL")
    }
    assert config_class(environ).validate() == [
        "MAIL_SERVER is not set (or set MAIL_BACKEND=none to send no mail)",
        "PUBLIC_BASE_URL is not set (links in emails are built from it)",
    ]


@pytest.mark.parametrize(
    ("config_class", "environ", "expected"),
    [
        (ProductionConfig, SAFE_PRODUCTION, "thread"),
        (ProductionConfig, {**SAFE_PRODUCTION, "REDIS_URL": "redis://redis:6379/0"}, "redis"),
        (DevelopmentConfig, {}, "thread"),
        (config_module.TestingConfig, {"REDIS_URL": "redis://redis:6379/0"}, "sync"),
    ],
)
def test_mail_leaves_the_request_by_redis_when_configured_else_after_the_response(
    config_class, environ, expected
):
    config = config_class(environ)
    settings = (config.MAIL_QUEUE, config.MAIL_QUEUE_RETRIES, config.MAIL_QUEUE_RETRY_SECONDS)
    assert settings == (expected, 5, 30)
    assert config.validate() == []


def test_production_refuses_to_send_mail_inside_the_request():
    problems = ProductionConfig({**SAFE_PRODUCTION, "MAIL_QUEUE": "sync"}).validate()
    assert len(problems) == 1
    assert problems[0].startswith("MAIL_QUEUE=sync sends mail inside the request")


def test_retry_delays_double_from_the_first():
    config = ProductionConfig({**SAFE_PRODUCTION, "MAIL_QUEUE_RETRY_SECONDS": "10"})
    assert mail_queue.retry_delays(vars(config)) == [10, 20, 40, 80, 160]
    assert mail_queue.retry_delays({"MAIL_QUEUE_RETRIES": 0, "MAIL_QUEUE_RETRY_SECONDS": 9}) == []


def test_production_refuses_the_console_backend():
    problems = ProductionConfig({**SAFE_PRODUCTION, "MAIL_BACKEND": "console"}).validate()
    assert len(problems) == 1
    assert problems[0].startswith("MAIL_BACKEND=console writes mails")


def test_production_may_explicitly_send_no_mail():
    environ = {k: v for k, v in SAFE_PRODUCTION.items() if k != "MAIL_SERVER"}
    assert ProductionConfig({**environ, "MAIL_BACKEND": "none"}).validate() == []


def test_production_refuses_a_mail_login_in_clear():
    environ = {**SAFE_PRODUCTION, "MAIL_USERNAME": "mailer", "MAIL_USE_TLS": "false"}
    problems = ProductionConfig(environ).validate()
    assert problems == [
        "MAIL_USERNAME is set but neither MAIL_USE_TLS nor MAIL_USE_SSL is: "
        "the password would travel in clear"
    ]


def test_safe_production_mail_settings_start(monkeypatch):
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)
    for name in ("MAIL_BACKEND", "MAIL_USERNAME", "MAIL_USE_TLS", "MAIL_USE_SSL"):
        monkeypatch.delenv(name, raising=False)
    application = create_app("production")
    assert application.config["MAIL_BACKEND"] == "smtp"
    assert application.config["PUBLIC_BASE_URL"] == "https://accounts.example.com"


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"MAIL_BACKEND": "carrier-pigeon"}, "MAIL_BACKEND must be one of smtp, console, none"),
        ({"MAIL_USE_SSL": "true"}, "MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL"),
        ({"PUBLIC_BASE_URL": "accounts.example.com"}, "PUBLIC_BASE_URL must be an absolute"),
        ({"PUBLIC_BASE_URL": "https://a.example.com/?x=1"}, "PUBLIC_BASE_URL must be an absolute"),
        ({"MAIL_PORT": "0"}, "MAIL_PORT must be at least 1"),
        ({"MAIL_QUEUE": "celery"}, "MAIL_QUEUE must be one of redis, thread, sync"),
        ({"MAIL_QUEUE": "redis"}, "MAIL_QUEUE=redis needs REDIS_URL"),
        ({"MAIL_QUEUE_RETRIES": "-1"}, "MAIL_QUEUE_RETRIES must be at least 0"),
    ],
)
def test_malformed_mail_settings_are_reported(environ, problem):
    problems = DevelopmentConfig(environ).validate()
    assert any(p.startswith(problem) for p in problems), problems
